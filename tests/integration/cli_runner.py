"""Run ``gridflow`` commands in the test process against one deployment, as a person would.

In-process (not a subprocess per call) because the on-call tests run a dozen commands and
each interpreter start costs seconds on a loaded machine; the exit code, stdout and stderr
are the same ones ``main`` gives the console script.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any
from unittest import mock

import orjson
from harness import Deployment

from gridflow.cli import main


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


def gridflow(deployment: Deployment, *args: str, stdin: str = "", **env: str) -> Result:
    """``gridflow ARGS`` with the deployment's settings; wide columns so tables do not wrap."""
    settings = {
        k: v
        for k, v in deployment.env(COLUMNS="200", **env).items()
        if k.startswith(("GRIDFLOW_", "COLUMNS"))
    }
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, settings),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())
