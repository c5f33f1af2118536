"""Silences on the compacted topic ``grid.silences``: publish one, read them all.

Used by ``gridflow silence``; workers read the topic with
:class:`gridflow.runtime.silence_reader.SilenceReader`, the API with the same reader.
Records are keyed by the silence id, each the whole silence as of its latest change.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gridflow.config import Settings
from gridflow.core.silences import SilenceBook
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.runtime.silence_reader import apply_record
from gridflow.topics import SILENCES
from schemas.silence import Silence

__all__ = ["publish_silence", "read_silences", "silence_record"]


def silence_record(silence: Silence) -> tuple[bytes, bytes]:
    """(key, value) of ``silence`` on ``grid.silences``."""
    return silence.silence_id.encode(), silence.model_dump_json().encode()


async def publish_silence(settings: Settings, silence: Silence) -> None:
    """Write ``silence`` (created if missing, compacted), acknowledged by every replica."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        **client_kwargs(settings), client_id=f"{settings.app_id}-silence", acks="all"
    )
    await producer.start()
    try:
        key, value = silence_record(silence)
        await producer.send_and_wait(settings.topic(SILENCES), key=key, value=value)
    finally:
        await producer.stop()


async def read_silences(settings: Settings, timeout_s: float = 30.0) -> SilenceBook:
    """Every silence on the topic up to the end offsets it had when called."""
    await ensure_topics(settings)
    topic = settings.topic(SILENCES)
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-silence-list",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    book = SilenceBook()
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
                    apply_record(book, record.key, record.value, record.timestamp / 1000.0)
        return book
    finally:
        await consumer.stop()
