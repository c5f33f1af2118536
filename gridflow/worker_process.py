"""A ``gridflow worker`` in a child process: how the demo, tests, bench and chaos drill run one.

The child gets its own session (process group), so a SIGKILL reaches everything it
started, and a Ctrl-C in the parent's terminal reaches it only through the parent. It gets
SIGTERM when the parent dies, so no worker outlives the demo, test or drill that started it,
and SIGKILLs itself if its clean stop has not ended some seconds later (``orphan_env``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from gridflow.config import PROJECT_ROOT
from gridflow.parent_death import orphan_env, signal_on_parent_death


def spawn_worker(
    env: Mapping[str, str], log_path: Path, banner: str = ""
) -> subprocess.Popen[bytes]:
    """Start ``python -m gridflow worker`` with ``env``, appending its output to ``log_path``."""
    with open(log_path, "ab") as log:
        if banner:
            log.write(banner.encode())
            log.flush()
        # The child keeps its own copy of the descriptor; ours closes with the block.
        return subprocess.Popen(
            [sys.executable, "-m", "gridflow", "worker"],
            # SIGKILLs itself if the drain below hangs (its broker died with the parent).
            env={**env, **orphan_env()},
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
            # A worker whose parent died drains and stops (SIGTERM) instead of running on.
            preexec_fn=signal_on_parent_death(signal.SIGTERM),
        )


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a worker endpoint on loopback: (status, body), or (0, b"") when nobody answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except OSError:
        return 0, b""


def kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the worker's whole process group: no goodbye, no commit."""
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> int | None:
    """SIGTERM and wait for a graceful exit; SIGKILL the group after ``timeout``."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
    return proc.returncode
