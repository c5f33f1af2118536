"""The input reader on a real broker: where it starts, what it hands over, when it lets go."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.input_reader import InputReader, Positions, is_position_key, position_key
from agents.records import InRecord

pytestmark = pytest.mark.integration


async def _topic_with_records(bootstrap: str, per_partition: int) -> str:
    topic = f"reader-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition in (0, 1):
            for i in range(per_partition):
                await producer.send(topic, f"{partition}-{i}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
    return topic


async def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_position_keys_cannot_collide_with_region_codes() -> None:
    key = position_key("grid.events.in", 3)
    assert is_position_key(key)
    assert not is_position_key(b"500103001003")


async def test_it_starts_at_the_stored_position_and_hands_over_the_next_one(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 20)
    seen: list[InRecord] = []
    stored: Positions = {}

    async def handle(records: list[InRecord], positions: Positions) -> None:
        seen.extend(records)
        stored.update(positions)

    reader = InputReader(
        client={"bootstrap_servers": kafka_bootstrap},
        topics=[topic],
        handle=handle,
        read_position=lambda t, p: 15 if p == 0 else None,
        may_read=lambda generation: generation == 7,
    )
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=7)
        await _until(lambda: stored == {(topic, 0): 20, (topic, 1): 20}, 20, "both partitions")
        assert sorted(r.offset for r in seen if r.partition == 0) == [15, 16, 17, 18, 19]
        assert sorted(r.offset for r in seen if r.partition == 1) == list(range(20))
        assert {r.value for r in seen if r.partition == 0} == {
            f"0-{i}".encode() for i in range(15, 20)
        }
    finally:
        await reader.stop()
        await task


async def test_it_reads_nothing_until_the_assignment_is_recovered(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 3)
    recovered = False
    seen: list[InRecord] = []

    async def handle(records: list[InRecord], positions: Positions) -> None:
        assert recovered, "a record was handed over before recovery finished"
        seen.extend(records)

    reader = InputReader(
        client={"bootstrap_servers": kafka_bootstrap},
        topics=[topic],
        handle=handle,
        read_position=lambda t, p: None,
        may_read=lambda generation: recovered,
    )
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await _until(lambda: reader.owned is None, 1, "still not reading")
        recovered = True
        await _until(lambda: len(seen) == 6, 20, "all six records")
    finally:
        await reader.stop()
        await task


async def test_revoke_waits_for_the_batch_in_flight(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 5)
    entered = asyncio.Event()
    release = asyncio.Event()
    finished: list[int] = []

    async def handle(records: list[InRecord], positions: Positions) -> None:
        entered.set()
        await release.wait()
        finished.append(len(records))

    reader = InputReader(
        client={"bootstrap_servers": kafka_bootstrap},
        topics=[topic],
        handle=handle,
        read_position=lambda t, p: None,
        may_read=lambda generation: True,
    )
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await asyncio.wait_for(entered.wait(), 20)
        revoking = asyncio.create_task(reader.revoke())
        await asyncio.sleep(0)  # let revoke() reach the lock
        assert not revoking.done(), "revoke returned while a batch was being handled"
        release.set()
        await asyncio.wait_for(revoking, 10)
        assert finished, "the batch in flight completed before revoke returned"
        assert reader.owned is None
    finally:
        release.set()
        await reader.stop()
        await task


async def test_a_failed_batch_is_read_again_not_skipped(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 4)
    attempts = 0
    delivered: list[tuple[int, int]] = []

    async def handle(records: list[InRecord], positions: Positions) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("broker said no")
        delivered.extend((r.partition, r.offset) for r in records)

    reader = InputReader(
        client={"bootstrap_servers": kafka_bootstrap},
        topics=[topic],
        handle=handle,
        read_position=lambda t, p: None,
        may_read=lambda generation: True,
    )
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await _until(lambda: len(set(delivered)) == 8, 30, "all eight records after a failure")
        assert sorted(set(delivered)) == [(p, o) for p in (0, 1) for o in range(4)]
    finally:
        await reader.stop()
        await task
