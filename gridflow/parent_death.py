"""Child processes that end when the process that started them ends.

Linux's ``PR_SET_PDEATHSIG`` asks the kernel to signal a child when its parent dies, also
when the parent is SIGKILLed and gets no chance to clean up. The embedded broker and the
workers that the demo, tests, bench and chaos drill start use it, so none of them is left
running, holding a port and a core, after their parent is gone.

Workers and the API get SIGTERM, so they drain and stop cleanly. A clean stop can hang,
though: the broker dies with the same parent (SIGKILL), and a worker's last commit or
an API's producer flush then waits for a broker that is gone. :func:`orphan_env` and
:func:`arm_orphan_kill` are the fallback: a child started with that environment watches
its parent from a thread and, once the parent is gone, SIGKILLs its own process group
after a grace period, whatever its main thread is doing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import threading
import time
from collections.abc import Callable, MutableMapping

_PR_SET_PDEATHSIG = 1

#: The pid whose death the child watches (``GRIDFLOW_*``: registered in gridflow/config.py).
PARENT_PID_VAR = "GRIDFLOW_PARENT_PID"
#: Seconds the orphaned child gets to stop by itself before it SIGKILLs its group.
ORPHAN_KILL_AFTER_VAR = "GRIDFLOW_ORPHAN_KILL_AFTER_S"
#: Long enough for a worker's clean stop (``terminate`` waits 15 s too).
DEFAULT_GRACE_S = 15.0


def signal_on_parent_death(signum: int) -> Callable[[], None]:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``signum`` when we die.

    The kernel ties the request to the thread that forks, so start such children from a
    thread that lives as long as the process (the main thread here).
    """
    parent = os.getpid()

    def setup() -> None:
        # Runs in the child between fork and exec.
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        # The parent may have died before the request was made: then nobody would signal.
        if os.getppid() != parent:
            os.kill(os.getpid(), signum)

    return setup


def killed_with_parent_in_own_group(signum: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` for a broker: ``signum`` when we die, and a process group of its own.

    Its own group, so a Ctrl-C in a terminal reaches it only through us (we stop it in
    order); the death signal, so a SIGKILLed parent leaves no broker holding a port.
    """
    on_death = signal_on_parent_death(signum)

    def setup() -> None:
        # Runs in the child between fork and exec.
        on_death()
        os.setpgrp()

    return setup


def orphan_env(grace_s: float = DEFAULT_GRACE_S) -> dict[str, str]:
    """Variables for a ``gridflow`` child: SIGKILL itself ``grace_s`` after we are gone.

    Add them to the environment of a child started with ``signal_on_parent_death(SIGTERM)``
    and ``start_new_session=True``; ``gridflow``'s entry point arms the watch.
    """
    return {PARENT_PID_VAR: str(os.getpid()), ORPHAN_KILL_AFTER_VAR: f"{grace_s:g}"}


def arm_orphan_kill(environ: MutableMapping[str, str] = os.environ) -> threading.Thread | None:
    """Start the watch :func:`orphan_env` asks for; None when not asked.

    The variables are taken out of ``environ``, so our own children do not watch our
    parent. The parent's pid comes from them, not from ``getppid()`` here: if the parent
    died between our fork and this call, we are already someone else's child.
    """
    pid_text = environ.pop(PARENT_PID_VAR, "").strip()
    grace_text = environ.pop(ORPHAN_KILL_AFTER_VAR, "").strip()
    if not pid_text:
        return None
    try:
        parent = int(pid_text)
        grace = float(grace_text or DEFAULT_GRACE_S)
    except ValueError:
        # Set only by orphan_env; a mangled value must not stop the worker.
        return None
    if os.getppid() != parent and _alive(parent):
        # Inherited from further up (a child that copied its own environment): not ours.
        return None
    watcher = threading.Thread(target=_watch, args=(parent, grace), name="orphan-kill", daemon=True)
    watcher.start()
    return watcher


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(parent: int, grace: float) -> None:
    _wait_for_exit(parent)
    time.sleep(grace)
    # Still running: the clean stop the death signal began has not finished.
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _wait_for_exit(parent: int) -> None:
    """Block until ``parent`` has exited (or was never our parent)."""
    try:
        fd = os.pidfd_open(parent)
    except OSError:
        fd = -1
    if fd >= 0 and os.getppid() == parent:
        # Readable once the process has exited; no wake-ups until then.
        try:
            select.select([fd], [], [])
        finally:
            os.close(fd)
        return
    if fd >= 0:
        os.close(fd)
    # No pidfd (old kernel), or the parent is gone already and the pid may be reused.
    while os.getppid() == parent:
        time.sleep(0.5)
