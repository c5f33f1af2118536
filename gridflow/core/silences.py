"""Silences (屏蔽): reports of a known matter join one "known matter" case, not new cases.

A silence is published on the compacted topic ``grid.silences`` (schema
:class:`schemas.Silence`), keyed by its id; every change (extend, expire) is a new whole
record. The book keeps every revision it has read with the instant it takes effect, so
that a decision depends only on the input record's time and never on when this worker
happened to read the silence:

* a revision takes effect :data:`SILENCE_LEAD_S` after the broker appended it (the
  record's timestamp): the worker reads the silences topic to its end up to that instant
  before it decides a batch, so a journal replay after a crash finds the same revision in
  force for the same record (``gridflow/runtime/silence_reader.py``);
* the revision in force at the input record's time decides; its window is compared with
  the report's own time (``reported_at``): a report of 17:59 that arrives at 18:01 is
  still about the silenced works.

A matching report joins the silence's one known-matter case, kept in the state row of the
silence's centre (its region code; ``Engine.apply_silenced``): the report's village sends
it there, so a silence over several villages makes one case, not one per village.

A report matches when it falls in the window, its village lies within the silence's
centre's region and every matcher given holds (categories, region prefix, networks: any
of the list; text: any word; near: inside the circle). Several matching silences: the
oldest (``created_at``, then id) wins, so every worker picks the same one.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gridflow.core.catalogue import Catalogue
from gridflow.core.geo import haversine_m
from gridflow.core.opening import report_text
from gridflow.core.regions import RegionGraph
from schemas import GridEvent
from schemas.silence import Silence

__all__ = [
    "SILENCE_LEAD_S",
    "STATE_WORDS",
    "SilenceBook",
    "SilenceChangeError",
    "check_silence",
    "expired",
    "expiry_of",
    "extended",
    "extension_of",
    "silence_matches",
    "silence_state",
]

#: Seconds between a silence record reaching the broker and the silence taking effect:
#: the time a worker has to read it before any input record it would decide arrives.
SILENCE_LEAD_S = 5.0

#: ``region -> its chain of centres up to the city`` (``RegionGraph.chain``).
Chain = Callable[[str], tuple[str, ...]]


def silence_matches(silence: Silence, event: GridEvent, category: str, chain: Chain) -> bool:
    """Does ``event`` (assessed as ``category``) fall under ``silence``?"""
    reported = event.reported_at
    if not silence.starts_at <= reported < silence.ends_at:
        return False
    m = silence.matchers
    region = event.region_code
    if m.region_prefix is not None and not region.startswith(m.region_prefix):
        return False
    if m.categories and not any(category.startswith(code) for code in m.categories):
        return False
    if m.networks and event.source_network not in m.networks:
        return False
    if m.text:
        text = report_text(event)
        if not any(word in text for word in m.text):
            return False
    if m.near is not None:
        where = event.location
        if where is None:
            return False
        if haversine_m(where.lat, where.lon, m.near.lat, m.near.lon) > m.near.radius_m:
            return False
    # A centre silences only within its own region (the city: everywhere).
    return silence.center_code in chain(region)


@dataclass(slots=True)
class _Revisions:
    """One silence's revisions read so far: (takes effect at, revision or None: deleted)."""

    starts: list[float] = field(default_factory=list)
    revisions: list[Silence | None] = field(default_factory=list)

    def add(self, effective: float, silence: Silence | None) -> None:
        at = bisect.bisect_right(self.starts, effective)
        if at and self.starts[at - 1] == effective and self.revisions[at - 1] == silence:
            return  # read again (a reader that reconnected): already known
        self.starts.insert(at, effective)
        self.revisions.insert(at, silence)

    def at(self, t: float) -> Silence | None:
        at = bisect.bisect_right(self.starts, t)
        return self.revisions[at - 1] if at else None

    def latest(self) -> Silence | None:
        return self.revisions[-1] if self.revisions else None


class SilenceBook:
    """Every silence read from ``grid.silences``, each revision with when it takes effect."""

    __slots__ = ("_by_category", "_by_id", "_order")

    def __init__(self, silences: Iterable[tuple[Silence, float]] = ()) -> None:
        self._by_id: dict[str, _Revisions] = {}
        #: ids in the order silences win a tie (oldest first), rebuilt on change.
        self._order: list[str] = []
        #: category -> ids of the silences whose revisions admit it, in ``_order``:
        #: the hot path's one dict look-up for a report no silence can take.
        self._by_category: dict[str, tuple[str, ...]] = {}
        for silence, appended_at in silences:
            self.put(silence, appended_at)

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def clear(self) -> None:
        """Forget everything (before the topic is read again from its beginning)."""
        self._by_id.clear()
        self._order = []
        self._by_category = {}

    def put(self, silence: Silence, appended_at: float) -> None:
        """A revision the broker appended at ``appended_at`` (epoch s, the record's time)."""
        revisions = self._by_id.get(silence.silence_id)
        if revisions is None:
            revisions = self._by_id[silence.silence_id] = _Revisions()
        revisions.add(appended_at + SILENCE_LEAD_S, silence)
        self._reorder()

    def delete(self, silence_id: str, appended_at: float) -> None:
        """A tombstone: the silence is gone from ``appended_at`` + the lead on."""
        revisions = self._by_id.get(silence_id)
        if revisions is not None:
            revisions.add(appended_at + SILENCE_LEAD_S, None)
            self._by_category = {}

    def _reorder(self) -> None:
        def rank(sid: str) -> tuple[float, str]:
            first = next((s for s in self._by_id[sid].revisions if s is not None), None)
            return (first.created_at.timestamp() if first else 0.0, sid)

        self._order = sorted(self._by_id, key=rank)
        self._by_category = {}

    def _candidates(self, category: str) -> tuple[str, ...]:
        found = self._by_category.get(category)
        if found is None:
            found = tuple(
                sid
                for sid in self._order
                if any(
                    s is not None
                    and (
                        not s.matchers.categories
                        or any(category.startswith(c) for c in s.matchers.categories)
                    )
                    for s in self._by_id[sid].revisions
                )
            )
            self._by_category[category] = found
        return found

    def in_force(self, at: float) -> list[Silence]:
        """The revision of every silence in force for an input record of time ``at``."""
        found = []
        for sid in self._order:
            silence = self._by_id[sid].at(at)
            if silence is not None:
                found.append(silence)
        return found

    def latest(self) -> list[Silence]:
        """Every silence's latest revision (what ``silence list`` shows), oldest first."""
        found = []
        for sid in self._order:
            silence = self._by_id[sid].latest()
            if silence is not None:
                found.append(silence)
        return found

    def get(self, silence_id: str) -> Silence | None:
        """The latest revision of one silence."""
        revisions = self._by_id.get(silence_id)
        return revisions.latest() if revisions is not None else None

    def match(self, event: GridEvent, category: str, at: float, chain: Chain) -> Silence | None:
        """The silence ``event`` falls under at input time ``at``, or None."""
        for sid in self._candidates(category):
            silence = self._by_id[sid].at(at)
            if silence is not None and silence_matches(silence, event, category, chain):
                return silence
        return None


