"""Follows ``grid.rules`` into a :class:`RulesTimeline`: hot reload without a restart.

The input reader calls :meth:`RulesFollower.catch_up` after fetching a batch and before
deciding it: it reads the topic to its end, loads every new publication (a bundle that
fails to load is refused: logged, counted, the worker keeps what it has) and returns the
position read to, which the batch journals and is decided under (see the timeline's
docstring for why this makes every worker, and a replay, decide alike).

``grid.rules`` has one partition and each publication is one produce request of one
record, so its end offset is right even on the embedded broker, whose ListOffsets is
wrong only across multi-record batches (docs/PITFALLS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaTimeoutError
from pydantic import ValidationError

from gridflow.runtime.rules_timeline import Refused, RulesTimeline, Switch
from schemas import RulesBundle

__all__ = ["RulesFollower"]

log = logging.getLogger("gridflow.rules")

#: A bundle holds the division tree (~0.7 MB of CSV); fetches must fit one.
_MAX_FETCH = 16 * 1024 * 1024


class RulesFollower:
    """Reads ``grid.rules`` into ``timeline``; ``on_refused(version, reason)`` counts refusals."""

    def __init__(
        self,
        *,
        client: Mapping[str, Any],
        topic: str,
        timeline: RulesTimeline,
        on_refused: Callable[[str, str], None] = lambda version, reason: None,
        on_switch: Callable[[Switch], None] = lambda switch: None,
        client_id: str = "gridflow-rules",
        timeout_s: float = 30.0,
        keep_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``keep_s``: forget switches superseded longer ago than this (None: never)."""
        self._client = dict(client)
        self.topic = topic
        self.timeline = timeline
        self._on_refused = on_refused
        self._on_switch = on_switch
        self._client_id = client_id
        self._timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._tp = TopicPartition(topic, 0)
        self._keep_s = keep_s
        self._clock = clock
        self._pruned_at = float("-inf")

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **self._client,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=50,
                client_id=self._client_id,
                fetch_max_bytes=_MAX_FETCH,
                max_partition_fetch_bytes=_MAX_FETCH,
            )
            await consumer.start()
            consumer.assign([self._tp])
            consumer.seek(self._tp, self.timeline.position)
            # Paused between catch-ups: a background fetch long-polling on the connection
            # would hold every ListOffsets request back by fetch_max_wait_ms (measured:
            # 52 ms per batch instead of ~1 ms).
            consumer.pause(self._tp)
            self._consumer = consumer
        return self._consumer

    async def catch_up(self) -> int:
        """Read ``grid.rules`` to its end; return the position read to (the next offset)."""
        consumer = await self._started()
        self._maybe_prune()
        end = (await consumer.end_offsets([self._tp]))[self._tp]
        if self.timeline.position >= end:
            return self.timeline.position
        deadline = time.monotonic() + self._timeout_s
        consumer.resume(self._tp)
        try:
            while self.timeline.position < end:
                if time.monotonic() > deadline:
                    # A KafkaError: the reader retries the batch's fetch after a pause.
                    raise KafkaTimeoutError(
                        f"{self.topic}: not read to offset {end} within {self._timeout_s:g} s"
                    )
                batches = await consumer.getmany(self._tp, timeout_ms=200)
                for record in batches.get(self._tp, []):
                    await self._take(record)
        finally:
            consumer.pause(self._tp)
        return self.timeline.position

    def _maybe_prune(self) -> None:
        now = self._clock()
        if self._keep_s is None or now - self._pruned_at < 60.0:
            return
        self._pruned_at = now
        dropped = self.timeline.prune(now - self._keep_s)
        if dropped:
            log.info(
                "forgot %d rules switch(es) superseded before the dedup memory",
                dropped,
                extra={"loaded": list(self.timeline.loaded_versions)},
            )

    async def _take(self, record: Any) -> None:
        key = (record.key or b"").decode("utf-8", "replace")
        if record.value is None:
            self.timeline.publication(record.offset, None, key, record.timestamp / 1000.0)
            log.info("rules version %s withdrawn (tombstone at offset %d)", key, record.offset)
            return
        try:
            bundle = RulesBundle.model_validate_json(record.value)
        except ValidationError as exc:
            # Not a bundle at all: nothing to load; the position moves past it.
            self.timeline.position = max(self.timeline.position, record.offset + 1)
            self._refused(key or "?", f"not a rules bundle: {exc.errors()[0]['msg']}", record)
            return
        # Loading parses a whole rules directory and division tree (seconds): off the loop.
        taken = await asyncio.to_thread(
            self.timeline.publication, record.offset, bundle, key, record.timestamp / 1000.0
        )
        if isinstance(taken, Refused):
            self._refused(taken.version, taken.reason, record)
        elif isinstance(taken, Switch):
            log.info(
                "rules version %s (%s) takes effect at %s",
                taken.version,
                taken.label,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(taken.effective)),
                extra={"offset": taken.offset, "effective": taken.effective},
            )
            self._on_switch(taken)

    def _refused(self, version: str, reason: str, record: Any) -> None:
        current, label = self.timeline.in_force(time.time())
        log.error(
            "rules version %s refused at %s offset %d: %s; keeping %s (%s)",
            version,
            self.topic,
            record.offset,
            reason,
            current,
            label,
        )
        self._on_refused(version, reason)

    def pin(self, position: int | None) -> None:
        """Decide the next records with the publications before ``position`` only."""
        self.timeline.pin(position)

    async def stop(self) -> None:
        """Stop the consumer (a later :meth:`catch_up` starts it again)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
