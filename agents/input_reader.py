"""Reads the input topics for the partitions Faust assigned to this worker, replayably.

Faust still decides which partitions a worker owns (its consumer group, the case table's
active partitions, changelog recovery, standbys). The records themselves are read here
with a plain aiokafka consumer, for two measured reasons:

- In the chaos drill Faust's fetch loop skipped records around rebalances (it advances
  its read offset past records whose delivery a flow suspension interrupted) and its
  commit bookkeeping could then commit over them: events were lost.
- Faust's per-record delivery (fetcher → conductor → channel → stream → buffer → ack)
  costs ~170 µs of CPU per record, more than the domain work (bench/README.md).

Nothing is committed to a consumer group. Per partition, the case table (one changelog
partition, written in order) holds, besides the region rows:

- a **journal** row: the batch being processed (offset range per topic and the clock it
  was processed with), stored *before* its outputs are sent;
- **position** rows: where the next batch starts, stored *after* the batch's state.

Outputs go out before the state that remembers them, so a crash in between must not
change what a replay decides: a different interleaving of the three topics could merge
a report into another case than the one already announced (seen in the chaos drill as
one report in two cases). A new owner therefore replays an unfinished journaled batch
exactly: same records, same order, same clock. Regions whose row was already stored see
their records as duplicates; the others decide what they decided the first time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from agents.records import InRecord
from gridflow.core.compact_json import dumps_compact
from gridflow.core.record_clock import trusted_record_time

log = logging.getLogger("gridflow.reader")

#: Table keys of the reader's rows start with "~"; region codes are digits only.
POSITION_PREFIX = b"~pos/"
JOURNAL_PREFIX = b"~batch/"
#: Exit status when a batch could not be processed or stored (EX_TEMPFAIL: restart me).
EXIT_UNDELIVERED = 75

#: partition -> table rows in the order they must reach the changelog (None: delete).
Rows = dict[int, list[tuple[bytes, bytes | None]]]
#: (records in processing order, the clock to process them with) -> state rows, once
#: the batch's outputs are delivered.
BatchHandler = Callable[[list[InRecord], float], Awaitable[Rows]]
#: Writes rows to the table and its changelog; returns once they are delivered.
RowStore = Callable[[Rows], Awaitable[None]]
#: Reads one table row (as stored, or as Faust's recovery decoded it).
RowLookup = Callable[[bytes], Any]


def position_key(topic: str, partition: int) -> bytes:
    """The case-table key holding the next offset to read of ``topic[partition]``."""
    return POSITION_PREFIX + f"{topic}/{partition}".encode()


def journal_key(partition: int) -> bytes:
    """The case-table key holding the last batch begun on ``partition``."""
    return JOURNAL_PREFIX + str(partition).encode()


def is_position_key(key: bytes) -> bool:
    """True for the reader's own rows, which share the case table with region rows."""
    return key.startswith(b"~")


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return orjson.loads(bytes(value))
    if isinstance(value, str):
        return orjson.loads(value)
    return value


@dataclass(frozen=True, slots=True)
class Journal:
    """One batch of one partition: the offsets it spans and the clock it ran with."""

    now: float
    start: dict[str, int]
    end: dict[str, int]

    def to_bytes(self) -> bytes:
        """The journal row's value."""
        return dumps_compact({"now": self.now, "from": self.start, "to": self.end})

    @classmethod
    def parse(cls, value: Any) -> Journal:
        """From a stored row (bytes, or the dict Faust's recovery may hand back)."""
        doc = _decoded(value)
        return cls(
            float(doc["now"]),
            {str(k): int(v) for k, v in doc["from"].items()},
            {str(k): int(v) for k, v in doc["to"].items()},
        )


@dataclass(slots=True)
class Batch:
    """Records of one fetch in processing order, with their journals."""

    records: list[InRecord]
    now: float
    journals: dict[int, Journal] = field(default_factory=dict)

    def position_rows(self) -> Rows:
        """The positions after this batch, per partition."""
        rows: Rows = {}
        for partition, journal in self.journals.items():
            rows[partition] = [
                (position_key(topic, partition), str(end).encode())
                for topic, end in journal.end.items()
            ]
        return rows


