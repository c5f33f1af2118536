"""Versioned rules bundles on the compacted topic ``grid.rules``: build, publish, read.

A bundle is a rules directory's decision files (the ones ``rules_version`` hashes), the
hash itself, a label, an author's note and the instant it takes effect. Records are
keyed by the version, so compaction keeps each version's latest publication; republishing
an older version with a new ``effective_from`` is how a change is rolled back.

Workers do not read this topic yet (no hot reload): a published bundle documents what is
meant to be in force; deploying it still means pointing ``GRIDFLOW_RULES`` at the
directory and restarting the workers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gridflow.config import Settings
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules_version import decision_files, rules_version
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.topics import RULES
from schemas import RulesBundle

__all__ = ["build_bundle", "bundle_in_force", "publish", "read_bundles"]

#: A bundle holds the division tree (~0.7 MB of CSV); gzip makes the record ~5x smaller.
_MAX_REQUEST = 16 * 1024 * 1024


def build_bundle(
    directory: Path,
    divisions: Path | None,
    *,
    label: str,
    note: str,
    author: str,
    effective_from: datetime,
    published_at: datetime,
) -> RulesBundle:
    """The bundle of ``directory``: every decision file's text and their hash."""
    files = decision_files(directory, divisions)
    texts: dict[str, str] = {}
    for name, path in files.items():
        try:
            texts[name] = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigLoadError(path, None, f"not UTF-8 at byte {exc.start}") from None
    return RulesBundle(
        version=rules_version(files),
        label=label,
        note=note,
        author=author,
        effective_from=effective_from,
        published_at=published_at,
        files=texts,
    )


async def publish(settings: Settings, bundle: RulesBundle) -> None:
    """Write ``bundle`` to ``grid.rules`` (created compacted if missing), keyed by version."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-rules",
        acks="all",
        compression_type="gzip",
        max_request_size=_MAX_REQUEST,
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(RULES),
            key=bundle.version.encode(),
            value=bundle.model_dump_json().encode(),
        )
    finally:
        await producer.stop()


async def read_bundles(settings: Settings, timeout_s: float = 30.0) -> list[RulesBundle]:
    """Every version's latest publication, oldest publication first.

    Reads the topic from the beginning to the end offsets it had when called; a key's
    later record replaces its earlier one, as compaction will.
    """
    await ensure_topics(settings)
    topic = settings.topic(RULES)
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-rules-list",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=_MAX_REQUEST,
        max_partition_fetch_bytes=_MAX_REQUEST,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        latest: dict[str, RulesBundle] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if loop.time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout_s:g} s")
            batches = await consumer.getmany(*parts, timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.value is None:  # a tombstone: the version was withdrawn
                        latest.pop((record.key or b"").decode(), None)
                        continue
                    bundle = RulesBundle.model_validate_json(record.value)
                    latest[bundle.version] = bundle
        return sorted(latest.values(), key=lambda b: b.published_at)
    finally:
        await consumer.stop()


def bundle_in_force(bundles: list[RulesBundle], at: datetime) -> RulesBundle | None:
    """The bundle whose ``effective_from`` is the latest one not after ``at``."""
    started = [b for b in bundles if b.effective_from <= at]
    return max(started, key=lambda b: (b.effective_from, b.published_at), default=None)


def now_utc() -> datetime:
    """The wall clock, for ``published_at`` and a default ``effective_from``."""
    return datetime.now(UTC)
