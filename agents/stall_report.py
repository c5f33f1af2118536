"""What a worker is waiting on when a graceful stop takes too long.

A SIGTERMed worker that does not exit is SIGKILLed by whoever sent it (the test harness
after 60 s, Kubernetes after its grace period), and its log then ends at "Stopping..."
with no word on what held it. Session 26's CI lost a run that way (a stop during a
rebalance on the embedded broker) and the cause could not be read afterwards. This
report names it the next time: the stack of every asyncio task on the app's loop and of
every thread (Faust's consumer runs on its own thread and loop).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import traceback

log = logging.getLogger("gridflow.worker")

#: Seconds a stop may take before the stacks are logged; the harness waits 60.
STALL_AFTER_S = 20.0


def stacks() -> str:
    """Every thread's Python stack and every task's on the running loop, as text."""
    out = io.StringIO()
    current = asyncio.get_running_loop()
    for task in asyncio.all_tasks(current):
        out.write(f"--- task {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    # sys._current_frames is the documented way to read other threads' stacks
    # (faulthandler writes to a file descriptor, not to the log).
    for ident, frame in sys._current_frames().items():
        out.write(f"--- thread {ident}\n")
        out.write("".join(traceback.format_stack(frame, limit=12)))
    return out.getvalue()


def watch_stop(after_s: float = STALL_AFTER_S) -> asyncio.TimerHandle:
    """Log the stacks once if the stop begun now is still running after ``after_s``.

    Call on the loop the stop runs on; cancel the handle when the stop is done.
    """

    def report() -> None:
        log.warning("stop has taken %.0f s; waiting on:\n%s", after_s, stacks())

    return asyncio.get_running_loop().call_later(after_s, report)
