"""Reads the input topics for the partitions Faust assigned to this worker, replayably.

Faust still decides which partitions a worker owns (its consumer group, the case table's
active partitions, changelog recovery, standbys). The records themselves are read here
with a plain aiokafka consumer, for two measured reasons:

- In the chaos drill Faust's fetch loop skipped records around rebalances (it advances
  its read offset past records whose delivery a flow suspension interrupted) and its
  commit bookkeeping could then commit over them: events were lost.
- Faust's per-record delivery (fetcher → conductor → channel → stream → buffer → ack)
  costs ~170 µs of CPU per record, more than the domain work (tools/bench/README.md).

Where each batch starts, what is journaled before its outputs go out and how an
unfinished batch is replayed is the checkpoint protocol, kept in one place:
:mod:`gridflow.runtime.checkpoint`. This module fetches the records and drives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from gridflow.runtime.checkpoint import (
    POSITION_PREFIX,
    BatchHandler,
    Checkpoint,
    RowLookup,
    Rows,
    RowStore,
    build_batch,
    exit_undelivered,
)
from gridflow.runtime.exactly_once import PartitionTransactions, TransactionalCheckpoint
from gridflow.runtime.fetch_holes import FetchHoles

log = logging.getLogger("gridflow.reader")


class RulesSource(Protocol):
    """Where a batch's rules come from (:class:`gridflow.runtime.rules_follower.RulesFollower`)."""

    async def catch_up(self) -> int:
        """Read every published bundle; return the position read to."""

    def pin(self, position: int | None) -> None:
        """Decide with the bundles published before ``position`` (None: all read)."""


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
        gather_ms: int = 0,
        client_id: str = "gridflow-inputs",
        clock: Callable[[], float] = time.time,
        on_fatal: Callable[[], None] = exit_undelivered,
        transactions: PartitionTransactions | None = None,
        max_skew_s: float = 300.0,
        rules: RulesSource | None = None,
        holes: FetchHoles | None = None,
    ) -> None:
        """``rules``: hot reload; each batch is decided by the bundles read before it.

        ``holes``: the embedded broker's fetches that skip offsets (fetch_holes.py).

        ``gather_ms``: the least time between the starts of two fetches that found
        records (``GRIDFLOW_INPUT_GATHER_MS``; 0: fetch again as soon as a batch is done).
        """
        self._holes = holes or FetchHoles(enabled=False)
        self._client = dict(client)
        self._rules = rules
        self.topics = tuple(topics)
        steps: dict[str, Any] = {
            "handle": handle,
            "store": store,
            "read_row": read_row,
            "on_stored": self._stored,
            "on_fatal": on_fatal,
        }
        #: exactly-once (gridflow/runtime/exactly_once.py): a transaction per partition
        self._transactions = transactions
        self.checkpoint = (
            Checkpoint(**steps)
            if transactions is None
            else TransactionalCheckpoint(transactions, **steps)
        )
        self._may_read = may_read
        self.batch_max = batch_max
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.gather_s = gather_ms / 1000.0
        #: time.monotonic() at the start of the last fetch that found records
        self._found_at: float | None = None
        self._client_id = client_id
        self._clock = clock
        self.max_skew_s = max_skew_s
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
        """Stop reading; returns after the batch in flight is processed and stored."""
        self._pending = None
        async with self._lock:
            await self.checkpoint.flush()
            self._owned = None
            self._position.clear()
            self._holes.forget()
            self._stored_at.clear()
            if self._consumer is not None:
                self._consumer.assign([])
        self._changed.set()

    async def stop(self) -> None:
        """Finish and store the batch in flight, then stop the consumer."""
        self._stopping = True
        self._changed.set()
        async with self._lock:
            await self.checkpoint.flush()
            self._owned = None
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if self._transactions is not None:
            with contextlib.suppress(Exception):
                await self._transactions.close()

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
            # The commands topic is written in transactions under exactly-once.
            isolation_level="read_committed" if self._transactions else "read_uncommitted",
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
                if await self._gather():
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
        if self._rules is not None:
            # Before the assignment is taken: on a broker error it is retried as a whole.
            await self._rules.catch_up()
        self._pending = None
        self._position.clear()
        now = time.monotonic()
        if self._transactions is not None:
            await self._transactions.own(partitions)
        for partition in sorted(partitions):
            await self._finish_journal(consumer, partition)
        tps = [TopicPartition(t, p) for t in self.topics for p in sorted(partitions)]
        consumer.assign(tps)
        start: list[TopicPartition] = []
        for tp in tps:
            offset = self._stored_position(tp)
            if offset is None:
                start.append(tp)
                self._holes.forget(tp)
            else:
                consumer.seek(tp, offset)
                self._holes.expect(tp, offset)
                self._position[tp] = offset
            self._stored_at[tp] = now
        if start:
            await consumer.seek_to_beginning(*start)
            if self._holes.enabled:
                # Where the log starts, so that a hole at its very beginning is seen too.
                for tp in start:
                    with contextlib.suppress(KafkaError):
                        self._holes.expect(tp, await consumer.position(tp))
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
        return self.checkpoint.stored_position(tp.topic, tp.partition)

    async def _finish_journal(self, consumer: AIOKafkaConsumer, partition: int) -> None:
        """Replay the partition's last journaled batch if its positions were not stored."""
        journal = self.checkpoint.unfinished(partition)
        if journal is None:
            return
        # The whole batch again, not only the topics whose position is missing: the
        # records' order in the batch is part of what must repeat.
        todo = {
            TopicPartition(topic, partition): (start, journal.end[topic])
            for topic, start in journal.start.items()
        }
        fetched = await self._fetch_ranges(consumer, todo)
        batch = build_batch(fetched, self.topics, journal.now, self.max_skew_s)
        if self._rules is not None:
            # The rules the first run was decided by: every bundle read before it (all
            # read in _take), none after.
            self._rules.pin(journal.rules)
            batch.decided_under(journal.rules)
        log.warning(
            "partition %d: replaying its unfinished batch (%d records, clock %.3f)",
            partition,
            len(batch.records),
            journal.now,
        )
        await self.checkpoint.replay(batch)

    @property
    def replayed_batches(self) -> int:
        """Journaled batches replayed since this reader started."""
        return self.checkpoint.replayed_batches

    async def _fetch_ranges(
        self, consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> dict[TopicPartition, list[Any]]:
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
            self._holes.expect(tp, start)
        out: dict[TopicPartition, list[Any]] = {tp: [] for tp in ranges}
        waiting = {tp for tp, (start, end) in ranges.items() if end > start}
        deadline = time.monotonic() + 60.0
        while waiting and time.monotonic() < deadline:
            data = await consumer.getmany(*waiting, timeout_ms=200, max_records=self.batch_max)
            self._holes.cut(consumer, data)
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

    async def _gather(self) -> bool:
        """Wait out the gathering interval; True when assign, revoke or stop ended it.

        Gathering only moves batch boundaries: which records share a batch. The checkpoint
        protocol already lets a batch be any run of fetched records, since each batch is
        journaled with its own offset ranges, clock and rules position and a replay repeats
        exactly that batch (:mod:`gridflow.runtime.checkpoint`, its docstring's steps and
        invariants), so no decision and no output byte depends on where a batch ends. SLA
        ticks arrive as records of the commands topic and are gathered like any other
        record: at most this interval later. The wait is outside the lock and ends at once
        on ``assign``, ``revoke`` and ``stop``, so rebalances and shutdown are not delayed.
        """
        if self._found_at is None or self.gather_s <= 0:
            return False
        left = self._found_at + self.gather_s - time.monotonic()
        if left <= 0:
            return False
        self._changed.clear()
        if self._stopping or self._pending is not None:
            # Not waiting: an assignment still recovering must not make this loop spin.
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), left)
        return self._changed.is_set()

    async def _cycle(self, consumer: AIOKafkaConsumer) -> None:
        started = time.monotonic()
        if self.gather_s > 0 and (paused := consumer.paused()):
            consumer.resume(*paused)
        data = await consumer.getmany(timeout_ms=self.fetch_max_wait_ms, max_records=self.batch_max)
        if data and self.gather_s > 0:
            self._found_at = started
            # aiokafka prefetches: with the partitions left fetchable its next fetch goes
            # out now and is answered with the first records to arrive (the embedded
            # broker: only when its fetch wait is over), and those would be the next
            # batch. Paused (no await since getmany, so before the fetcher task runs
            # again) the records wait in the broker and the fetch after the interval
            # takes all of them.
            consumer.pause(*consumer.assignment())
        self._holes.cut(consumer, data)
        if not data:
            await self.checkpoint.flush()
            return
        batch = build_batch(data, self.topics, self._clock(), self.max_skew_s)
        if self._rules is not None:
            # After the fetch: a bundle published before any of these records reached
            # the broker is read now, so its switch instant is never behind a decision.
            try:
                position = await self._rules.catch_up()
            except BaseException:
                # The batch is not decided: fetch it again once grid.rules answers.
                for tp, messages in data.items():
                    if messages:
                        consumer.seek(tp, messages[0].offset)
                        self._holes.expect(tp, messages[0].offset)
                raise
            self._rules.pin(position)
            batch.decided_under(position)
        await self.checkpoint.run(batch)
        for tp, messages in data.items():
            if messages:
                self._position[tp] = messages[-1].offset + 1
        self.batches += 1
        self.records += len(batch.records)

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
