"""Read topics the way an operator needs: every partition assigned by hand, no group.

A consumer group would take partitions away from the workers (or get some of theirs),
and committed offsets would move their read positions: on-call reading must never touch
the processing. So the reader assigns every partition itself, seeks, and commits nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition

from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs
from gridflow.ops.errors import OpsError

#: Called with (records read so far, records to read) while reading to the end.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """One record as read, with where it sits."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def where(self) -> str:
        """``topic/partition/offset``: how a record is named in headers and messages."""
        return f"{self.topic}/{self.partition}/{self.offset}"

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name``, or ``None``."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


def require_bootstrap(settings: Settings) -> None:
    """Refuse to guess a broker: on-call commands read an existing deployment."""
    if not settings.kafka_bootstrap:
        raise OpsError(
            "GRIDFLOW_KAFKA_BOOTSTRAP is not set: point it at the deployment's brokers "
            "(the embedded one prints its address: gridflow broker)"
        )


class TopicReader:
    """A group-less consumer over every partition of some topics."""

    def __init__(self, settings: Settings, topics: Sequence[str]) -> None:
        require_bootstrap(settings)
        self.settings = settings
        self.topics = tuple(topics)
        self.partitions: list[TopicPartition] = []
        self._consumer = AIOKafkaConsumer(
            **client_kwargs(settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            client_id=f"{settings.app_id}-ops",
        )

    async def __aenter__(self) -> TopicReader:
        try:
            await self._consumer.start()
            await self._consumer._client.force_metadata_update()
            for topic in self.topics:
                found = self._consumer.partitions_for_topic(topic)
                if not found:
                    raise OpsError(
                        f"topic {topic} does not exist on {self.settings.kafka_bootstrap} "
                        "(create it with: gridflow topics create)"
                    )
                self.partitions += [TopicPartition(topic, p) for p in sorted(found)]
            self._consumer.assign(self.partitions)
        except BaseException:
            await self._consumer.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._consumer.stop()

    async def seek(self, since: datetime | None = None, *, from_end: bool = False) -> None:
        """Start at the beginning, at the first record at or after ``since``, or at the end."""
        consumer = self._consumer
        if from_end:
            await consumer.seek_to_end(*self.partitions)
            return
        if since is None:
            await consumer.seek_to_beginning(*self.partitions)
            return
        found = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in self.partitions}
        )
        ends = await consumer.end_offsets(self.partitions)
        for tp in self.partitions:
            hit = found.get(tp)
            consumer.seek(tp, hit.offset if hit is not None else ends[tp])

    async def _batch(self) -> list[TopicRecord]:
        batches = await self._consumer.getmany(timeout_ms=200, max_records=2000)
        return [
            TopicRecord(
                m.topic,
                m.partition,
                m.offset,
                m.timestamp,
                m.key,
                m.value,
                tuple((k, bytes(v)) for k, v in (m.headers or ())),
            )
            for msgs in batches.values()
            for m in msgs
        ]

    async def to_end(self, progress: Progress | None = None) -> AsyncIterator[TopicRecord]:
        """Every record from the current positions up to the end as it was on the call."""
        consumer = self._consumer
        ends = await consumer.end_offsets(self.partitions)
        starts = {tp: await consumer.position(tp) for tp in self.partitions}
        total = sum(max(0, ends[tp] - starts[tp]) for tp in self.partitions)
        done = 0
        pending = {tp for tp in self.partitions if starts[tp] < ends[tp]}
        if progress:
            progress(0, total)
        while pending:
            for record in await self._batch():
                tp = TopicPartition(record.topic, record.partition)
                if record.offset < ends[tp]:
                    done += 1
                    yield record
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if progress:
                progress(done, total)

    async def follow(self) -> AsyncIterator[TopicRecord]:
        """Every record from the current positions on, waiting for new ones forever."""
        while True:
            records = await self._batch()
            for record in records:
                yield record
            if not records:
                await asyncio.sleep(0)
