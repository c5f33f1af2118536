"""The projector: reads the output topics by manual assignment and feeds the read model.

It is no member of the workers' consumer group (nor of any group): it assigns itself
every partition of ``grid.dispositions``, ``grid.events.dlq`` and ``grid.metrics`` and
seeks to the positions stored with the rows, so a restart resumes where the last
committed batch ended and ``--rebuild`` (positions cleared) starts from offset 0.

Lag uses the high watermark the fetches report, never ``end_offsets()``: the embedded
broker answers ListOffsets wrongly across batches (see docs/api.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from gridflow.api import db
from gridflow.api.projection import (
    Applied,
    OutputTopics,
    Record,
    apply_batch,
    apply_batch_sync,
    load_positions,
)
from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs, on_embedded_broker
from gridflow.runtime.fetch_holes import FetchHoles

log = logging.getLogger("gridflow.api.projector")


class Projector:
    """Consume → apply in one transaction → notify; ``lag`` and ``caught_up_at`` for /readyz."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        topics: OutputTopics,
        on_applied: Callable[[Applied], None] | None = None,
        max_records: int = 2000,
        interval_s: float = 0.0,
    ) -> None:
        """``interval_s``: least time between two transactions unless one was full."""
        self.settings = settings
        self.interval_s = interval_s
        #: SQLite: each batch's transaction runs whole in a thread on this engine
        self._thread_engine = db.make_thread_engine(engine)
        self.engine = engine
        self.topics = topics
        self.on_applied = on_applied
        self.max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._highwater: dict[TopicPartition, int] = {}
        #: the embedded broker's fetches can skip offsets (docs/PITFALLS.md); set at start
        self.holes = FetchHoles(enabled=False, name="projection ")
        #: monotonic time when the projection last had no lag (None: never yet).
        self.caught_up_at: float | None = None
        self.applied_records = 0
        self.failed: BaseException | None = None

    @property
    def lag(self) -> int:
        """Records on the output topics not yet in the read model (by fetch high watermarks)."""
        return sum(max(0, self._highwater.get(tp, 0) - pos) for tp, pos in self._positions.items())

    def caught_up_within(self, seconds: float) -> bool:
        if self.lag == 0 and self.caught_up_at is not None:
            return True
        return self.caught_up_at is not None and time.monotonic() - self.caught_up_at <= seconds

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_kwargs(self.settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        self._consumer = consumer
        self.holes.enabled = await on_embedded_broker(self.settings)
        names = (self.topics.dispositions, self.topics.dlq, self.topics.metrics)
        tps: list[TopicPartition] = []
        for name in names:
            parts: set[int] | None = None
            for _ in range(50):  # metadata for a topic created a moment ago may lag
                parts = consumer.partitions_for_topic(name)
                if parts:
                    break
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.1)
            if not parts:
                raise RuntimeError(f"topic {name} does not exist (run 'gridflow topics create')")
            tps.extend(TopicPartition(name, p) for p in sorted(parts))
        consumer.assign(tps)
        async with self.engine.connect() as conn:
            stored = await load_positions(conn)
        for tp in tps:
            offset = stored.get((tp.topic, tp.partition), 0)
            consumer.seek(tp, offset)
            self.holes.expect(tp, offset)
            self._positions[tp] = offset
        self._task = asyncio.create_task(self._run(), name="gridflow-api-projector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._thread_engine is not None:
            self._thread_engine.dispose()
        if self._consumer is not None:
            # A fetch in flight may end in CancelledError at shutdown: nothing to keep.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._consumer.stop()

    async def _apply(self, records: list[Record]) -> Applied:
        if self._thread_engine is not None:
            return await asyncio.to_thread(self._apply_in_thread, records)
        async with self.engine.begin() as conn:
            return await apply_batch(conn, self.topics, records)

    def _apply_in_thread(self, records: list[Record]) -> Applied:
        assert self._thread_engine is not None
        with self._thread_engine.begin() as conn:
            return apply_batch_sync(conn, self.topics, records)

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while True:
            try:
                started = time.monotonic()
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                self.holes.cut(consumer, batches)
                records = [
                    Record(tp.topic, tp.partition, msg.offset, msg.value)
                    for tp, msgs in batches.items()
                    for msg in msgs
                ]
                for tp in self._positions:
                    hw = consumer.highwater(tp)
                    if hw is not None:
                        self._highwater[tp] = hw
                if records:
                    applied = await self._apply(records)
                    for rec in records:
                        tp = TopicPartition(rec.topic, rec.partition)
                        self._positions[tp] = max(self._positions[tp], rec.offset + 1)
                    self.applied_records += len(records)
                    if self.on_applied is not None:
                        self.on_applied(applied)
                if self.lag == 0:
                    self.caught_up_at = time.monotonic()
                if records and len(records) < self.max_records:
                    # Let the next records gather (a full batch means a backlog: no pause).
                    # Off by default: see GRIDFLOW_API_PROJECTION_INTERVAL_MS in docs/api.md.
                    pause = started + self.interval_s - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The transaction rolled back: seek back to the stored positions and retry.
                self.failed = exc
                log.exception("projection batch failed; retrying from the stored positions")
                for tp, pos in self._positions.items():
                    consumer.seek(tp, pos)
                    self.holes.expect(tp, pos)
                await asyncio.sleep(1.0)
