"""The API's produce lane: concurrent requests' records leave in one record batch per
partition, and each request returns once *its* records are acknowledged, or fails with
the batch that carried them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from gridflow.api.produce_lane import ProduceLane
from gridflow.runtime.partitioning import partition_for


class Builder:
    def __init__(self, room: int) -> None:
        self.records: list[tuple[bytes, bytes]] = []
        self.room = room

    def append(self, *, key: bytes, value: bytes, timestamp: None) -> object | None:
        if len(self.records) >= self.room:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    """Hands each submitted batch's delivery to the test, which acknowledges or refuses it."""

    def __init__(self, room: int = 100) -> None:
        self.room = room
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]], asyncio.Future[Any]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}

    def create_batch(self) -> Builder:
        return Builder(self.room)

    async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> Any:
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, batch.records, delivery))
        return delivery


async def started(producer: FakeProducer) -> ProduceLane:
    lane = ProduceLane(producer)
    lane.start()
    return lane


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


VILLAGES = [b"500103001003", b"500103001006", b"500104001001", b"500103002001"]


async def test_concurrent_sends_leave_as_one_batch_per_partition() -> None:
    producer = FakeProducer()
    lane = await started(producer)
    sends = [
        asyncio.create_task(lane.send("t", [(VILLAGES[i % 4], f"v{i}".encode())]))
        for i in range(40)
    ]
    await settle()
    partitions = [p for _, p, _, _ in producer.sent]
    assert sorted(partitions) == sorted({partition_for(v.decode(), 4) for v in VILLAGES})
    for _, partition, records, _ in producer.sent:
        # In the order they were sent, each on its key's partition.
        assert all(partition_for(k.decode(), 4) == partition for k, _ in records)
        assert [int(v[1:]) for _, v in records] == sorted(int(v[1:]) for _, v in records)
    assert sum(len(r) for _, _, r, _ in producer.sent) == 40
    assert not any(s.done() for s in sends)  # nothing acknowledged yet
    for *_, delivery in producer.sent:
        delivery.set_result(None)
    await asyncio.gather(*sends)
    await lane.stop()


async def test_a_send_returns_only_when_all_its_records_are_acknowledged() -> None:
    producer = FakeProducer()
    lane = await started(producer)
    spread = asyncio.create_task(lane.send("t", [(v, b"x") for v in VILLAGES]))
    await settle()
    first, *rest = producer.sent
    first[3].set_result(None)
    await settle()
    assert not spread.done()
    for *_, delivery in rest:
        delivery.set_result(None)
    await spread
    await lane.stop()


async def test_a_refused_batch_fails_only_the_sends_with_records_in_it() -> None:
    producer = FakeProducer(room=2)
    lane = await started(producer)
    key = VILLAGES[0]
    sends = [asyncio.create_task(lane.send("t", [(key, f"v{i}".encode())])) for i in range(4)]
    await settle()
    # Two record batches of two: the first refused, the second acknowledged.
    assert [len(records) for _, _, records, _ in producer.sent] == [2, 2]
    producer.sent[0][3].set_exception(RuntimeError("MessageSizeTooLarge"))
    producer.sent[1][3].set_result(None)
    results = await asyncio.gather(*sends, return_exceptions=True)
    assert [isinstance(r, RuntimeError) for r in results] == [True, True, False, False]
    await lane.stop()


async def test_records_that_arrive_while_a_batch_is_handed_over_go_in_the_next_turn() -> None:
    producer = FakeProducer()
    gate = asyncio.Event()
    handed = producer.send_batch

    async def slow_send_batch(batch: Builder, topic: str, *, partition: int) -> Any:
        await gate.wait()  # aiokafka waits here while the partition's last batch is pending
        return await handed(batch, topic, partition=partition)

    producer.send_batch = slow_send_batch  # type: ignore[method-assign]
    lane = await started(producer)
    key = VILLAGES[0]
    first = asyncio.create_task(lane.send("t", [(key, b"a")]))
    await settle()
    later = [asyncio.create_task(lane.send("t", [(key, f"b{i}".encode())])) for i in range(5)]
    await settle()
    gate.set()
    await settle()
    assert [len(records) for _, _, records, _ in producer.sent] == [1, 5]
    for *_, delivery in producer.sent:
        delivery.set_result(None)
    await asyncio.gather(first, *later)
    await lane.stop()


async def test_the_lane_lingers_to_gather_the_requests_of_the_next_milliseconds() -> None:
    producer = FakeProducer()
    lane = ProduceLane(producer, linger_s=0.2)
    lane.start()
    key = VILLAGES[0]
    first = asyncio.create_task(lane.send("t", [(key, b"a")]))
    await settle()
    second = asyncio.create_task(lane.send("t", [(key, b"b")]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not producer.sent and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert [records for _, _, records, _ in producer.sent] == [[(key, b"a"), (key, b"b")]]
    producer.sent[0][3].set_result(None)
    await asyncio.gather(first, second)
    await lane.stop()


async def test_a_stopped_lane_refuses_to_send() -> None:
    lane = await started(FakeProducer())
    await lane.stop()
    with pytest.raises(RuntimeError, match="not running"):
        await lane.send("t", [(VILLAGES[0], b"x")])


@pytest.mark.integration
async def test_on_a_broker_every_record_arrives_on_its_keys_partition(
    kafka_bootstrap: str,
) -> None:
    topic = f"lane-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=2)
    await producer.start()
    lane = ProduceLane(producer)
    lane.start()
    try:
        await asyncio.gather(
            *(lane.send(topic, [(VILLAGES[i % 4], f"{i}".encode())]) for i in range(200))
        )
    finally:
        await lane.stop()
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(got) < 200 and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got.extend(records)
    finally:
        await consumer.stop()
    assert sorted(int(r.value) for r in got) == list(range(200))
    assert all(r.partition == partition_for(r.key.decode(), 4) for r in got)
