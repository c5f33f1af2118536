"""The worker's reader of ``grid.silences``: every record into a :class:`SilenceBook`.

A decision must not depend on when a worker happened to read a silence, or a journal
replay after a crash would decide differently. The book makes every revision take effect
:data:`~gridflow.core.silences.SILENCE_LEAD_S` after the broker appended it; this reader
says up to which instant it has read *everything* (``complete_at``: the wall-clock
instant of an end-offset query whose offsets it has since reached), and the worker
waits, before it decides a batch, until that instant is no more than the lead behind the
batch's newest record (:meth:`SilenceReader.wait_complete`). Every revision in force for
the batch's records is then in the book, on the first run as on a replay.

Kept small and separate from the input reader: the topic has one partition, every
worker reads all of it with no consumer group, and nothing is committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from gridflow.core.silences import SilenceBook
from schemas.silence import Silence

log = logging.getLogger("gridflow.silences")

__all__ = ["SilenceReader", "apply_record"]


def apply_record(book: SilenceBook, key: bytes | None, value: bytes | None, ts: float) -> bool:
    """Put one ``grid.silences`` record into ``book``; False (logged) when it is unreadable."""
    if value is None:  # a tombstone: the silence was withdrawn
        if key:
            book.delete(key.decode("utf-8", "replace"), ts)
        return True
    try:
        silence = Silence.model_validate_json(value)
    except ValidationError as exc:
        # Writers validate with the same model; a bad record is skipped, not fatal.
        log.error("unreadable silence record (key %r): %s", key, exc.errors()[:1])
        return False
    book.put(silence, ts)
    return True


class SilenceReader:
    """Reads ``topic`` from its beginning into ``book`` for as long as the worker runs."""

    def __init__(
        self,
        client: dict[str, Any],
        topic: str,
        book: SilenceBook,
        *,
        client_id: str,
        poll_s: float = 1.0,
        on_change: Callable[[SilenceBook], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self.topic = topic
        self.book = book
        self._client_id = client_id
        self._poll_ms = int(poll_s * 1000)
        self._on_change = on_change
        self._clock = clock
        #: everything appended before this wall-clock instant has been read (0: nothing yet).
        self.complete_at = 0.0
        self._progress = asyncio.Condition()
        self._consumer: AIOKafkaConsumer | None = None
        self._stopped = False

    async def run(self) -> None:
        """Read until :meth:`stop`; a broker error is logged and the read retried."""
        while not self._stopped:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopped:
                    return
                log.exception("reading %s failed; retrying", self.topic)
                await self._close()
                await asyncio.sleep(1.0)

    async def _read(self) -> None:
        consumer = self._consumer = AIOKafkaConsumer(
            **self._client,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
            # Short: a fetch sent before the partitions are paused holds the first
            # ListOffsets back by this much (the read loop polls by sleeping instead).
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        parts = [
            TopicPartition(self.topic, p)
            for p in sorted(consumer.partitions_for_topic(self.topic) or {0})
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        # Paused between reads: a background fetch long-polling on the connection holds
        # every ListOffsets request back by its wait, which made a worker's first batch
        # wait ~1.4 s for this reader (the bench's throughput fell by half); the rules
        # follower pauses for the same reason.
        consumer.pause(*parts)
        # A reconnect reads every revision again; the book ignores the ones it has, and
        # keeps deciding with them meanwhile.
        while not self._stopped:
            started = self._clock()
            ends = await consumer.end_offsets(parts)
            if await self._behind(consumer, ends):
                consumer.resume(*parts)
                try:
                    while await self._behind(consumer, ends):
                        self._apply(await consumer.getmany(*parts, timeout_ms=self._poll_ms))
                finally:
                    consumer.pause(*parts)
            async with self._progress:
                self.complete_at = started
                self._progress.notify_all()
            # Silences change a few times a day: ask for the end offsets once a poll.
            await asyncio.sleep(self._poll_ms / 1000)

    @staticmethod
    async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return True
        return False

    def _apply(self, batches: dict[TopicPartition, list[Any]]) -> None:
        changed = False
        for records in batches.values():
            for record in records:
                apply_record(self.book, record.key, record.value, record.timestamp / 1000.0)
                changed = True
        if changed and self._on_change is not None:
            self._on_change(self.book)

    async def wait_complete(self, at: float, warn_after_s: float = 10.0) -> None:
        """Return once everything appended before ``at`` (epoch s) has been read."""
        if self.complete_at >= at:
            return
        waited = 0.0
        async with self._progress:
            while self.complete_at < at:
                if self._stopped:
                    raise RuntimeError(f"{self.topic} reader stopped before it caught up")
                try:
                    await asyncio.wait_for(self._progress.wait(), timeout=1.0)
                except TimeoutError:
                    waited += 1.0
                    if waited % warn_after_s == 0:
                        log.warning(
                            "waiting %.0f s for %s to be read up to %.3f before deciding",
                            waited,
                            self.topic,
                            at,
                        )

    async def stop(self) -> None:
        """Stop reading; a waiter gets an error instead of waiting for ever."""
        self._stopped = True
        await self._close()
        async with self._progress:
            self._progress.notify_all()

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await consumer.stop()
            except Exception:
                log.debug("closing the %s consumer failed", self.topic, exc_info=True)
