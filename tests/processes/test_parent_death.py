"""Children started with ``signal_on_parent_death`` end when their parent is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gridflow.config import PROJECT_ROOT

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
