"""Fetches that skip offsets on the embedded broker: hold the position at the hole.

The embedded broker (Tansu, ``gridflow/broker.py``) can answer a fetch with records that
lie past one that is not visible yet: with several producers writing one partition,
a batch whose offsets were assigned can show up in the log after the batch behind it
(measured: docs/PITFALLS.md, "Fetches skip offsets"). A consumer trusts the fetch, moves
its position past the hole and never reads the skipped records; read again from the
beginning, they are there. In the chaos drill that lost a disposition the collector
never read.

:class:`FetchHoles` is the guard, in one place for every reader of a topic where each
offset is a record (not compacted, not transactional): the worker's input reader, the
API's projection and the chaos drill's collector. When a fetch skips offsets of a
partition, the records after the hole are dropped from the fetch and the caller seeks
back to the first missing offset, so the next fetch asks for it again. A hole still there
after ``patience_s`` is taken as real (logged as an error, counted) and read past.

It is on only for the embedded broker: on Apache Kafka, transaction markers
(exactly-once) take offsets that no consumer ever receives, and compaction removes
records, so offsets there legitimately have holes. (Exactly-once is refused on the
embedded broker, so no marker can appear where the guard is on.) Compacted topics
(``grid.rules``, ``grid.silences``, changelogs) must not be given to it on any broker.

The cost on the hot path is a few integer comparisons per partition and fetch, not per
record: offsets in a fetch only grow, so ``last - first + 1 == len`` proves it has no hole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from typing import Protocol, TypeVar

log = logging.getLogger("gridflow.fetch_holes")

#: How long a hole is waited for before it is taken as real. Holes measured on the
#: embedded broker were filled by the next fetch; this only bounds a stall.
DEFAULT_PATIENCE_S = 10.0


class _Offset(Protocol):
    @property
    def offset(self) -> int: ...


P = TypeVar("P")
M = TypeVar("M", bound=_Offset)
P_contra = TypeVar("P_contra", contravariant=True)


class Seeker(Protocol[P_contra]):
    """What :meth:`FetchHoles.cut` needs of a consumer (aiokafka's has it)."""

    def seek(self, partition: P_contra, offset: int) -> None: ...


class FetchHoles:
    """Per partition, the next offset due; cuts a fetch at its first hole.

    Use: after every seek call :meth:`expect` (or :meth:`forget` for a position not known,
    e.g. after a seek to the beginning: the first record fetched then sets it); after
    every fetch call :meth:`cut` (or :meth:`check`, then seek each partition it returns
    to the offset it names) before fetching again.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        patience_s: float = DEFAULT_PATIENCE_S,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
        on_hole: Callable[[str], None] | None = None,
    ) -> None:
        """``on_hole(outcome)``: ``refetched`` for a fetch cut at a hole, ``given_up`` for a
        hole read past after ``patience_s`` (a metric); ``name`` prefixes log lines."""
        self.enabled = enabled
        self.patience_s = patience_s
        self._clock = clock
        self._name = name
        self._on_hole = on_hole
        self._next: dict[object, int] = {}
        #: partition → (first missing offset, when it was first seen missing)
        self._waiting: dict[object, tuple[int, float]] = {}
        #: fetches cut at a hole (each one a seek back and a fetch again)
        self.refetches = 0
        #: holes that were filled while waited for
        self.filled = 0
        #: offsets read past after ``patience_s`` (records that may never be read)
        self.given_up = 0

    def expect(self, partition: object, offset: int) -> None:
        """The consumer was sought to ``offset`` of ``partition``."""
        self._next[partition] = offset
        self._waiting.pop(partition, None)

    def forget(self, partition: object | None = None) -> None:
        """The position of ``partition`` (None: of every partition) is not known."""
        if partition is None:
            self._next.clear()
            self._waiting.clear()
        else:
            self._next.pop(partition, None)
            self._waiting.pop(partition, None)

    def cut(self, consumer: Seeker[P], fetched: MutableMapping[P, list[M]]) -> None:
        """:meth:`check` the fetch and seek ``consumer`` back to each partition's hole."""
        for partition, offset in self.check(fetched).items():
            consumer.seek(partition, offset)

    def check(self, fetched: MutableMapping[P, list[M]]) -> dict[P, int]:
        """Cut each partition's records at its first hole; return where to seek back to.

        ``fetched`` is changed in place: records after a hole are removed (a partition
        left with none is removed). The returned partitions must be sought to the offset
        given, or the consumer's own position stays past the hole.
        """
        if not self.enabled:
            return {}
        seek: dict[P, int] = {}
        for partition, records in list(fetched.items()):
            if not records:
                continue
            due = self._next.get(partition)
            first = records[0].offset
            last = records[-1].offset
            if (due is None or first == due) and last - first + 1 == len(records):
                self._next[partition] = last + 1
                if partition in self._waiting:
                    self._waiting.pop(partition)
                    self.filled += 1
                continue
            keep, missing = _cut(records, first if due is None else due)
            if keep == len(records):
                # No hole: the position known here was behind the consumer's (a seek
                # not told to :meth:`expect`); follow the consumer.
                self._next[partition] = last + 1
                continue
            if self._patient(partition, missing, records[keep].offset):
                seek[partition] = missing
                self.refetches += 1
                if self._on_hole is not None:
                    self._on_hole("refetched")
                if keep:
                    fetched[partition] = records[:keep]
                else:
                    del fetched[partition]
                self._next[partition] = missing
            else:
                self._next[partition] = last + 1
        return seek

    def _patient(self, partition: object, missing: int, found: int) -> bool:
        """Whether to wait for ``missing`` once more (the fetch gave ``found`` after it)."""
        now = self._clock()
        waiting = self._waiting.get(partition)
        if waiting is not None and waiting[0] == missing:
            if now - waiting[1] < self.patience_s:
                return True
            self._waiting.pop(partition)
            self.given_up += found - missing
            if self._on_hole is not None:
                self._on_hole("given_up")
            log.error(
                "%s%s: offsets %d..%d still missing after %.0f s; reading on past them",
                self._name,
                partition,
                missing,
                found - 1,
                self.patience_s,
            )
            return False
        if waiting is not None:
            self.filled += 1  # the earlier hole was filled; this is the next one
        self._waiting[partition] = (missing, now)
        log.warning(
            "%s%s: the fetch skipped offsets %d..%d; fetching them again",
            self._name,
            partition,
            missing,
            found - 1,
        )
        return True


def _cut(records: Sequence[_Offset], due: int) -> tuple[int, int]:
    """(index of the first record after a hole or ``len(records)``, first missing offset)."""
    for index, record in enumerate(records):
        if record.offset > due:
            return index, due
        due = record.offset + 1
    return len(records), due