def build_batch(
    fetched: Mapping[TopicPartition, Sequence[Any]],
    topics: Sequence[str],
    now: float,
    max_skew_s: float = 300.0,
) -> Batch:
    """Order fetched records canonically (topic in ``topics`` order, partition, offset).

    The order depends only on which records are in the batch, so a replay of the
    journaled offsets processes them exactly as the first time. Record timestamps are
    taken as ``trusted_record_time`` allows against the batch clock ``now``.
    """
    rank = {topic: i for i, topic in enumerate(topics)}
    batch = Batch(records=[], now=now)
    for tp in sorted(fetched, key=lambda tp: (rank.get(tp.topic, len(rank)), tp.partition)):
        messages = fetched[tp]
        if not messages:
            continue
        for m in messages:
            ts = trusted_record_time(m.timestamp / 1000.0, m.timestamp_type, now, max_skew_s)
            batch.records.append(InRecord(m.topic, m.partition, m.offset, ts, m.key, m.value))
        journal = batch.journals.get(tp.partition)
        if journal is None:
            journal = batch.journals[tp.partition] = Journal(now, {}, {})
        journal.start[tp.topic] = messages[0].offset
        journal.end[tp.topic] = messages[-1].offset + 1
    return batch


def merge_rows(*parts: Rows) -> Rows:
    """Concatenate row lists per partition, keeping the given order."""
    out: Rows = {}
    for part in parts:
        for partition, rows in part.items():
            out.setdefault(partition, []).extend(rows)
    return out


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """Lag and time since the position was last stored, for one owned input partition."""

    topic: str
    partition: int
    lag: int
    stored_age_s: float


def _exit_undelivered() -> None:
    os._exit(EXIT_UNDELIVERED)


