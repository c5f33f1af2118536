"""Merges across village lines (跨村合并): the town-level stage's state and decisions.

The first stage keeps state per village, so one incident reported under two neighbouring
villages opens a case in each. The second stage sees every case the first stage opens
with coordinates (an :class:`OpenedCase`, announced on the commands topic keyed by the
village's town) and keeps, per town, the cases that are still candidates: opened within
their category's merge window and not absorbed. A new case from another village of the
same town that is compatible (same code, 大类 or compatibility group), within the new
case's merge radius and time window, is absorbed into the nearest candidate (ties: the
oldest, then the smaller id), exactly as the first stage picks a merge target. Cases
already absorbed stay in the row as further places of their survivor: a third report of
the incident near the absorbed one joins the same survivor, not another neighbour's case
that happens to be nearer to it (nearest-match is not transitive; the chaos drill's dense
streets showed it).

The same row carries inhibition (抑制) across village lines: a case announced with a
priority that makes it the *source* of an inhibit rule of the bundle (a fire, a flood)
is kept for the rule's window, and a newly announced case of another village of the town
that is a *target* of that rule within its radius and window, and that merged with
nothing, is absorbed into it the same way (``Absorb.rule`` names the rule), so it is not
handled nor escalated separately. The village stage does the same inside one village
(``gridflow/core/inhibition.py``); the town stage only adds the village lines.

Absorbing is two steps in the villages' own partitions (``gridflow/runtime/pipeline.py``):
the absorbed case's village closes it as ``merged`` naming the survivor, then the
survivor's village adds its reports and the village to the surviving case. Every step is
idempotent by case id, so a replayed or re-delivered announcement decides nothing twice.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from gridflow.core.compact_json import dumps_compact
from gridflow.core.geo import haversine_m
from gridflow.core.inhibition import InhibitRule, InhibitRules

__all__ = [
    "REPLAY_HORIZON_S",
    "TOWN_ROW_PREFIX",
    "Absorb",
    "Joined",
    "MergeLinks",
    "OpenedCase",
    "TownDecision",
    "TownState",
    "decide",
    "is_town_key",
    "town_key",
]

#: How long after its merge window a decided case id is remembered. A re-delivered
#: announcement comes from a first-stage batch replayed after a crash, minutes later; the
#: row then holds about one merge window of a town's cases, not a week of ids.
REPLAY_HORIZON_S = 3600.0

#: Table and record keys of town rows. They start with "~" like the checkpoint's own rows,
#: so every scan of region rows (all digits) leaves them out.
TOWN_ROW_PREFIX = "~town/"


def town_key(town: str) -> str:
    """The key of ``town``'s row, and of the announcements its stage reads."""
    return TOWN_ROW_PREFIX + town


def is_town_key(key: str) -> bool:
    """True for a town row's key."""
    return key.startswith(TOWN_ROW_PREFIX)


