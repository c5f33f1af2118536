"""Silences on the compacted topic ``grid.silences``: publish one, read them all.

Used by ``gridflow silence``; workers read the topic with
:class:`gridflow.runtime.silence_reader.SilenceReader`, the API with the same reader.
Records are keyed by the silence id, each the whole silence as of its latest change.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from gridflow.compacted_topic import read_to_end
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
    book = SilenceBook()
    async for record in read_to_end(
        settings,
        settings.topic(SILENCES),
        client_id=f"{settings.app_id}-silence-list",
        timeout_s=timeout_s,
    ):
        apply_record(book, record.key, record.value, record.timestamp / 1000.0)
    return book
