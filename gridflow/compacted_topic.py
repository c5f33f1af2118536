"""Reading a small compacted topic (``grid.rules``, ``grid.silences``) once, to its end.

The CLI and the API read these topics whole to list what is published; workers follow
them continuously with readers of their own (``gridflow/runtime/``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs

__all__ = ["read_to_end"]


async def read_to_end(
    settings: Settings,
    topic: str,
    *,
    client_id: str,
    timeout_s: float = 30.0,
    **consumer_options: Any,
) -> AsyncIterator[Any]:
    """Every record of ``topic`` from its beginning up to the end offsets it had when
    called, partition by partition in offset order.

    End offsets are taken once, so a writer that keeps publishing cannot keep this
    reading forever; ``TimeoutError`` when the end is not reached within ``timeout_s``.
    """
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings),
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **consumer_options,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if loop.time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout_s:g} s")
            batches = await consumer.getmany(*parts, timeout_ms=500)
            for records in batches.values():
                for record in records:
                    yield record
    finally:
        await consumer.stop()
