"""Reads the input topics for the partitions Faust assigned to this worker.

Faust still decides which partitions a worker owns (its consumer group, the case table's
active partitions, changelog recovery, standbys). The records themselves are read here
with a plain aiokafka consumer, for two measured reasons:

- In the chaos drill Faust's fetch loop skipped records around rebalances (it advances
  its read offset past records whose delivery a flow suspension interrupted) and its
  commit bookkeeping could then commit over them: events were lost. Patching each path
  found one more.
- Faust's per-record delivery (fetcher → conductor → channel → stream → buffer → ack)
  costs ~170 µs of CPU per record, more than the domain work (bench/README.md).

Read positions are not committed to a consumer group: the batch handler stores them as
rows of the case table, on the same changelog partition as the state they produced and
after it. Whatever survives a crash, the position never runs ahead of the state, so a
restart or a new owner resumes where the state ends and a replay is recognised by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from agents.records import InRecord

log = logging.getLogger("gridflow.reader")

#: Table keys of read positions start with this; region codes are digits only.
POSITION_PREFIX = b"~pos/"

#: (topic, partition) -> next offset to read.
Positions = dict[tuple[str, int], int]
BatchHandler = Callable[[list[InRecord], Positions], Awaitable[None]]
PositionLookup = Callable[[str, int], int | None]


def position_key(topic: str, partition: int) -> bytes:
    """The case-table key holding the next offset to read of ``topic[partition]``."""
    return POSITION_PREFIX + f"{topic}/{partition}".encode()


def is_position_key(key: bytes) -> bool:
    """True for read-position rows, which share the case table with region rows."""
    return key.startswith(POSITION_PREFIX)


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """Lag and time since the position was last stored, for one owned input partition."""

    topic: str
    partition: int
    lag: int
    stored_age_s: float


class InputReader:
    """One aiokafka consumer, manually assigned to the owned partitions of the inputs.

    ``assign`` and ``revoke`` are driven by Faust's rebalance signals; reading starts only
    when ``may_read(generation)`` says the assignment's table partitions are recovered.
    Every batch is handed over under a lock, so ``revoke`` and ``stop`` return only after
    the batch in flight is fully delivered.
    """

    def __init__(
        self,
        *,
        client: Mapping[str, Any],
        topics: Sequence[str],
        handle: BatchHandler,
        read_position: PositionLookup,
        may_read: Callable[[int], bool],
        batch_max: int = 2000,
        fetch_max_wait_ms: int = 50,
        client_id: str = "gridflow-inputs",
    ) -> None:
        self._client = dict(client)
        self.topics = tuple(topics)
        self._handle = handle
        self._read_position = read_position
        self._may_read = may_read
        self.batch_max = batch_max
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._pending: tuple[frozenset[int], int] | None = None
        self._owned: frozenset[int] | None = None
        self._position: dict[TopicPartition, int] = {}
        self._stored_at: dict[TopicPartition, float] = {}
        self._stopping = False
        self.batches = 0
        self.records = 0

    # ------------------------------------------------------------ ownership
    @property
    def owned(self) -> frozenset[int] | None:
        """Partitions being read now (None: nothing, e.g. during a rebalance)."""
        return self._owned

    def assign(self, partitions: set[int] | frozenset[int], generation: int) -> None:
        """Faust assigned these partitions; read them once their state is recovered."""
        self._pending = (frozenset(partitions), generation)
        self._changed.set()

    async def revoke(self) -> None:
        """Stop reading; returns after the batch in flight is delivered."""
        self._pending = None
        async with self._lock:
            self._owned = None
            self._position.clear()
            self._stored_at.clear()
            if self._consumer is not None:
                self._consumer.assign([])
        self._changed.set()

    async def stop(self) -> None:
        """Finish the batch in flight and stop the consumer."""
        self._stopping = True
        self._changed.set()
        async with self._lock:
            self._owned = None
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    # -------------------------------------------------------------- reading
    async def run(self) -> None:
        """Read and hand over batches until :meth:`stop`."""
        consumer = AIOKafkaConsumer(
            **self._client,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            client_id=self._client_id,
        )
        await consumer.start()
        self._consumer = consumer
        failures = 0
        while not self._stopping:
            pending = self._pending
            if pending is not None and self._may_read(pending[1]):
                async with self._lock:
                    if self._pending is pending:
                        await self._take(pending[0])
            if not self._owned:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)
                continue
            try:
                async with self._lock:
                    if self._owned and self._consumer is not None:
                        await self._read_once(self._consumer)
                failures = 0
            except KafkaError as exc:
                failures += 1
                delay = min(0.1 * 2**failures, 5.0)
                log.warning("reading the inputs failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def _take(self, partitions: frozenset[int]) -> None:
        """Assign the consumer and seek every partition to its stored position."""
        assert self._consumer is not None
        self._pending = None
        tps = [TopicPartition(t, p) for t in self.topics for p in sorted(partitions)]
        self._consumer.assign(tps)
        self._position.clear()
        now = time.monotonic()
        start: list[TopicPartition] = []
        for tp in tps:
            offset = self._read_position(tp.topic, tp.partition)
            if offset is None:
                start.append(tp)
            else:
                self._consumer.seek(tp, offset)
                self._position[tp] = offset
            self._stored_at[tp] = now
        if start:
            await self._consumer.seek_to_beginning(*start)
        self._owned = partitions
        log.info(
            "reading partitions %s of %s",
            sorted(partitions),
            ", ".join(self.topics),
            extra={
                "positions": {f"{tp.topic}[{tp.partition}]": o for tp, o in self._position.items()}
            },
        )

    async def _read_once(self, consumer: AIOKafkaConsumer) -> None:
        data = await consumer.getmany(timeout_ms=self.fetch_max_wait_ms, max_records=self.batch_max)
        if not data:
            return
        records: list[InRecord] = []
        positions: Positions = {}
        for tp, messages in data.items():
            for m in messages:
                records.append(
                    InRecord(m.topic, m.partition, m.offset, m.timestamp / 1000.0, m.key, m.value)
                )
            positions[(tp.topic, tp.partition)] = messages[-1].offset + 1
        try:
            await self._handle(records, positions)
        except Exception:
            # The handler delivers everything or raises before storing positions: read the
            # batch again from where its state ends rather than skip it.
            log.exception("a batch of %d records failed; reading it again", len(records))
            for tp in data:
                stored = self._position.get(tp)
                if stored is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, stored)
            await asyncio.sleep(1.0)
            return
        now = time.monotonic()
        for tp, messages in data.items():
            self._position[tp] = messages[-1].offset + 1
            self._stored_at[tp] = now
        self.batches += 1
        self.records += len(records)

    # ------------------------------------------------------------ observing
    def progress(self) -> list[PartitionProgress]:
        """Lag (from the fetch high watermark) and stored-position age per owned partition."""
        consumer = self._consumer
        if consumer is None or not self._owned:
            return []
        now = time.monotonic()
        out: list[PartitionProgress] = []
        for tp, stored_at in list(self._stored_at.items()):
            try:
                high = consumer.highwater(tp)
            except Exception:  # unassigned meanwhile
                continue
            position = self._position.get(tp, 0)
            lag = max(0, (high or 0) - position) if high is not None else 0
            out.append(PartitionProgress(tp.topic, tp.partition, lag, now - stored_at))
        return out
