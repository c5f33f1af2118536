"""A fetch call waiting through a rebalance takes no records of a paused partition.

Faust passes aiokafka its live set of active partitions and empties it at every rebalance
(the whole assignment is paused) until recovery resumes the changelog partitions it has
just sought back. aiokafka reads an empty set as "every partition", so a call still
waiting from before the rebalance took those changelog rows and Faust dropped them:
recovery then waited forever for rows already consumed (two-worker tests on Apache Kafka,
sessions 23 and 25). ``faust_patches.LivePartitions`` keeps the filter following the set
without ever reading as empty. Real broker, real aiokafka fetcher.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from broker_under_test import BrokerUnderTest

from agents.faust_patches import LivePartitions

ROWS = [b"row-0", b"row-1", b"row-2"]


@pytest.fixture
async def two_partitions(broker: BrokerUnderTest) -> AsyncIterator[tuple[str, str]]:
    topic = f"fetch-filter-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()
    yield broker.bootstrap, topic


@pytest.fixture
async def consumer(two_partitions: tuple[str, str]) -> AsyncIterator[AIOKafkaConsumer]:
    bootstrap, topic = two_partitions
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        await consumer.seek_to_beginning()
        yield consumer
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, tp: TopicPartition) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for row in ROWS:
            await producer.send_and_wait(tp.topic, row, partition=tp.partition)
    finally:
        await producer.stop()


async def _taken_while_every_partition_paused(
    consumer: AIOKafkaConsumer, bootstrap: str, live: set[TopicPartition], filter_: Any
) -> dict[Any, list[Any]]:
    """A fetch call starts while ``live`` holds one partition; the rebalance then empties
    it and rows reach the other partition."""
    other = TopicPartition(next(iter(live)).topic, 1)
    waiting = asyncio.ensure_future(consumer._fetcher.fetched_records(filter_, timeout=3.0))
    await asyncio.sleep(0)  # let the call start waiting (a yield, not a wait for time)
    live.clear()
    await _produce(bootstrap, other)
    return dict(await waiting)


async def test_aiokafka_reads_an_empty_partition_set_as_every_partition(
    consumer: AIOKafkaConsumer, two_partitions: tuple[str, str]
) -> None:
    """Why the patch exists: with Faust's plain set the paused partition's rows are taken
    as they arrive (and Faust, finding the partition not active, drops them)."""
    bootstrap, topic = two_partitions
    live = {TopicPartition(topic, 0)}
    taken = await _taken_while_every_partition_paused(consumer, bootstrap, live, live)
    values = [r.value for r in taken.get(TopicPartition(topic, 1), [])]
    assert values and values == ROWS[: len(values)]


async def test_a_waiting_fetch_takes_nothing_of_a_paused_partition(
    consumer: AIOKafkaConsumer, two_partitions: tuple[str, str]
) -> None:
    bootstrap, topic = two_partitions
    live = {TopicPartition(topic, 0)}
    taken = await _taken_while_every_partition_paused(
        consumer, bootstrap, live, LivePartitions(live)
    )
    assert taken == {}
    # Recovery resumes the partition: its rows are all still there, from the first.
    resumed = TopicPartition(topic, 1)
    live.add(resumed)
    rows: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(rows) < len(ROWS) and time.monotonic() < deadline:
        batch = await consumer._fetcher.fetched_records(LivePartitions(live), timeout=1.0)
        rows += [r.value for r in batch.get(resumed, [])]
    assert rows == ROWS
