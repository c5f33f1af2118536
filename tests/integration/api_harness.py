"""A ``gridflow api`` process beside the workers of a :class:`Deployment`, and its tokens."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from harness import ROOT, Deployment, wait_until

from gridflow.broker import free_port
from gridflow.parent_death import orphan_env, signal_on_parent_death
from gridflow.worker_process import http_get, kill_group, terminate

#: name -> (secret, role, region) of the tokens the API tests use.
TOKENS = {
    "village": ("tok-village", "centre", "500103001003"),
    "town": ("tok-town", "centre", "500103001000"),
    "county": ("tok-county", "centre", "500103000000"),
    "app": ("tok-app", "field_app", "500103000000"),
    "ops": ("tok-ops", "ops", "500000000000"),
    # a verifying department office: 渝中区住建委质监站 (catalogue.yaml offices: zjz)
    "zjz": ("tok-zjz", "centre", "500103000000-zjz"),
}


def write_tokens(path: Path) -> Path:
    from gridflow.api.tokens import hash_token

    lines = ["tokens:"]
    for name, (secret, role, region) in TOKENS.items():
        lines += [
            f"  - name: {name}",
            f"    role: {role}",
            f'    region: "{region}"',
            f"    sha256: {hash_token(secret)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ApiProcess:
    """``python -m gridflow api`` on a free port with an SQLite (or given) read model."""

    def __init__(self, deployment: Deployment, name: str = "api", **env: str) -> None:
        self.port = free_port()
        self.log_path = deployment.tmp / f"{name}.log"
        tokens = write_tokens(deployment.tmp / f"{name}-tokens.yaml")
        self.env = deployment.env(
            GRIDFLOW_API_PORT=str(self.port),
            GRIDFLOW_API_TOKENS_FILE=str(tokens),
            GRIDFLOW_DATA_DIR=str(deployment.tmp / f"data-{name}"),
            **orphan_env(),
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str) -> ApiProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gridflow", "api", *args],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=signal_on_parent_death(signal.SIGTERM),
            )
        return self

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"gridflow api exited {self.proc.returncode}:\n{self.log_tail()}")
        return http_get(self.port, "/readyz")[0] == 200

    def wait_ready(self, timeout: float = 60) -> ApiProcess:
        try:
            wait_until(self.ready, timeout, "gridflow api to be ready", interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        kill_group(self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            terminate(self.proc, 15)
