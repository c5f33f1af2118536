"""The checkpoint protocol: how a batch's outputs, state and read positions are made durable.

Nothing is committed to a consumer group. Per partition, the case table (one changelog
partition, written in order) holds, besides the region rows, two kinds of rows of this
protocol (their keys start with ``~``; region codes are digits only):

- a **journal** row (``~batch/<partition>``): the batch being processed, as the offset
  range per input topic, the clock it was processed with and the position of
  ``grid.rules`` its rules were taken up to (:mod:`gridflow.runtime.rules_timeline`);
- **position** rows (``~pos/<topic>/<partition>``): where the next batch starts.

Steps, for every batch a reader fetched (:meth:`Checkpoint.run`):

1. **journal**: store the batch's journal rows, in one ordered write behind the previous
   batch's state and position rows (step 4 of the batch before);
2. **outputs**: process the batch and send its outputs (dispositions, DLQ records,
   re-keyed commands), awaiting their delivery;
3. **state**: the region rows the batch changed, and
4. **positions**: the offsets after the batch; 3 and 4 are kept back and go out at the
   front of the next batch's write (step 1), or at once when the reader goes idle, is
   revoked or stops (:meth:`Checkpoint.flush`).

Replay, when a worker takes a partition over (:meth:`Checkpoint.unfinished`,
:meth:`Checkpoint.replay`): if the partition's journal ends beyond its stored positions,
the batch it names is processed again (the whole batch, every topic of it, not only the
topics whose position is missing) before anything new is read, then its state and
positions are stored.

Invariants:

- Outputs go out before the state that remembers them; a crash in between makes a
  replay decide again, so a replay must decide *the same*: a different interleaving of
  the three topics could merge a report into another case than the one already announced
  (seen in the chaos drill as one report in two cases). A replay therefore has the same
  records, in the same order, with the same clock and the same rules (:func:`build_batch`
  orders a batch by what is in it alone; the journal carries the clock and the rules
  position, and a replay pins the rules to it).
- In a partition's changelog, state rows come before the positions that follow them, and
  a journal before the outputs of its batch: a stored position means the state of every
  batch before it is stored, and an output that was sent has its batch journaled.
- Regions whose rows were stored before a crash see the replayed records as duplicates
  (the engine's idempotent no-op); the others decide what they decided the first time.
- A batch that cannot be processed or stored ends the process (exit 75, EX_TEMPFAIL):
  continuing would leave a gap the journal no longer covers. The new owner replays it.
- Positions and journals are per partition; a journal covers every input topic's
  records of that partition in the batch.

The rows are written by the ``RowStore`` the worker passes in (the Faust table and its
changelog, ``agents/faust_table.py``); the records are fetched by
:class:`gridflow.runtime.reader.InputReader`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from gridflow.core.compact_json import dumps_compact
from gridflow.core.record_clock import trusted_record_time
from gridflow.runtime.records import InRecord

log = logging.getLogger("gridflow.reader")

#: Table keys of the protocol's rows start with "~"; region codes are digits only.
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
    """True for the protocol's own rows, which share the case table with region rows."""
    return key.startswith(b"~")


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return orjson.loads(bytes(value))
    if isinstance(value, str):
        return orjson.loads(value)
    return value


@dataclass(frozen=True, slots=True)
class Journal:
    """One batch of one partition: the offsets it spans, the clock and rules it ran with."""

    now: float
    start: dict[str, int]
    end: dict[str, int]
    #: the position of grid.rules the batch's rules were read up to (None: journaled
    #: before hot reload, or a worker without it: replayed with every bundle read)
    rules: int | None = None

    def to_bytes(self) -> bytes:
        """The journal row's value."""
        doc: dict[str, Any] = {"now": self.now, "from": self.start, "to": self.end}
        if self.rules is not None:
            doc["rules"] = self.rules
        return dumps_compact(doc)

    @classmethod
    def parse(cls, value: Any) -> Journal:
        """From a stored row (bytes, or the dict Faust's recovery may hand back)."""
        doc = _decoded(value)
        rules = doc.get("rules")
        return cls(
            float(doc["now"]),
            {str(k): int(v) for k, v in doc["from"].items()},
            {str(k): int(v) for k, v in doc["to"].items()},
            None if rules is None else int(rules),
        )