class InputReader:
    """One aiokafka consumer, manually assigned to the owned partitions of the inputs.

    ``assign`` and ``revoke`` are driven by Faust's rebalance signals; reading starts only
    when ``may_read(generation)`` says the assignment's table partitions are recovered.
    Every batch runs under a lock, so ``revoke`` and ``stop`` return only after the
    batch in flight is processed and stored.
    """

    def __init__(
        self,
        *,
        client: Mapping[str, Any],
        topics: Sequence[str],
        handle: BatchHandler,
        store: RowStore,
        read_row: RowLookup,
        may_read: Callable[[int], bool],
        batch_max: int = 2000,
        fetch_max_wait_ms: int = 50,
        client_id: str = "gridflow-inputs",
        clock: Callable[[], float] = time.time,
        on_fatal: Callable[[], None] = _exit_undelivered,
        max_skew_s: float = 300.0,
    ) -> None:
        self._client = dict(client)
        self.topics = tuple(topics)
        self._handle = handle
        self._store = store
        self._read_row = read_row
        self._may_read = may_read
        self.batch_max = batch_max
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._client_id = client_id
        self._clock = clock
        self._on_fatal = on_fatal
        self.max_skew_s = max_skew_s
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._pending: tuple[frozenset[int], int] | None = None
        self._owned: frozenset[int] | None = None
        #: state and position rows of the last batch, not yet stored
        self._unstored: Rows = {}
        self._position: dict[TopicPartition, int] = {}
        self._stored_at: dict[TopicPartition, float] = {}
        self._stopping = False
        self.batches = 0
        self.records = 0
        self.replayed_batches = 0

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
        """Stop reading; returns after the batch in flight is processed and stored."""
        self._pending = None
        async with self._lock:
            await self._flush()
            self._owned = None
            self._position.clear()
            self._stored_at.clear()
            if self._consumer is not None:
                self._consumer.assign([])
        self._changed.set()

    async def stop(self) -> None:
        """Finish and store the batch in flight, then stop the consumer."""
        self._stopping = True
        self._changed.set()
        async with self._lock:
            await self._flush()
            self._owned = None
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    # -------------------------------------------------------------- reading
    async def run(self) -> None:
        """Read, process and store batches until :meth:`stop`."""
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
            try:
                pending = self._pending
                if pending is not None and self._may_read(pending[1]):
                    async with self._lock:
                        if self._pending is pending and self._consumer is not None:
                            await self._take(self._consumer, pending[0])
                if not self._owned:
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)
                    continue
                async with self._lock:
                    if self._owned and self._consumer is not None:
                        await self._cycle(self._consumer)
                failures = 0
            except KafkaError as exc:
                failures += 1
                delay = min(0.1 * 2**failures, 5.0)
                log.warning("reading the inputs failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def _take(self, consumer: AIOKafkaConsumer, partitions: frozenset[int]) -> None:
        """Assign the consumer, finish unfinished journaled batches, seek to positions."""
        self._pending = None
        self._position.clear()
        now = time.monotonic()
        for partition in sorted(partitions):
            await self._finish_journal(consumer, partition)
        tps = [TopicPartition(t, p) for t in self.topics for p in sorted(partitions)]
        consumer.assign(tps)
        start: list[TopicPartition] = []
        for tp in tps:
            offset = self._stored_position(tp)
            if offset is None:
                start.append(tp)
            else:
                consumer.seek(tp, offset)
                self._position[tp] = offset
            self._stored_at[tp] = now
        if start:
            await consumer.seek_to_beginning(*start)
        self._owned = partitions
        log.info(
            "reading partitions %s of %s",
            sorted(partitions),
            ", ".join(self.topics),
            extra={
                "positions": {f"{tp.topic}[{tp.partition}]": o for tp, o in self._position.items()}
            },
        )

    def _stored_position(self, tp: TopicPartition) -> int | None:
        value = self._read_row(position_key(tp.topic, tp.partition))
        if value is None:
            return None
        return int(_decoded(value))

    async def _finish_journal(self, consumer: AIOKafkaConsumer, partition: int) -> None:
        """Replay the partition's last journaled batch if its positions were not stored."""
        raw = self._read_row(journal_key(partition))
        if raw is None:
            return
        journal = Journal.parse(raw)
        finished = all(
            (self._stored_position(TopicPartition(topic, partition)) or 0) >= end
            for topic, end in journal.end.items()
        )
        if finished:
            return
        # The whole batch again, not only the topics whose position is missing: the
        # records' order in the batch is part of what must repeat.
        todo = {
            TopicPartition(topic, partition): (start, journal.end[topic])
            for topic, start in journal.start.items()
        }
        fetched = await self._fetch_ranges(consumer, todo)
        batch = build_batch(fetched, self.topics, journal.now, self.max_skew_s)
        log.warning(
            "partition %d: replaying its unfinished batch (%d records, clock %.3f)",
            partition,
            len(batch.records),
            journal.now,
        )
        state = await self._handle(batch.records, journal.now)
        await self._store(merge_rows(state, batch.position_rows()))
        self.replayed_batches += 1

    async def _fetch_ranges(
        self, consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> dict[TopicPartition, list[Any]]:
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        out: dict[TopicPartition, list[Any]] = {tp: [] for tp in ranges}
        waiting = {tp for tp, (start, end) in ranges.items() if end > start}
        deadline = time.monotonic() + 60.0
        while waiting and time.monotonic() < deadline:
            data = await consumer.getmany(*waiting, timeout_ms=200, max_records=self.batch_max)
            for tp, messages in data.items():
                end = ranges[tp][1]
                out[tp].extend(m for m in messages if m.offset < end)
                if messages and messages[-1].offset >= end - 1:
                    waiting.discard(tp)
            for tp in list(waiting):
                if await consumer.position(tp) >= ranges[tp][1]:
                    waiting.discard(tp)
        if waiting:
            log.error("could not read back the journaled records of %s", sorted(waiting))
        return out

    async def _cycle(self, consumer: AIOKafkaConsumer) -> None:
        data = await consumer.getmany(timeout_ms=self.fetch_max_wait_ms, max_records=self.batch_max)
        if not data:
            await self._flush()
            return
        batch = build_batch(data, self.topics, self._clock(), self.max_skew_s)
        journals: Rows = {p: [(journal_key(p), j.to_bytes())] for p, j in batch.journals.items()}
        try:
            # One write: the last batch's state and positions, then this batch's journal.
            await self._store(merge_rows(self._unstored, journals))
            self._stored(self._unstored)
            self._unstored = {}
            state = await self._handle(batch.records, batch.now)
        except Exception:
            log.critical("a batch could not be processed or stored; exiting", exc_info=True)
            self._on_fatal()
            raise
        self._unstored = merge_rows(state, batch.position_rows())
        for tp, messages in data.items():
            if messages:
                self._position[tp] = messages[-1].offset + 1
        self.batches += 1
        self.records += len(batch.records)

    async def _flush(self) -> None:
        if not self._unstored:
            return
        try:
            await self._store(self._unstored)
        except Exception:
            log.critical("a batch's state could not be stored; exiting", exc_info=True)
            self._on_fatal()
            raise
        self._stored(self._unstored)
        self._unstored = {}

    def _stored(self, rows: Rows) -> None:
        now = time.monotonic()
        for partition, items in rows.items():
            for key, _ in items:
                if key.startswith(POSITION_PREFIX):
                    topic = key[len(POSITION_PREFIX) :].decode().rpartition("/")[0]
                    self._stored_at[TopicPartition(topic, partition)] = now

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
