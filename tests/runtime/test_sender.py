"""Batched sends on a real broker: order per partition, last offsets, the default partitioner."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from harness import create_topic

from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.sender import send_batched

pytestmark = pytest.mark.integration


async def _topic(bootstrap: str, partitions: int) -> str:
    return await create_topic(bootstrap, f"batch-{uuid.uuid4().hex[:8]}", partitions)


async def _read_all(bootstrap: str, topic: str, partitions: int, expected: int) -> list[object]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        out: list[object] = []
        for _ in range(100):
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(messages)
            if len(out) >= expected:
                break
        return out
    finally:
        await consumer.stop()


async def test_keeps_order_per_partition_and_reports_the_last_offsets(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic(kafka_bootstrap, 2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=4096)
    await producer.start()
    try:
        # 300-byte values and 4 KiB batches: each partition needs several batches.
        records = [(topic, None, f"{i:04d}".encode() * 75, i % 2) for i in range(100)]
        first = await send_batched(producer, records)
        second = await send_batched(producer, records[:10])
    finally:
        await producer.stop()
    assert first == {TopicPartition(topic, 0): 49, TopicPartition(topic, 1): 49}
    assert second == {TopicPartition(topic, 0): 54, TopicPartition(topic, 1): 54}
    got = await _read_all(kafka_bootstrap, topic, 2, 110)
    for partition in (0, 1):
        values = [m.value[:4] for m in got if m.partition == partition]  # type: ignore[attr-defined]
        sent = [v[:4] for _, _, v, p in records if p == partition]
        assert values == sent + sent[:5]


async def _send_region_keyed(
    bootstrap: str, partitions: int, regions: int, **producer_options: Any
) -> list[Any]:
    """Send one record per region code, keyed by it and without a partition; read them."""
    topic = await _topic(bootstrap, partitions)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_options)
    await producer.start()
    try:
        codes = [f"5001{i:08d}" for i in range(regions)]
        await send_batched(producer, [(topic, c.encode(), b"{}", None) for c in codes])
    finally:
        await producer.stop()
    got = await _read_all(bootstrap, topic, partitions, regions)
    assert len(got) == regions
    return got


async def test_records_without_a_partition_go_where_their_key_hashes(kafka_bootstrap: str) -> None:
    # Re-keyed commands rely on this: the producer's partitioner and partition_for agree.
    for m in await _send_region_keyed(kafka_bootstrap, 4, 40):
        assert m.partition == partition_for(m.key.decode(), 4)


async def test_a_custom_partitioner_still_decides_where_keyed_records_go(
    kafka_bootstrap: str,
) -> None:
    # Hashes are remembered only for aiokafka's default partitioner; any other one is
    # asked for every record.
    got = await _send_region_keyed(
        kafka_bootstrap,
        3,
        12,
        partitioner=lambda key, all_partitions, available: all_partitions[-1],
    )
    assert {m.partition for m in got} == {2}