@dataclass(slots=True)
class Batch:
    """Records of one fetch in processing order, with their journals."""

    records: list[InRecord]
    now: float
    journals: dict[int, Journal] = field(default_factory=dict)

    def decided_under(self, rules: int | None) -> None:
        """Journal ``rules`` (a grid.rules position) as the rules this batch is decided by."""
        self.journals = {p: replace(j, rules=rules) for p, j in self.journals.items()}

    def journal_rows(self) -> Rows:
        """The journal row of each partition in this batch."""
        return {p: [(journal_key(p), j.to_bytes())] for p, j in self.journals.items()}

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
    fetched: Mapping[Any, Sequence[Any]],
    topics: Sequence[str],
    now: float,
    max_skew_s: float = 300.0,
) -> Batch:
    """Order fetched records canonically (topic in ``topics`` order, partition, offset).

    ``fetched`` maps topic partitions (with ``topic`` and ``partition``) to the Kafka
    records a fetch returned (``offset``, ``timestamp`` in ms, ``timestamp_type``,
    ``key``, ``value``).

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


def exit_undelivered() -> None:
    os._exit(EXIT_UNDELIVERED)


class Checkpoint:
    """The protocol's steps for one reader (see the module docstring).

    Not safe for concurrent use: the reader calls it under its batch lock.
    """

    def __init__(
        self,
        *,
        handle: BatchHandler,
        store: RowStore,
        read_row: RowLookup,
        on_stored: Callable[[Rows], None] = lambda rows: None,
        on_fatal: Callable[[], None] = exit_undelivered,
    ) -> None:
        self._handle = handle
        self._store = store
        self._read_row = read_row
        self._on_stored = on_stored
        self._on_fatal = on_fatal
        #: state and position rows of the last batch, not yet stored (steps 3 and 4)
        self._unstored: Rows = {}
        self.replayed_batches = 0

    def stored_position(self, topic: str, partition: int) -> int | None:
        """The stored offset the next batch of ``topic[partition]`` starts at, if any."""
        value = self._read_row(position_key(topic, partition))
        if value is None:
            return None
        return int(_decoded(value))

    def unfinished(self, partition: int) -> Journal | None:
        """The partition's journaled batch if its positions were not all stored after it."""
        raw = self._read_row(journal_key(partition))
        if raw is None:
            return None
        journal = Journal.parse(raw)
        finished = all(
            (self.stored_position(topic, partition) or 0) >= end
            for topic, end in journal.end.items()
        )
        return None if finished else journal

    async def replay(self, batch: Batch) -> None:
        """Process a journaled batch again (same records, order, clock); store the result."""
        state = await self._handle(batch.records, batch.now)
        await self._store(merge_rows(state, batch.position_rows()))
        self.replayed_batches += 1

    async def run(self, batch: Batch) -> None:
        """Steps 1-2 for ``batch``; its state and positions wait for the next write."""
        try:
            # One write: the last batch's state and positions, then this batch's journal.
            await self._store(merge_rows(self._unstored, batch.journal_rows()))
            self._on_stored(self._unstored)
            self._unstored = {}
            state = await self._handle(batch.records, batch.now)
        except Exception:
            log.critical("a batch could not be processed or stored; exiting", exc_info=True)
            self._on_fatal()
            raise
        self._unstored = merge_rows(state, batch.position_rows())

    async def flush(self) -> None:
        """Store the last batch's state and positions now (idle, revoke, stop)."""
        if not self._unstored:
            return
        try:
            await self._store(self._unstored)
        except Exception:
            log.critical("a batch's state could not be stored; exiting", exc_info=True)
            self._on_fatal()
            raise
        self._on_stored(self._unstored)
        self._unstored = {}
