"""aiokafka's consumer stop, made to finish when it follows a change of assignment.

``AIOKafkaConsumer.stop`` ends with ``Fetcher.close``: it cancels the fetch routine once
and awaits it. When the assignment changes (the input reader's ``assign([])`` at a
rebalance), the routine cancels its in-flight fetches and awaits each of them under
``contextlib.suppress(asyncio.CancelledError)`` (aiokafka 0.14.0, fetcher.py; added by
aiokafka PR 1007 so that a fetch's own cancellation would not end the routine). A cancel
of the routine itself that lands in that await is suppressed with them; the routine
then loops on, and ``close`` awaits it for ever.

Session 26's CI lost a run to it: a worker got SIGTERM 8 ms after the rebalance that the
other worker's leaving began, its reader's consumer stopped right after the revoke, and
the worker was SIGKILLed 60 s later with its log ending at "Stopping..." (the stacks
``agents.stall_report`` logs showed the stop awaiting a fetch routine that was being
cancelled). ``install`` makes ``close`` cancel again until the routine has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.consumer.fetcher import Fetcher

_original_close = Fetcher.close
#: How long one cancel may take to end the routine before it is cancelled again.
RECANCEL_AFTER_S = 0.1


async def _close(self: Any) -> None:
    task: asyncio.Task[None] = self._fetch_task
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_AFTER_S)
    await _original_close(self)


def install() -> None:
    """Patch ``Fetcher.close`` (idempotent; every consumer of the process gets it)."""
    Fetcher.close = _close
