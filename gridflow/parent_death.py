"""Child processes that end when the process that started them ends.

Linux's ``PR_SET_PDEATHSIG`` asks the kernel to signal a child when its parent dies, also
when the parent is SIGKILLed and gets no chance to clean up. The embedded broker and the
workers that the demo, tests, bench and chaos drill start use it, so none of them is left
running, holding a port and a core, after their parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


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
