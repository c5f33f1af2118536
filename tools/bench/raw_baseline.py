"""The ceiling: a raw aiokafka consume → decode → transform → encode → produce loop.

Same broker, same records as the gridflow run, nothing but aiokafka and orjson: ``getmany``
in big fetches, one ``orjson.loads`` / ``orjson.dumps`` per record, and the producer's batch
API (``create_batch`` / ``send_batch``, ~5× cheaper than ``send`` per record, docs/PITFALLS.md).
Records keep their partition, as a keyed stream processor would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tools.bench import BenchRecord

#: Records per getmany at most (the gridflow agent takes batches of 500 too).
FETCH_MAX_RECORDS = 2000


async def create_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    """Create ``names`` with ``partitions`` partitions (explicitly: see docs/PITFALLS.md)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


async def preload(
    bootstrap: str, topic: str, records: Sequence[BenchRecord], partitions: int | None = None
) -> float:
    """Produce ``records`` as fast as the producer goes; return the seconds it took."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        futures = []
        for i, rec in enumerate(records):
            partition = rec.partition
            if partition is None and rec.key is None and partitions:
                partition = i % partitions  # what a keyless producer spreads to, deterministically
            futures.append(
                await producer.send(topic, value=rec.value, key=rec.key, partition=partition)
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def transform(value: bytes, now_ms: int) -> bytes:
    """The trivial per-record work: decode, stamp, pick a routing field, encode."""
    doc: Any = orjson.loads(value)
    for item in doc if isinstance(doc, list) else (doc,):
        item["seen_ms"] = now_ms
        item["route"] = item.get("region_code", "")[:9]
    return orjson.dumps(doc)


async def raw_loop(
    bootstrap: str, in_topic: str, out_topic: str, expected: int, timeout: float = 120.0
) -> dict[str, Any]:
    """Consume ``expected`` records from ``in_topic`` and write each, transformed, to ``out_topic``.

    Timed from the first fetch that returned records to the last delivery acknowledged; the
    process CPU over the same span is ``cpu_s`` (this loop runs in the bench's process).
    """
    consumer = AIOKafkaConsumer(
        in_topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await consumer.start()
    await producer.start()
    done = 0
    futures: list[asyncio.Future[Any]] = []
    started: float | None = None
    cpu_started = time.process_time()
    deadline = time.monotonic() + timeout
    try:
        while done < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=FETCH_MAX_RECORDS)
            if not batches:
                continue
            if started is None:
                started = time.perf_counter()
                cpu_started = time.process_time()
            now_ms = int(time.time() * 1000)
            for tp, msgs in batches.items():
                batch = producer.create_batch()
                for msg in msgs:
                    value = transform(msg.value, now_ms)
                    if batch.append(key=msg.key, value=value, timestamp=None) is None:
                        futures.append(
                            await producer.send_batch(batch, out_topic, partition=tp.partition)
                        )
                        batch = producer.create_batch()
                        batch.append(key=msg.key, value=value, timestamp=None)
                    done += 1
                if batch.record_count():
                    futures.append(
                        await producer.send_batch(batch, out_topic, partition=tp.partition)
                    )
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - (started or time.perf_counter())
        cpu = time.process_time() - cpu_started
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "records": done,
        "seconds": elapsed,
        "cpu_s": cpu,
        "eps": done / elapsed if elapsed > 0 and done else 0.0,
    }


def run_raw(bootstrap: str, records: Sequence[BenchRecord], partitions: int = 4) -> dict[str, Any]:
    """Pre-load ``records`` into a fresh topic, then time :func:`raw_loop` over them.

    ``eps`` counts events: a batch record of 100 events counts 100.
    """
    prefix = f"bench-raw-{uuid.uuid4().hex[:8]}."
    in_topic, out_topic = f"{prefix}in", f"{prefix}out"

    async def main() -> dict[str, Any]:
        await create_topics(bootstrap, (in_topic, out_topic), partitions)
        await preload(bootstrap, in_topic, records, partitions)
        result = await raw_loop(bootstrap, in_topic, out_topic, len(records))
        events = sum(r.events for r in records)
        result["events"] = events
        result["eps"] = events / result["seconds"] if result["seconds"] > 0 else 0.0
        result["cpu_us_per_event"] = result["cpu_s"] / events * 1e6 if events else None
        return result

    return asyncio.run(main())


__all__ = ["create_topics", "preload", "raw_loop", "run_raw", "transform"]
