"""A consumer stopped while its fetch routine reacts to a new assignment stops.

aiokafka's fetch routine awaits its own cancelled fetches under
``suppress(CancelledError)`` after an assignment change; a stop that lands then had its
cancel swallowed and waited for ever (gridflow/runtime/consumer_stop.py). Real broker,
real aiokafka fetcher; a fetch that takes a moment to finish its cancellation holds the
routine in that await, so the stop lands there every time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer.fetcher import Fetcher
from broker_under_test import BrokerUnderTest
from harness import create_topic

from gridflow.runtime import consumer_stop


@pytest.fixture
async def consumer(broker: BrokerUnderTest) -> AsyncIterator[AIOKafkaConsumer]:
    topic = await create_topic(broker.bootstrap, f"stop-{uuid.uuid4().hex[:8]}", 1)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.seek_to_beginning()
    await consumer.getmany(timeout_ms=50)
    yield consumer
    if not consumer._fetcher._fetch_task.done():
        # The unpatched case: end the routine for good (its second cancel is not swallowed).
        consumer._fetcher._fetch_task.cancel()


@pytest.fixture
def unpatched() -> Iterator[None]:
    close = Fetcher.close
    Fetcher.close = consumer_stop._original_close
    yield
    Fetcher.close = close


@pytest.fixture
def patched() -> Iterator[None]:
    close = Fetcher.close
    consumer_stop.install()
    yield
    Fetcher.close = close


async def _stop_while_the_routine_awaits_a_cancelled_fetch(consumer: AIOKafkaConsumer) -> bool:
    """Empty the assignment, then stop while the routine awaits a slow fetch's end.

    True when the stop returned within 5 s."""
    fetcher = consumer._fetcher
    started = asyncio.Event()
    held = asyncio.Event()
    release = asyncio.Event()

    async def slow_to_cancel() -> bool:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            held.set()
            await release.wait()
            raise
        return False

    # Started before the routine can see it: a task cancelled before its first step never
    # runs its handler, and the routine, already woken by a fetch, would end it so.
    slow = asyncio.create_task(slow_to_cancel())
    await started.wait()
    fetcher._pending_tasks.add(slow)
    consumer.assign([])
    await asyncio.wait_for(held.wait(), 5)  # the routine cancelled it and awaits its end
    stop = asyncio.create_task(consumer.stop())
    routine = fetcher._fetch_task
    deadline = asyncio.get_running_loop().time() + 5
    while not routine.cancelling():  # the stop cancels the routine inside that await
        assert asyncio.get_running_loop().time() < deadline, "the stop never cancelled it"
        await asyncio.sleep(0)
    release.set()
    done, _ = await asyncio.wait({stop}, timeout=5)
    if not done:
        stop.cancel()
    return bool(done)


async def test_aiokafka_swallows_a_stop_that_lands_in_an_assignment_change(
    consumer: AIOKafkaConsumer, unpatched: None
) -> None:
    """The defect, kept as a specification of aiokafka 0.14.0: the stop does not return."""
    assert not await _stop_while_the_routine_awaits_a_cancelled_fetch(consumer)


async def test_the_patched_stop_returns(consumer: AIOKafkaConsumer, patched: None) -> None:
    assert await _stop_while_the_routine_awaits_a_cancelled_fetch(consumer)
    assert consumer._fetcher._fetch_task.done()
