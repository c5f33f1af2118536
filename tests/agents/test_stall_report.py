"""A stop that takes too long says what it waits on."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agents.stall_report import stacks, watch_stop


async def held_by(lock: asyncio.Lock) -> None:
    async with lock:
        pass


async def test_the_stacks_name_the_task_waiting_and_where() -> None:
    lock = asyncio.Lock()
    await lock.acquire()
    waiter = asyncio.create_task(held_by(lock), name="reader-stop")
    await asyncio.sleep(0)
    text = stacks()
    waiter.cancel()
    assert "--- task reader-stop" in text
    assert "held_by" in text
    assert "--- thread " in text


async def test_a_stop_past_its_time_logs_the_stacks_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gridflow.worker")
    done = asyncio.Event()
    handle = watch_stop(after_s=0.01)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, done.set)
    await asyncio.wait_for(done.wait(), timeout=5)
    handle.cancel()
    reports = [r for r in caplog.records if "stop has taken" in r.getMessage()]
    assert len(reports) == 1
    assert "--- task " in reports[0].getMessage()


async def test_a_stop_in_time_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gridflow.worker")
    handle = watch_stop(after_s=0.01)
    handle.cancel()
    later = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, later.set)
    await asyncio.wait_for(later.wait(), timeout=5)
    assert not [r for r in caplog.records if "stop has taken" in r.getMessage()]
