"""The input reader on a real broker: where it starts, what it hands over, when it lets go."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from harness import create_topic

from gridflow.runtime.checkpoint import Journal, Rows, is_position_key, journal_key, position_key
from gridflow.runtime.reader import InputReader
from gridflow.runtime.records import InRecord
from gridflow.topics import EVENTS_IN

pytestmark = pytest.mark.integration


async def _topic_with_records(bootstrap: str, per_partition: int) -> str:
    topic = await create_topic(bootstrap, f"reader-{uuid.uuid4().hex[:8]}", 2)
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


class Table:
    """The case table as the reader sees it: rows by key, written in order."""

    def __init__(self, rows: dict[bytes, bytes] | None = None) -> None:
        self.rows: dict[bytes, bytes] = dict(rows or {})
        self.writes: list[Rows] = []

    async def store(self, rows: Rows) -> None:
        self.writes.append(rows)
        for items in rows.values():
            for key, value in items:
                if value is None:
                    self.rows.pop(key, None)
                else:
                    self.rows[key] = value

    def position(self, topic: str, partition: int) -> int | None:
        value = self.rows.get(position_key(topic, partition))
        return None if value is None else int(value)


def reader_for(
    bootstrap: str,
    topic: str,
    table: Table,
    handle: Callable[[list[InRecord], float], Awaitable[Rows]],
    may_read: Callable[[int], bool] = lambda generation: True,
    gather_ms: int = 0,
) -> InputReader:
    def fatal() -> None:
        raise AssertionError("the reader gave up")

    return InputReader(
        client={"bootstrap_servers": bootstrap},
        topics=[topic],
        handle=handle,
        store=table.store,
        read_row=table.rows.get,
        may_read=may_read,
        on_fatal=fatal,
        gather_ms=gather_ms,
    )


def test_the_reader_rows_cannot_collide_with_region_codes() -> None:
    assert is_position_key(position_key(EVENTS_IN, 3))
    assert is_position_key(journal_key(3))
    assert not is_position_key(b"500103001003")


async def test_it_starts_at_the_stored_position_and_stores_the_next_one(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 20)
    table = Table({position_key(topic, 0): b"15"})
    seen: list[InRecord] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        seen.extend(records)
        return {}

    reader = reader_for(kafka_bootstrap, topic, table, handle, lambda generation: generation == 7)
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=7)
        await _until(
            lambda: table.position(topic, 0) == 20 and table.position(topic, 1) == 20,
            20,
            "positions stored at the end of both partitions",
        )
        assert sorted(r.offset for r in seen if r.partition == 0) == [15, 16, 17, 18, 19]
        assert sorted(r.offset for r in seen if r.partition == 1) == list(range(20))
    finally:
        await reader.stop()
        await task


async def test_state_is_stored_before_the_position_and_the_journal_before_processing(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 3)
    table = Table()
    journal_before_processing: list[bool] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        partition = records[0].partition
        journal_before_processing.append(journal_key(partition) in table.rows)
        return {partition: [(f"region-{partition}".encode(), b"state")]}

    reader = reader_for(kafka_bootstrap, topic, table, handle)
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await _until(
            lambda: table.position(topic, 0) == 3 and table.position(topic, 1) == 3,
            20,
            "positions stored",
        )
    finally:
        await reader.stop()
        await task
    assert journal_before_processing and all(journal_before_processing)
    for rows in table.writes:
        for partition, items in rows.items():
            keys = [k for k, _ in items]
            if position_key(topic, partition) in keys and f"region-{partition}".encode() in keys:
                assert keys.index(f"region-{partition}".encode()) < keys.index(
                    position_key(topic, partition)
                ), "state before position"


async def test_it_reads_nothing_until_the_assignment_is_recovered(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 3)
    recovered = False
    seen: list[InRecord] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        assert recovered, "a record was handed over before recovery finished"
        seen.extend(records)
        return {}

    reader = reader_for(kafka_bootstrap, topic, Table(), handle, lambda generation: recovered)
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await _until(lambda: reader.owned is None, 1, "still not reading")
        recovered = True
        await _until(lambda: len(seen) == 6, 20, "all six records")
    finally:
        await reader.stop()
        await task


async def test_revoke_waits_for_the_batch_in_flight_and_stores_it(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 5)
    table = Table()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def handle(records: list[InRecord], now: float) -> Rows:
        entered.set()
        await release.wait()
        return {}

    reader = reader_for(kafka_bootstrap, topic, table, handle)
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await asyncio.wait_for(entered.wait(), 20)
        revoking = asyncio.create_task(reader.revoke())
        await asyncio.sleep(0)  # let revoke() reach the lock
        assert not revoking.done(), "revoke returned while a batch was being handled"
        release.set()
        await asyncio.wait_for(revoking, 10)
        assert reader.owned is None
        stored = [table.position(topic, p) for p in (0, 1)]
        assert any(stored), "the batch in flight stored its positions before revoke returned"
    finally:
        release.set()
        await reader.stop()
        await task


async def test_an_unfinished_journaled_batch_is_replayed_exactly_before_new_records(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 8)
    # A previous owner began offsets 2..4 of partition 0 at clock 123.0 and died before
    # storing their state and positions.
    journal = Journal(now=123.0, start={topic: 2}, end={topic: 5})
    table = Table({position_key(topic, 0): b"2", journal_key(0): journal.to_bytes()})
    calls: list[tuple[float, list[int]]] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        calls.append((now, [r.offset for r in records if r.partition == 0]))
        return {}

    reader = reader_for(kafka_bootstrap, topic, table, handle)
    reader.assign({0}, generation=1)
    task = asyncio.create_task(reader.run())
    try:
        await _until(lambda: table.position(topic, 0) == 8, 20, "partition 0 read to its end")
    finally:
        await reader.stop()
        await task
    assert calls[0] == (123.0, [2, 3, 4]), "the journaled batch first, alone, with its clock"
    assert sorted(o for _, offsets in calls[1:] for o in offsets) == [5, 6, 7]
    assert reader.replayed_batches == 1


async def test_a_finished_journal_is_not_replayed(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 4)
    journal = Journal(now=1.0, start={topic: 0}, end={topic: 4})
    table = Table({position_key(topic, 0): b"4", journal_key(0): journal.to_bytes()})
    seen: list[int] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        seen.extend(r.offset for r in records if r.partition == 0)
        return {}

    reader = reader_for(kafka_bootstrap, topic, table, handle)
    reader.assign({0, 1}, generation=1)
    task = asyncio.create_task(reader.run())
    try:
        await _until(lambda: table.position(topic, 1) == 4, 20, "partition 1 read")
    finally:
        await reader.stop()
        await task
    assert seen == [] and reader.replayed_batches == 0


class Rules:
    """A rules source whose topic reads to position 3: what each batch was pinned to."""

    def __init__(self) -> None:
        self.pinned: list[int | None] = []

    async def catch_up(self) -> int:
        return 3

    def pin(self, position: int | None) -> None:
        self.pinned.append(position)


async def test_a_batch_is_decided_under_the_rules_it_journaled_and_replayed_under_them(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 6)
    # The previous owner decided offsets 2..3 with grid.rules read to position 1; two
    # bundles were published since (the topic now reads to 3).
    journal = Journal(now=123.0, start={topic: 2}, end={topic: 4}, rules=1)
    table = Table({position_key(topic, 0): b"2", journal_key(0): journal.to_bytes()})
    seen: list[tuple[list[int], int | None]] = []
    rules = Rules()

    async def handle(records: list[InRecord], now: float) -> Rows:
        seen.append(([r.offset for r in records if r.partition == 0], rules.pinned[-1]))
        return {}

    reader = reader_for(kafka_bootstrap, topic, table, handle)
    reader._rules = rules
    reader.assign({0}, generation=1)
    task = asyncio.create_task(reader.run())
    try:
        await _until(lambda: table.position(topic, 0) == 6, 20, "partition 0 read to its end")
    finally:
        await reader.stop()
        await task
    assert seen[0] == ([2, 3], 1), "the replay decides under the rules it journaled"
    assert all(pinned == 3 for _, pinned in seen[1:]), "new batches under every bundle read"
    journals = [
        Journal.parse(value)
        for rows in table.writes
        for items in rows.values()
        for key, value in items
        if key == journal_key(0) and value is not None
    ]
    assert journals and all(j.rules == 3 for j in journals), "each new batch journals it"


async def test_a_busy_reader_fetches_at_most_once_per_gathering_interval(
    kafka_bootstrap: str,
) -> None:
    """GRIDFLOW_INPUT_GATHER_MS: records arriving every 20 ms, batches at most every 300 ms."""
    interval_s = 0.3
    topic = await create_topic(kafka_bootstrap, f"reader-{uuid.uuid4().hex[:8]}", 2)
    handled_at: list[float] = []
    seen: list[InRecord] = []

    async def handle(records: list[InRecord], now: float) -> Rows:
        handled_at.append(time.monotonic())
        seen.extend(records)
        return {}

    reader = reader_for(kafka_bootstrap, topic, Table(), handle, gather_ms=int(interval_s * 1000))
    task = asyncio.create_task(reader.run())
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        reader.assign({0, 1}, generation=1)
        sent = 80
        for i in range(sent):
            await producer.send_and_wait(topic, str(i).encode(), partition=i % 2)
            await asyncio.sleep(0.02)  # the arrival rate, not a synchronisation
        await _until(lambda: len(seen) == sent, 20, "every record handled")
    finally:
        await producer.stop()
        await reader.stop()
        await task
    # Fetch starts are at least an interval apart; a batch is handled within one fetch
    # wait (50 ms) of its start, so n batches span at least (n - 1) intervals less that.
    span = handled_at[-1] - handled_at[0]
    assert len(handled_at) <= span / interval_s + 2, (len(handled_at), span)
    assert sorted(int(r.value) for r in seen) == list(range(sent)), "each record once"


async def test_stop_does_not_wait_out_the_gathering_interval(kafka_bootstrap: str) -> None:
    topic = await _topic_with_records(kafka_bootstrap, 3)

    async def handle(records: list[InRecord], now: float) -> Rows:
        return {}

    reader = reader_for(kafka_bootstrap, topic, Table(), handle, gather_ms=1000)
    task = asyncio.create_task(reader.run())
    try:
        reader.assign({0, 1}, generation=1)
        await _until(lambda: reader.batches >= 1, 20, "a first batch, then the interval")
    finally:
        stopping = asyncio.create_task(reader.stop())
        await asyncio.wait_for(task, 1.0)
        await stopping