# --------------------------------------------------------------------- changes
class SilenceChangeError(ValueError):
    """A change that is refused: ``reason`` is machine-readable, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


#: A silence's state at an instant, with the words duty officers read.
STATE_WORDS = {"pending": "未开始", "active": "生效中", "expired": "已结束"}


def silence_state(silence: Silence, at: datetime) -> str:
    """``pending`` before its window, ``active`` in it, ``expired`` after it."""
    if at < silence.starts_at:
        return "pending"
    return "active" if at < silence.ends_at else "expired"


def extended(silence: Silence, until: datetime, by: str, at: datetime) -> Silence:
    """The next revision of ``silence`` with its window ending at ``until``."""
    if silence_state(silence, at) == "expired":
        raise SilenceChangeError(
            "silence_expired", f"silence {silence.silence_id} ended at {silence.ends_at}"
        )
    if until <= silence.ends_at:
        raise SilenceChangeError(
            "not_later",
            f"until {until.isoformat()} is not after the current end {silence.ends_at.isoformat()}",
        )
    return silence.model_copy(
        update={
            "ends_at": until,
            "revision": silence.revision + 1,
            "changed_by": by,
            "change": "extended",
        }
    )


def expired(silence: Silence, by: str, at: datetime) -> Silence:
    """The next revision of ``silence``, ended at ``at`` (a pending one: emptied)."""
    if silence_state(silence, at) == "expired":
        raise SilenceChangeError(
            "silence_expired", f"silence {silence.silence_id} ended at {silence.ends_at}"
        )
    starts = min(silence.starts_at, at)
    return Silence.model_validate(
        {
            **silence.model_dump(),
            "starts_at": starts,
            # An empty window when it had not started: it silences nothing.
            "ends_at": at,
            "revision": silence.revision + 1,
            "changed_by": by,
            "change": "expired",
        }
    )


def _noted(silence: Silence, comment: str | None) -> Silence:
    """``silence`` with ``comment`` added to its own (why it was extended or expired)."""
    if not comment:
        return silence
    return silence.model_copy(update={"comment": f"{silence.comment}; {comment}"})


def extension_of(
    silence: Silence,
    *,
    by: str,
    at: datetime,
    until: datetime | None = None,
    duration: timedelta | None = None,
    comment: str | None = None,
) -> Silence:
    """延长屏蔽 as the CLI and the API ask for it: a new end ``until``, or ``duration``
    added to the current end (exactly one), with the reason noted in the comment."""
    if (until is None) == (duration is None):
        raise SilenceChangeError("schema", "give exactly one of until and duration")
    end = until if until is not None else silence.ends_at + (duration or timedelta())
    return _noted(extended(silence, end, by, at), comment)


def expiry_of(silence: Silence, *, by: str, at: datetime, comment: str | None = None) -> Silence:
    """解除屏蔽 as the CLI and the API ask for it: ended at ``at``, the reason noted."""
    return _noted(expired(silence, by, at), comment)


#: Leading digits a centre shares with every region below it (the city: none).
_SUBTREE_DIGITS = {"county": 6, "town": 9, "village": 12}


def check_silence(silence: Silence, regions: RegionGraph, catalogue: Catalogue) -> None:
    """Refuse a new silence that names an unknown centre or category, or a region prefix
    outside its centre's region (:class:`SilenceChangeError` with a reason)."""
    centre = regions.get(silence.center_code)
    if centre is None:
        raise SilenceChangeError(
            "unknown_region", f"center_code {silence.center_code} is not a centre of the tree"
        )
    codes = [category.code for category in catalogue.categories]
    for code in silence.matchers.categories:
        if not any(known.startswith(code) for known in codes):
            raise SilenceChangeError(
                "unknown_category", f"category {code} is no category code or 大类 of the catalogue"
            )
    prefix = silence.matchers.region_prefix
    own = silence.center_code[: _SUBTREE_DIGITS.get(centre.tier.value, 0)]
    if prefix is not None and not (prefix.startswith(own) or own.startswith(prefix)):
        raise SilenceChangeError(
            "forbidden_region",
            f"region_prefix {prefix} is outside the region of centre {silence.center_code}",
        )
    if silence.ends_at <= silence.starts_at:
        raise SilenceChangeError("empty_window", "ends_at must be after starts_at")
