"""The ``cases`` table, and every Faust internal the worker reaches into, in one place.

Faust owns the table's assignment, changelog recovery and standbys. The worker writes
and reads the table outside any Faust stream (the input reader hands it batches), which
takes five things Faust does not offer as API, all here:

- **a stand-in current event**: a persistent store picks the partition's database from
  the current event's ``message.partition``; outside a stream we set an object carrying
  just that (:func:`_partition_context`);
- **direct store writes**: rows go into ``table.data`` and their changelog records are
  produced by us, in one ordered batch per partition, awaiting delivery (Faust's own
  changelog send neither batches nor lets us await it); the persisted changelog offset is
  then recorded as Faust's changelog callback would;
- **recovery state**: whether the assignment of a generation has its table partitions
  recovered, and how far recovery is (``app.tables.recovery``);
- **the aiokafka producer** behind Faust's transport producer (its batch API is not
  exposed);
- **a muted partition**: Faust's consumer stops fetching a partition of the commands
  topic, which it subscribes to only for the table's assignment (:func:`mute_partition`).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any, cast

import faust
import orjson
from aiokafka import AIOKafkaProducer
from faust.streams import _current_event

from gridflow.runtime.checkpoint import Rows, is_position_key
from gridflow.runtime.exactly_once import current_producer
from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.sender import Record, send_batched


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The producer of the batch's transaction (exactly-once), else the aiokafka producer
    Faust's transport producer wraps."""
    txn = current_producer.get()
    if txn is not None:
        return txn
    return cast(AIOKafkaProducer, cast(Any, app.producer)._ensure_producer())


def mute_partition(app: faust.App, tp: Any) -> None:
    """Stop Faust's consumer fetching ``tp`` until a rebalance resumes it.

    A pause as Faust's own recovery makes (it resumes every stream partition when
    recovery ends); the livelock check skips paused partitions
    (``faust_patches._verify_event_path``).
    """
    app.consumer.pause_partitions({tp})


class CaseTable:
    """Region rows and the checkpoint rows, in a changelog-backed Faust table."""

    def __init__(self, app: faust.App, partitions: int) -> None:
        self.app = app
        self.partitions = partitions
        self.table = app.Table(
            "cases",
            partitions=partitions,
            # key_type/value_type decide the changelog codec on recovery (the schema alone
            # does not): without them rows come back JSON-decoded, keys as int.
            key_type=bytes,
            value_type=bytes,
            schema=faust.Schema(
                key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            ),
        )
        self._changelog = self.table.changelog_topic.get_topic_name()
        # The generation the last recovery run started for, and the one it finished for.
        self._recovering: int | None = None
        self._recovered: int | None = None
        self._watch_recovery()

    # ------------------------------------------------------------- reading
    def get(self, key: bytes) -> Any:
        """One row as stored, or as Faust's recovery decoded it (None: absent)."""
        return self.table.get(key)

    def read_state(self, region: str) -> bytes | None:
        """The serialised state of ``region``, if it has any."""
        value = self.table.get(region.encode())
        return _as_bytes(value) if value is not None else None

    def scan_partition(self, partition: int) -> Mapping[str, bytes]:
        """Every region row of ``partition`` (the checkpoint's rows left out)."""
        out: dict[str, bytes] = {}
        for key, value in self.table.items():
            if isinstance(key, bytes) and is_position_key(key):
                continue
            region = key.decode() if isinstance(key, bytes) else str(key)
            if value is not None and partition_for(region, self.partitions) == partition:
                out[region] = _as_bytes(value)
        return out

    # ------------------------------------------------------------- writing
    async def store(self, rows: Rows) -> None:
        """Write rows to the table and its changelog, in order per partition; await delivery."""
        store = self.table.data
        records: list[Record] = []
        for partition, items in rows.items():
            with _partition_context(partition):
                for key, value in items:
                    if value is None:
                        store.pop(key, None)
                    else:
                        store[key] = value
                    records.append((self._changelog, key, value, partition))
        written = await send_batched(aiokafka_producer(self.app), records)
        # What Faust's own changelog callback does: a persistent store remembers the
        # changelog offset it holds, so a restart recovers only what is newer.
        for tp, offset in written.items():
            cast(Any, store).set_persisted_offset(tp, offset)

    # ------------------------------------------------------------ recovery
    def recovery_done(self) -> bool:
        """No table partition is being recovered."""
        recovery = cast(Any, self.app.tables).recovery
        return bool(recovery.completed.is_set() and not recovery.in_recovery)

    def recovered(self, generation: int) -> bool:
        """True once the assignment of ``generation`` has its table partitions recovered.

        A recovery run for *this* generation must have finished: Faust never clears
        ``recovery.completed``, and a run of the previous generation that ends just
        after the next rebalance began clears ``app.rebalancing`` (its
        ``on_rebalance_end``). Until the new run started, ``in_recovery`` was false too:
        the input reader took its new partitions with their rows not yet recovered, and
        decided their records again from empty regions (the chaos drill, session 27:
        25 reports split, 176 outputs that disagreed).
        """
        app = self.app
        return bool(
            app.consumer_generation_id == generation
            and not app.rebalancing
            and self.recovery_done()
            and self._recovered == generation
        )

    def _watch_recovery(self) -> None:
        """Note the generation each recovery run starts for and finishes.

        Faust's run reads the generation it recovers for (``recovery._generation_id``,
        set by ``on_rebalance`` before it signals the run) and then marks itself started
        and, once the changelog is read, ended; those two marks are wrapped here.
        """
        recovery = cast(Any, self.app.tables).recovery
        started, ended = recovery._set_recovery_started, recovery._set_recovery_ended

        def on_started() -> None:
            self._recovering = recovery._generation_id
            self._recovered = None
            started()

        def on_ended() -> None:
            ended()
            self._recovered = self._recovering

        recovery._set_recovery_started = on_started
        recovery._set_recovery_ended = on_ended

    def recovery_progress(self) -> float:
        """Share of the changelog records to recover that are recovered (1.0 when done)."""
        recovery = cast(Any, self.app.tables).recovery
        if recovery.completed.is_set() and not recovery.in_recovery:
            return 1.0
        # Values are None for partitions whose offsets are not known yet.
        total = sum(v or 0 for v in recovery.active_highwaters.values())
        if not total:
            return 0.0
        done = sum(v or 0 for v in recovery.active_offsets.values())
        return float(min(1.0, done / total))


def _as_bytes(value: Any) -> bytes:
    # Rows written in this process are bytes; rows recovered from the changelog come back
    # already JSON-decoded by Faust's changelog reader. All are the same document.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


class _PartitionEvent:
    """The one attribute of a Faust event a store reads: ``message.partition``."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


@contextlib.contextmanager
def _partition_context(partition: int) -> Iterator[None]:
    # A persistent store picks the partition's database from the current event's message;
    # outside a Faust stream we stand in an object carrying just that.
    event = _PartitionEvent(partition)
    token = _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _current_event.reset(token)