class OpenedCase(NamedTuple):
    """A case the first stage opened with coordinates: what the town stage matches on."""

    # A named tuple: two are built per case opened (announced, then read by the town
    # stage), and a frozen dataclass took ~1.5 µs more each.

    case_id: str
    region: str
    category: str
    lat: float
    lon: float
    #: the first report's time (epoch s): the merge window is measured on it.
    reported_at: float
    #: the input record's time the case opened at (epoch s): candidates expire by it.
    opened_at: float
    #: the case's priority when it opened (inhibition: is it critical enough to be a
    #: source?); empty in announcements written before inhibition crossed village lines.
    priority: str = ""

    def to_doc(self) -> list[Any]:
        """Compact form (announcements and the town row)."""
        doc: list[Any] = list(self)
        if not self.priority:
            doc.pop()
        return doc

    @classmethod
    def from_doc(cls, doc: Any) -> OpenedCase:
        """Inverse of :meth:`to_doc`; ``ValueError`` for anything else."""
        try:
            case_id, region, category, lat, lon, reported, opened, *rest = doc
            if len(rest) > 1:
                raise ValueError("too many fields")
            return cls(
                str(case_id),
                str(region),
                str(category),
                float(lat),
                float(lon),
                float(reported),
                float(opened),
                str(rest[0]) if rest else "",
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not an opened case: {doc!r}") from exc


@dataclass(frozen=True, slots=True)
class Absorb:
    """``absorbed`` (new) is the same incident as ``survivor`` (older, another village)."""

    absorbed: OpenedCase
    survivor: OpenedCase
    distance_m: float
    #: 抑制: the inhibit rule under which ``survivor`` (its source) takes ``absorbed``
    #: (a target) over; ``None`` for a merge of one incident.
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class TownDecision:
    """What one announcement did: a replay (no-op), a new candidate, or an absorb."""

    duplicate: bool = False
    absorb: Absorb | None = None


#: The two decisions without an absorb, made once: a frozen dataclass's ``__init__`` sets
#: each field through ``object.__setattr__``, and most announcements end in one of these.
_REPLAYED = TownDecision(duplicate=True)
_KEPT = TownDecision()

#: Category code -> (merge radius m, merge window s); ``None`` for an unknown code.
CategoryLimits = Callable[[str], tuple[float, float] | None]


@dataclass(slots=True)
class TownState:
    """The candidates of one town and the case ids its stage has decided on."""

    town: str
    #: added to through :meth:`add_candidate`, which keeps the latitude index in step.
    candidates: dict[str, OpenedCase] = field(default_factory=dict)
    #: case id -> expiry (epoch s): announcements already decided (replays are no-ops),
    #: remembered for the case's merge window and ``retention_s`` more.
    seen: dict[str, float] = field(default_factory=dict)
    #: absorbed case id -> (the case, its survivor's id): further places of the survivor.
    absorbed: dict[str, tuple[OpenedCase, str]] = field(default_factory=dict)
    #: case id -> (a case that may inhibit others under an inhibit rule, until when
    #: (epoch s, record time)): kept for the longest window of its rules, which can
    #: outlast its merge window (a fire: merged for 1 h, inhibits for 6 h).
    sources: dict[str, tuple[OpenedCase, float]] = field(default_factory=dict)
    #: the earliest time anything in the row expires; derived from the row (so a replay
    #: computes the same), None: compute it again.
    _next_expiry: float | None = field(default=None, init=False, repr=False, compare=False)
    #: each case's :meth:`OpenedCase.to_doc` as JSON, made once: the row is written whole
    #: after every batch that touches it, while the cases in it never change.
    _json: dict[str, tuple[OpenedCase, orjson.Fragment]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: the candidates' latitudes, ascending, and their ids in the same order: decide
    #: looks only at those within its latitude cut. None: build it again from the row.
    _lats: list[float] | None = field(default=None, init=False, repr=False, compare=False)
    _lat_ids: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    #: :attr:`candidates` and :attr:`seen` as the row writes them, entry by entry in the
    #: same order (a case's JSON; ``"id":expiry``), kept in step by :meth:`add_candidate`,
    #: :meth:`see` and :meth:`expire`. A town row is rewritten after every batch that
    #: touches it while most of it stays as it was: joining kept bytes took a write of
    #: ~26 candidates from ~16 µs to ~4. None: make them again from the row.
    _candidate_json: dict[str, bytes] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _seen_json: dict[str, bytes] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """Nothing worth keeping: the row can be deleted."""
        return not (self.candidates or self.seen or self.absorbed or self.sources)

    def to_bytes(self) -> bytes:
        """Serialise for the changelog.

        The same bytes as ``orjson.dumps`` of ``{"t": town, "c": [case docs], "s": seen,
        "a": [[case doc, survivor id]], "i": [[case doc, until]]}`` ("i" only when there
        are sources): the candidates and the seen ids are joined from their kept JSON.
        """
        candidates = self._candidate_json
        if candidates is None or len(candidates) != len(self.candidates):
            candidates = self._candidate_json = {
                case_id: dumps_compact(case.to_doc()) for case_id, case in self.candidates.items()
            }
        seen = self._seen_json
        if seen is None or len(seen) != len(self.seen):
            seen = self._seen_json = {k: _seen_entry(k, v) for k, v in self.seen.items()}
        parts = [
            b'{"t":',
            orjson.dumps(self.town),
            b',"c":[',
            b",".join(candidates.values()),
            b'],"s":{',
            b",".join(seen.values()),
            b'},"a":',
            orjson.dumps([[self._json_of(c), survivor] for c, survivor in self.absorbed.values()]),
        ]
        if self.sources:
            parts.append(b',"i":')
            parts.append(
                orjson.dumps([[self._json_of(c), until] for c, until in self.sources.values()])
            )
        parts.append(b"}")
        return b"".join(parts)

    def see(self, case_id: str, until: float) -> None:
        """Remember that ``case_id`` (a new id) was decided on, until ``until``."""
        self.seen[case_id] = until
        known = self._seen_json
        if known is not None:
            known[case_id] = _seen_entry(case_id, until)

    def _json_of(self, case: OpenedCase) -> orjson.Fragment:
        known = self._json.get(case.case_id)
        if known is None or known[0] is not case:
            known = self._json[case.case_id] = (case, orjson.Fragment(dumps_compact(case.to_doc())))
        return known[1]

    def candidates_near(self, lat: float, span: float) -> list[OpenedCase]:
        """The candidates within ``span`` degrees of latitude of ``lat`` (ascending)."""
        lats = self._lats
        if lats is None:
            ordered = sorted((c.lat, c.case_id) for c in self.candidates.values())
            lats = self._lats = [at for at, _ in ordered]
            self._lat_ids = [case_id for _, case_id in ordered]
        # Bounds twice as wide as the cut, then the cut itself: the same candidates as a
        # walk over all of them, whatever the rounding of ``lat ± span``.
        low, high = bisect_left(lats, lat - 2 * span), bisect_right(lats, lat + 2 * span)
        candidates = self.candidates
        near = [candidates[case_id] for case_id in self._lat_ids[low:high]]
        return [c for c in near if abs(c.lat - lat) <= span]

    def add_candidate(self, case: OpenedCase) -> None:
        """``case`` (a new id) stays in the row as a candidate for later cases."""
        self.candidates[case.case_id] = case
        known = self._candidate_json
        if known is not None:
            known[case.case_id] = dumps_compact(case.to_doc())
        lats = self._lats
        if lats is not None:
            at = bisect_right(lats, case.lat)
            lats.insert(at, case.lat)
            self._lat_ids.insert(at, case.case_id)

    @classmethod
    def from_bytes(cls, data: bytes) -> TownState:
        """Inverse of :meth:`to_bytes`."""
        doc = orjson.loads(data)
        candidates = [OpenedCase.from_doc(c) for c in doc.get("c", [])]
        absorbed = [(OpenedCase.from_doc(c), str(s)) for c, s in doc.get("a", [])]
        sources = [(OpenedCase.from_doc(c), float(u)) for c, u in doc.get("i", [])]
        return cls(
            town=doc["t"],
            candidates={c.case_id: c for c in candidates},
            seen={str(k): float(v) for k, v in doc.get("s", {}).items()},
            absorbed={c.case_id: (c, s) for c, s in absorbed},
            sources={c.case_id: (c, u) for c, u in sources},
        )

    def expire(self, now: float, limits: CategoryLimits) -> None:
        """Drop candidates past their merge window and decisions past retention."""
        if self._next_expiry is not None and now < self._next_expiry:
            return  # nothing is due: the common case, without a walk over the row
        candidate_json = self._candidate_json
        for case_id, case in list(self.candidates.items()):
            known = limits(case.category)
            window = known[1] if known else 0.0
            if case.opened_at + window < now:
                del self.candidates[case_id]
                if candidate_json is not None:
                    candidate_json.pop(case_id, None)
                self._json.pop(case_id, None)
                self._lats = None
        for case_id, (case, survivor) in list(self.absorbed.items()):
            known = limits(case.category)
            window = known[1] if known else 0.0
            if case.opened_at + window < now or survivor not in self.candidates:
                del self.absorbed[case_id]
                self._json.pop(case_id, None)
        seen_json = self._seen_json
        for case_id in [k for k, exp in self.seen.items() if exp <= now]:
            del self.seen[case_id]
            if seen_json is not None:
                seen_json.pop(case_id, None)
        for case_id in [k for k, (_, until) in self.sources.items() if until < now]:
            del self.sources[case_id]
            self._json.pop(case_id, None)
        self._next_expiry = self._earliest(limits)

    def _earliest(self, limits: CategoryLimits) -> float:
        def window(case: OpenedCase) -> float:
            known = limits(case.category)
            return known[1] if known else 0.0

        times = [c.opened_at + window(c) for c in self.candidates.values()]
        times += [c.opened_at + window(c) for c, _ in self.absorbed.values()]
        times += self.seen.values()
        times += [until for _, until in self.sources.values()]
        return min(times, default=float("inf"))

    def _due(self, at: float) -> None:
        """Something added to the row expires at ``at``."""
        if self._next_expiry is not None and at < self._next_expiry:
            self._next_expiry = at


def _seen_entry(case_id: str, until: float) -> bytes:
    """``"case_id":until`` as ``orjson.dumps`` writes it inside the seen ids' object."""
    return orjson.dumps({case_id: until})[1:-1]


def decide(
    state: TownState,
    case: OpenedCase,
    now: float,
    *,
    limits: CategoryLimits,
    compatible: Callable[[str, str], bool],
    retention_s: float,
    inhibit: InhibitRules | None = None,
) -> TownDecision:
    """Decide on one announced case; ``state`` is updated in place.

    The new case is absorbed into the nearest open candidate of *another* village
    (same-village duplicates are the first stage's), else, when ``inhibit`` (the bundle's
    rules) makes it a target, into the nearest source case of another village that
    inhibits it, else it becomes a candidate itself. A case absorbed is never a
    candidate nor a source, so absorbing never chains.
    """
    if case.case_id in state.seen:
        return _REPLAYED
    state.expire(now, limits)
    known = limits(case.category)
    window = known[1] if known else 0.0
    state.see(case.case_id, case.opened_at + window + retention_s)
    # Everything added below expires no earlier than the case's own window ends.
    state._due(case.opened_at + window)
    if known is None:
        return _KEPT
    radius_m, window_s = known
    # Degrees of latitude the radius spans: a cheap first cut before the haversine.
    lat_span = radius_m / 111_000.0
    lat, lon, region = case.lat, case.lon, case.region
    reported, category = case.reported_at, case.category
    candidates = state.candidates
    best: tuple[float, float, str] | None = None
    survivor: OpenedCase | None = None
    # (the place measured from, the case that would take the new one over): the
    # candidates, and the absorbed cases still standing for their survivors, within the
    # latitude cut. The rank decides, so the order of the walk does not.
    near = [(c, c) for c in state.candidates_near(lat, lat_span)]
    if state.absorbed:
        near += [
            (place, candidates[sid])
            for place, sid in state.absorbed.values()
            if abs(place.lat - lat) <= lat_span and sid in candidates
        ]
    for place, target in near:
        if target.region == region:
            continue  # the first stage's business (it found them to be two incidents)
        if abs(place.reported_at - reported) > window_s:
            continue
        if not compatible(place.category, category):
            continue
        distance = haversine_m(lat, lon, place.lat, place.lon)
        if distance > radius_m:
            continue
        rank = (distance, target.opened_at, target.case_id)
        if best is None or rank < best:
            best, survivor = rank, target
    if survivor is None or best is None:
        if inhibit:
            inhibited = _inhibitor(state, case, inhibit.for_target(case.category))
            if inhibited is not None:
                return TownDecision(absorb=inhibited)
            _keep_source(state, case, inhibit)
        state.add_candidate(case)
        return _KEPT
    state.absorbed[case.case_id] = (case, survivor.case_id)
    return TownDecision(absorb=Absorb(case, survivor, best[0]))


def _keep_source(state: TownState, case: OpenedCase, inhibit: InhibitRules) -> None:
    """Keep ``case`` for the longest window of the rules it is a source of, if any."""
    window = inhibit.source_window(case.category, case.priority)
    if window is not None:
        until = case.opened_at + window
        state.sources[case.case_id] = (case, until)
        state._due(until)


def _inhibitor(state: TownState, case: OpenedCase, rules: tuple[InhibitRule, ...]) -> Absorb | None:
    """The source case of another village that inhibits ``case``, as an absorb, or None.

    As in one village (``find_inhibitor``): within the rule's radius of the source's
    first report, reported within its window after it; the nearest wins, ties go to the
    oldest case, then the smaller id, then the rule listed first.
    """
    if not rules:
        return None
    best: tuple[float, float, str, int] | None = None
    found: Absorb | None = None
    for source, _until in state.sources.values():
        if source.region == case.region:
            continue  # the village stage's business
        for order, rule in enumerate(rules):
            if not rule.is_source(source.category) or not rule.ranks(source.priority):
                continue
            if not 0.0 <= case.reported_at - source.reported_at <= rule.window_s:
                continue
            distance = haversine_m(case.lat, case.lon, source.lat, source.lon)
            if distance > rule.radius_m:
                continue
            rank = (distance, source.opened_at, source.case_id, order)
            if best is None or rank < best:
                best, found = rank, Absorb(case, source, distance, rule.name)
    return found


@dataclass(frozen=True, slots=True)
class Joined:
    """An absorbed case as it joins the surviving one: its reports and what they decide."""

    case_id: str
    region: str
    priority: str
    first_reported_at: float
    last_reported_at: float
    events: tuple[str, ...]
    event_networks: tuple[str, ...]

    @property
    def source_network(self) -> str:
        """The network of the report that opened the absorbed case (re-routing names it)."""
        return self.event_networks[0] if self.event_networks else "unknown"

    @property
    def reported_at(self) -> datetime:
        """The absorbed case's first report time (re-routing reads its local time)."""
        return datetime.fromtimestamp(self.first_reported_at, UTC)

    @property
    def event_id(self) -> str:
        """How a re-routing's reason names the cause."""
        return f"of case {self.case_id}"

    def to_doc(self) -> dict[str, Any]:
        """The join command's body."""
        return {
            "case": self.case_id,
            "region": self.region,
            "priority": self.priority,
            "first": self.first_reported_at,
            "last": self.last_reported_at,
            "events": list(self.events),
            "networks": list(self.event_networks),
        }

    @classmethod
    def from_doc(cls, doc: Any) -> Joined:
        """Inverse of :meth:`to_doc`; ``ValueError`` for anything else."""
        try:
            return cls(
                case_id=str(doc["case"]),
                region=str(doc["region"]),
                priority=str(doc["priority"]),
                first_reported_at=float(doc["first"]),
                last_reported_at=float(doc["last"]),
                events=tuple(str(e) for e in doc["events"]),
                event_networks=tuple(str(n) for n in doc["networks"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a joined case: {exc}") from exc


class MergeLinks:
    """Which case took each absorbed case over, as read from dispositions' ``merged_into``.

    What a consumer of ``grid.dispositions`` (the chaos checker, the demo) needs to count
    one incident once: a case merged across a village line counts as its survivor.
    """

    __slots__ = ("merged_into",)

    def __init__(self) -> None:
        self.merged_into: dict[str, str] = {}

    def add(self, disposition: Mapping[str, Any]) -> None:
        """Note the link a disposition carries, if any."""
        survivor = disposition.get("merged_into")
        if survivor:
            self.merged_into[str(disposition.get("case_id"))] = str(survivor)

    def root(self, case_id: str) -> str:
        """The case that holds ``case_id``'s reports now (itself when not merged)."""
        seen = {case_id}
        while case_id in self.merged_into and self.merged_into[case_id] not in seen:
            case_id = self.merged_into[case_id]
            seen.add(case_id)
        return case_id
