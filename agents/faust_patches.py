"""Settings and fixes Faust does not expose, applied from the project rather than a fork.

- Faust hard-codes the worker consumer's ``fetch_max_wait_ms=1500``; a broker then holds a
  fetch for up to that long when a partition is quiet, which alone puts p99 latency over a
  second (docs/PITFALLS.md). We lower it after Faust builds the consumer.
- Changelog recovery ends at the partition's end offset from ListOffsets. The embedded
  broker answers that wrong across produce batches (the last batch's base offset + 1), so
  recovery stopped up to a batch early and lost the newest rows of a region (seen in the
  chaos drill: a verified case recovered as resolved). On that broker only (the worker
  recognises it by its cluster id, ``gridflow.broker.TANSU_CLUSTER_IDS``) we correct each
  end offset with the high watermark of a fetch at that offset, which it reports right;
  on any other cluster ListOffsets is trusted as Faust does.
- Under exactly-once (gridflow/runtime/exactly_once.py) the changelog is transactional:
  recovery reads it ``read_committed`` and ends at the last committed row, not at the end
  offset (which counts commit markers no reader receives).
- The input topics are not read by Faust at all (gridflow/runtime/reader.py says why); the
  patches here concern only what Faust still reads: the commands topic for the table's
  assignment, and the changelog.
- Faust hands aiokafka its live set of active partitions to take fetched records of, and
  empties it at every rebalance (it pauses the whole assignment) until recovery resumes
  the changelog. aiokafka reads an empty set as "every partition": a fetch call still
  waiting from before the rebalance then took the changelog rows recovery had just
  sought back to, and Faust dropped them as not active. Recovery waited for rows already
  consumed, forever ("No event received for active tp", seen on Apache Kafka in two-worker
  tests). aiokafka now sees the live set through :class:`LivePartitions`, never empty.
- Faust declares its own topics at start (the assignor's leader topic) by asking the
  first broker of its metadata for the controller; with that broker down the worker
  exited with ``NodeNotReadyError`` (the chaos drill on Apache Kafka, session 27). The
  declaration is retried while aiokafka calls the error retriable.
- Faust's consumer stops fetching the commands topic's partitions once it has delivered
  a record of each (``faust_table.mute_partition``: the input reader reads them, Faust's
  stream only dropped them). Its livelock check would log "no fetch request" for them
  every few seconds after ``stream_processing_timeout``; it now skips partitions paused
  on purpose, as it skips them during recovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Set
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

from gridflow.broker import while_unavailable_async

log = logging.getLogger("gridflow.recovery")

_STATE: dict[str, Any] = {
    "fetch_max_wait_ms": 50,
    "client": {},
    "isolation_level": "read_uncommitted",
    "committed_client": {},
}
_original_create = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer
_original_highwaters = faust_aiokafka.AIOKafkaConsumerThread._highwaters
_original_verify_event_path = faust_aiokafka.Consumer.verify_event_path
_original_fetch_records = faust_aiokafka.AIOKafkaConsumerThread._fetch_records
_original_create_topic = faust_aiokafka.Transport._create_topic


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _original_create(self, transport)
    # aiokafka reads this attribute when it builds its fetcher in start().
    consumer._fetch_max_wait_ms = _STATE["fetch_max_wait_ms"]
    # Under exactly-once the changelog is written in transactions: recovery must not
    # read rows of an aborted one.
    consumer._isolation_level = _STATE["isolation_level"]
    return consumer


async def true_end_offsets(
    client: Mapping[str, Any], ends: Mapping[TopicPartition, int], timeout: float = 10.0
) -> dict[TopicPartition, int]:
    """End offsets corrected by a fetch's high watermark (see the module docstring)."""
    result = dict(ends)
    probe = [tp for tp, end in ends.items() if end > 0]
    if not probe:
        return result
    consumer = AIOKafkaConsumer(
        **client, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        consumer.assign(probe)
        for tp in probe:
            consumer.seek(tp, ends[tp] - 1)
        waiting = set(probe)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            await consumer.getmany(*waiting, timeout_ms=200)
            for tp in list(waiting):
                high = consumer.highwater(tp)
                if high is not None:
                    result[tp] = max(result[tp], high)
                    waiting.discard(tp)
        if waiting:
            log.warning(
                "no fetch answer for %d partition(s); using their end offsets", len(waiting)
            )
    finally:
        await consumer.stop()
    return result


async def committed_ends(
    client: Mapping[str, Any], ends: Mapping[TopicPartition, int], timeout: float = 30.0
) -> dict[TopicPartition, int]:
    """One past the last *committed data* record of each partition, read read_committed.

    Under exactly-once the changelog is written in transactions: its end offset counts
    the commit markers and aborted rows that no reader ever receives, so recovery that
    waits for the record before the end offset would wait forever. Reads back from the
    end in growing windows until a committed record is found (or the partition's start).
    """
    result = {tp: 0 for tp in ends}
    probe = [tp for tp, end in ends.items() if end > 0]
    if not probe:
        return result
    consumer = AIOKafkaConsumer(
        **client,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        consumer.assign(probe)
        for tp in probe:
            result[tp] = await _last_committed(consumer, tp, ends[tp], timeout)
    finally:
        await consumer.stop()
    return result


async def _last_committed(
    consumer: AIOKafkaConsumer, tp: TopicPartition, end: int, timeout: float
) -> int:
    window = 64
    deadline = time.monotonic() + timeout
    while True:
        start = max(0, end - window)
        consumer.seek(tp, start)
        last: int | None = None
        while time.monotonic() < deadline:
            data = await consumer.getmany(tp, timeout_ms=200)
            for message in data.get(tp, ()):
                last = message.offset
            stable = consumer.last_stable_offset(tp)
            if stable is not None and await consumer.position(tp) >= min(stable, end):
                break
        if last is not None or start == 0 or time.monotonic() >= deadline:
            return last + 1 if last is not None else 0
        window *= 8


async def _highwaters(self: Any, partitions: Any) -> Mapping[Any, int]:
    ends = await _original_highwaters(self, partitions)
    if _STATE["isolation_level"] == "read_committed" and _STATE["committed_client"]:
        fixed = await committed_ends(_STATE["committed_client"], ends)
        log.info("recovery ends at the last committed rows: %s", fixed)
        return fixed
    if self.consumer.in_transaction or not _STATE["client"]:
        return ends
    try:
        fixed = await true_end_offsets(_STATE["client"], ends)
    except (TimeoutError, OSError, Exception) as exc:  # never block recovery on the probe
        log.warning("could not verify end offsets (%s); using ListOffsets", exc)
        return ends
    moved = {tp: (ends[tp], fixed[tp]) for tp in ends if fixed[tp] != ends[tp]}
    if moved:
        log.info("end offsets corrected by fetch high watermark: %s", moved)
    return fixed


class LivePartitions:
    """Faust's live set of active partitions as aiokafka's ``fetched_records`` filter.

    aiokafka tests ``if partitions and tp not in partitions``: an empty set passes every
    partition. Faust's set empties while a fetch call waits (the rebalance pauses every
    partition), so the filter must stay truthy and keep following the set.
    """

    __slots__ = ("_tps",)

    def __init__(self, tps: Set[Any]) -> None:
        self._tps = tps

    def __bool__(self) -> bool:
        return True

    def __contains__(self, tp: object) -> bool:
        return tp in self._tps


async def _fetch_records(
    self: Any,
    consumer: Any,
    active_partitions: Set[Any] | None,
    timeout: float | None = None,
    max_records: int | None = None,
) -> Any:
    live = None if active_partitions is None else LivePartitions(active_partitions)
    return await _original_fetch_records(
        self, consumer, cast(Any, live), timeout=timeout, max_records=max_records
    )


def _verify_event_path(self: Any, now: float, tp: Any) -> None:
    # A paused partition is not fetched on purpose: not a stalled stream.
    if tp in self._paused_partitions:
        return None
    _original_verify_event_path(self, now, tp)
    return None


async def _create_topic(
    self: Any, owner: Any, client: Any, topic: str, partitions: int, replication: int, **kw: Any
) -> None:
    await while_unavailable_async(
        lambda: _original_create_topic(self, owner, client, topic, partitions, replication, **kw),
        f"declaring topic {topic}",
        log,
        stopping=lambda: bool(owner.should_stop),
    )


def install(
    fetch_max_wait_ms: int,
    client: Mapping[str, Any] | None = None,
    *,
    read_committed: Mapping[str, Any] | None = None,
) -> None:
    """Patch Faust's consumer thread: fetch wait, the records taken from aiokafka, the
    livelock check of muted partitions, and (given ``client``, for the embedded broker
    only) end offsets checked by a fetch.
    ``read_committed`` (exactly-once: the client to read the changelog with) makes
    recovery read committed rows only and end at the last of them."""
    _STATE["fetch_max_wait_ms"] = fetch_max_wait_ms
    _STATE["client"] = dict(client or {})
    _STATE["isolation_level"] = "read_committed" if read_committed else "read_uncommitted"
    _STATE["committed_client"] = dict(read_committed or {})
    thread = faust_aiokafka.AIOKafkaConsumerThread
    thread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    thread._highwaters = _highwaters  # type: ignore[method-assign]
    thread._fetch_records = _fetch_records  # type: ignore[method-assign]
    faust_aiokafka.Consumer.verify_event_path = _verify_event_path  # type: ignore[method-assign]
    faust_aiokafka.Transport._create_topic = _create_topic  # type: ignore[method-assign]
