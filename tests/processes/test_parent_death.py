"""Children started with ``signal_on_parent_death`` end when their parent is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gridflow.config import PROJECT_ROOT
from gridflow.parent_death import ORPHAN_KILL_AFTER_VAR, PARENT_PID_VAR, arm_orphan_kill

# A parent that starts one long-sleeping child the way the project starts workers and
# the broker, prints the child's pid, and waits to be killed.
_PARENT = """
import signal, subprocess, sys, time
from gridflow.parent_death import signal_on_parent_death
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"],
    preexec_fn=signal_on_parent_death(getattr(signal, sys.argv[1])),
    start_new_session=True,
)
print(child.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie waiting for init to reap it is gone as far as work goes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_a_child_ends_when_its_parent_is_killed(signame: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, signame],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(child):
            assert time.monotonic() < deadline, f"child {child} outlived its parent"
            time.sleep(0.02)
    finally:
        if parent.poll() is None:
            parent.kill()


# A parent that starts a child which ignores SIGTERM (a clean stop that hangs, as a
# worker's does when its broker died with the parent) and which starts a grandchild in
# its own process group; the child arms the SIGKILL fallback as ``python -m gridflow``
# does. Prints both pids.
_HANGING_PARENT = """
import signal, subprocess, sys, time
from gridflow.parent_death import orphan_env, signal_on_parent_death
child = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1]],
    env={**orphan_env(grace_s=0.5), "PYTHONPATH": sys.argv[2]},
    preexec_fn=signal_on_parent_death(signal.SIGTERM),
    start_new_session=True,
    stdout=subprocess.PIPE,
)
print(child.stdout.readline().decode().strip(), child.pid, flush=True)
time.sleep(120)
"""
_HANGING_CHILD = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
from gridflow.parent_death import arm_orphan_kill
assert arm_orphan_kill() is not None
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(grandchild.pid, flush=True)
time.sleep(120)
"""


def _wait_gone(pids: list[int], within: float = 15) -> None:
    deadline = time.monotonic() + within
    for pid in pids:
        while not _gone(pid):
            assert time.monotonic() < deadline, f"process {pid} outlived its parent"
            time.sleep(0.02)


def _orphaned_by_sigkill(parent: subprocess.Popen[bytes]) -> list[int]:
    """Read the pids the parent prints, SIGKILL the parent, return the pids."""
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert pids and not any(_gone(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        return pids
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_child_whose_clean_stop_hangs_is_killed_with_its_group() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _HANGING_PARENT, _HANGING_CHILD, str(PROJECT_ROOT)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )
    pids = _orphaned_by_sigkill(parent)
    # SIGTERM was ignored: only the fallback ends the child and its grandchild.
    _wait_gone(pids)


# No death signal at all: only the watch that ``python -m gridflow`` arms can end this
# worker, which waits forever for a cluster that is not there.
_WORKER_PARENT = """
import subprocess, sys, time
from gridflow.broker import free_port
from gridflow.parent_death import orphan_env
env = {"PATH": "/usr/bin:/bin", "GRIDFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
       "GRIDFLOW_DATA_DIR": sys.argv[1], **orphan_env(grace_s=0.5)}
with open(sys.argv[1] + "/worker.log", "ab") as log:
    child = subprocess.Popen([sys.executable, "-m", "gridflow", "worker"], env=env,
                             start_new_session=True, stdout=log, stderr=log)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_python_m_gridflow_arms_the_fallback(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _WORKER_PARENT, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )
    log = tmp_path / "worker.log"
    deadline = time.monotonic() + 60
    # Orphan it only once it is up and waiting, so it is the watch that ends it.
    while "does not answer" not in (log.read_text() if log.exists() else ""):
        assert parent.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    _wait_gone(_orphaned_by_sigkill(parent), within=30)


def test_the_watch_is_not_inherited_by_grandchildren() -> None:
    # A child that copies its environment to its own children: they must not watch (and
    # kill themselves for) a grandparent that is alive but not their parent.
    environ = {PARENT_PID_VAR: str(os.getpid()), ORPHAN_KILL_AFTER_VAR: "0.1"}
    assert arm_orphan_kill(environ) is None
    assert environ == {}


def test_no_watch_without_the_variables() -> None:
    assert arm_orphan_kill({}) is None
