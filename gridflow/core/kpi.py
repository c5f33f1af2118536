"""Windowed KPIs (考核指标) per county, department and centre, from the engine's step facts.

Pure and deterministic: :class:`KpiWindows` is fed :class:`~gridflow.core.facts.StepFact`
values with the county they belong to and keeps tumbling windows (by default 60 s and
3600 s, aligned to the Unix epoch, so every worker cuts the same windows) keyed by the
step's ``at``, i.e. by event time. :meth:`KpiWindows.flush` hands back every window that
has ended and forgets it, so memory stays bounded by the number of open windows.

One record per (window, county); inside it, ``by_department`` and ``by_centre`` hold the
same counts split by the case's department and by the centre each count is charged to
(so a department's or a centre's figures are the sum over the counties' records).

What each step counts, and which centre it is charged to, is the table :data:`CHARGES`
(with ``docs/kpis.md`` giving the KPI meanings): "holder" is the centre holding the case
after the step, "previous" the centre that held it before (an escalation or a return),
"actor" the centre whose feedback it was (监管分离: a verifier is not the holder). Every
step not in the table (informed, cancelled 注销, reopened, warned) counts towards nothing.

Whether a close is on time, and whether a step met its stage's deadline, is the engine's
judgement carried by the fact and taken from the case's own state: it is right whichever
worker takes the step, including one that did not see the case opened (after a rebalance
or a restart). Nothing is reconstructed here from what this worker happened to see, and
no text is parsed.

Facts are not de-duplicated here: the engine already turns a replayed input into a
no-op (no step), and remembering every step of an hour window would cost memory in
proportion to the throughput.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from gridflow.core.facts import StepFact, StepKind
from schemas import MergeMetrics

__all__ = [
    "CHARGES",
    "COUNTS",
    "DEFAULT_WINDOWS",
    "UNKNOWN_DEPARTMENT",
    "UNKNOWN_NETWORK",
    "Charge",
    "KpiWindows",
    "charges",
    "rates",
]

#: (label, size in seconds) of the tumbling windows kept by default.
DEFAULT_WINDOWS: tuple[tuple[str, int], ...] = (("1m", 60), ("1h", 3600))
#: Network named when a step does not say which network reported.
UNKNOWN_NETWORK = "unknown"
#: Department (and centre) named when a step does not say.
UNKNOWN_DEPARTMENT = "unknown"

#: Every count of a record, in this order (the names of MergeMetrics' count fields and the
#: keys of its ``by_department`` / ``by_centre`` entries).
COUNTS: tuple[str, ...] = (
    "events_in",
    "cases_opened",
    "cases_closed",
    "closed_on_time",
    "merges",
    "reworks",
    "extensions",
    "escalations",
    "dispatches",
    "returns",
    "accepted",
    "accepted_on_time",
    "verifications",
    "verified_on_time",
    "deadlines",
    "overdue",
    "revisits",
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "silenced",
    "inhibited",
)
_SLOT = {name: i for i, name in enumerate(COUNTS)}
_N = len(COUNTS)
_EVENTS_IN, _OPENED, _MERGES = _SLOT["events_in"], _SLOT["cases_opened"], _SLOT["merges"]


class Charge(Enum):
    """Which centre a count is charged to."""

    HOLDER = "holder"  # the centre holding the case after the step
    PREVIOUS = "previous"  # the centre that held it before (escalated, returned)
    ACTOR = "actor"  # the centre whose feedback it was


_H, _P, _A = Charge.HOLDER, Charge.PREVIOUS, Charge.ACTOR

#: What each step counts regardless of its judgement: step -> (count, charged to).
CHARGES: dict[StepKind, tuple[tuple[str, Charge], ...]] = {
    StepKind.OPENED: (("events_in", _H), ("cases_opened", _H), ("dispatches", _H)),
    StepKind.MERGED: (("events_in", _H), ("merges", _H)),
    StepKind.ACCEPTED: (("accepted", _A),),
    StepKind.RESOLVED: (),
    StepKind.VERIFIED: (("verifications", _A),),
    StepKind.REWORKED: (("reworks", _H), ("verifications", _A)),
    StepKind.CLOSED: (("cases_closed", _H),),
    StepKind.EXTENDED: (("extensions", _H),),
    StepKind.ESCALATED: (("escalations", _P), ("dispatches", _H)),
    StepKind.RETURNED: (("returns", _P), ("dispatches", _H)),
    StepKind.REVISITED: (("revisits", _H),),
    StepKind.BREACHED: (),
    # Reports counted, not lost (屏蔽, 抑制): in events_in like any report, and apart.
    StepKind.SILENCED: (("events_in", _H), ("silenced", _H)),
    StepKind.INHIBITED: (("events_in", _H), ("inhibited", _H)),
}
#: Steps whose on-time share is a KPI: step -> the count of the ones in time.
_IN_TIME = {
    StepKind.ACCEPTED: "accepted_on_time",
    StepKind.VERIFIED: "verified_on_time",
    StepKind.REWORKED: "verified_on_time",
}
_SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")


def charges(fact: StepFact) -> tuple[tuple[str, Charge], ...]:
    """Every count ``fact`` adds to, with the centre it is charged to (docs/kpis.md)."""
    static = CHARGES.get(fact.kind)
    if static is None:
        return ()
    out = list(static)
    kind = fact.kind
    if kind is StepKind.ESCALATED and fact.overdue:
        # A timer's escalation (the one that is overdue) is 督办: the tier above
        # supervises and the case stays with its holder, so nothing is dispatched (an
        # escalation asked for, or a re-route by a worse report, hands the case up: a
        # dispatch to the new holder).
        out.remove(("dispatches", _H))
    if kind is StepKind.CLOSED and fact.on_time:
        out.append(("closed_on_time", _H))
    in_time = _IN_TIME.get(kind)
    # An untimed stage (no deadline ran) cannot be late.
    if in_time is not None and fact.deadline_met is not False:
        out.append((in_time, _A))
    # A deadline ended: met by a step, or missed (counted once, where the engine says).
    # A missed stage's deadline is the centre's that held the case when it ran out.
    owner = _P if kind is StepKind.ESCALATED else (_H if kind is StepKind.BREACHED else _A)
    if fact.overdue:
        out += (("deadlines", owner), ("overdue", owner))
    elif fact.deadline_met:
        out.append(("deadlines", owner))
    if kind is StepKind.REVISITED and fact.satisfaction in _SATISFACTION:
        out.append((fact.satisfaction, _H))
    return tuple(out)


def _centre(key: _StepKey, charge: Charge) -> str:
    """The centre a count of the step ``key`` is charged to."""
    centre, previous, actor = key[6], key[7], key[8]
    if charge is _P and previous:
        return previous
    if charge is _A and actor:
        return actor
    return centre or UNKNOWN_DEPARTMENT


#: A step's counts, and the same grouped by the centre they are charged to.
_Plan = tuple[tuple[int, ...], tuple[tuple[Charge, tuple[int, ...]], ...]]


def _ratio(part: int, whole: int) -> float:
    # A window with no denominator has no rate; 0.0 is the model's default and consumers
    # recompute rates from the summed counts anyway (see docs/kpis.md).
    return part / whole if whole else 0.0


def rates(c: dict[str, int]) -> dict[str, float]:
    """Every rate of docs/kpis.md from (summed) counts keyed as :data:`COUNTS`."""
    g = c.get
    dispatches = g("dispatches", 0)
    return {
        "close_rate": _ratio(g("cases_closed", 0), g("cases_opened", 0)),
        "on_time_close_rate": _ratio(g("closed_on_time", 0), g("cases_closed", 0)),
        "rework_rate": _ratio(g("reworks", 0), g("cases_closed", 0)),
        "extension_rate": _ratio(g("extensions", 0), g("cases_closed", 0)),
        "escalation_rate": _ratio(g("escalations", 0), g("cases_opened", 0)),
        "merge_ratio": _ratio(g("merges", 0), g("events_in", 0)),
        "overdue_rate": _ratio(g("overdue", 0), g("deadlines", 0)),
        "on_time_accept_rate": _ratio(g("accepted_on_time", 0), g("accepted", 0)),
        "timely_verify_rate": _ratio(g("verified_on_time", 0), g("verifications", 0)),
        "valid_report_rate": _ratio(g("cases_opened", 0), g("events_in", 0)),
        # A centre may return in this window what it was sent in an earlier one.
        "accurate_dispatch_rate": _ratio(max(0, dispatches - g("returns", 0)), dispatches),
        "satisfaction_rate": _ratio(
            g("satisfied", 0) + g("basically_satisfied", 0), g("revisits", 0)
        ),
    }


@dataclass(slots=True)
class _Bucket:
    """The counts of one (window, start, county)."""

    counts: list[int] = field(default_factory=lambda: [0] * _N)
    merged_by_network: Counter[str] = field(default_factory=Counter)
    merged_by_pair: Counter[str] = field(default_factory=Counter)
    reports_by_network: Counter[str] = field(default_factory=Counter)
    by_department: dict[str, list[int]] = field(default_factory=dict)
    by_centre: dict[str, list[int]] = field(default_factory=dict)


class _Tally:
    """Counted steps of one county that share every window, not yet in a bucket.

    Steps between two flushes mostly fall in the same few windows, so they are
    tallied here and added to each window's bucket once per flush instead of once per
    step and window. A step is tallied by what decides its counts (its judgement and
    the centres and department it names): one dict update per step, and the counts are
    worked out once per distinct step at the flush.
    """

    # Plain dicts and a hand-written __init__: a Counter or a dataclass default factory
    # costs more than the handful of steps a tally often holds.
    __slots__ = ("merged_by", "opened_by", "steps")

    def __init__(self) -> None:
        #: steps by :data:`_StepKey`.
        self.steps: dict[_StepKey, int] = {}
        #: dispatches by the network that sent the report (the case's first network).
        self.opened_by: dict[str, int] = {}
        #: merges by (network that first reported the case, network that sent the report).
        self.merged_by: dict[tuple[str, str], int] = {}


#: (kind's number in _KINDS, on_time, deadline_met, overdue, satisfaction, department, centre,
#: previous_centre, actor): everything a step's counts and their places depend on.
_StepKey = tuple[
    int,
    bool | None,
    bool | None,
    bool,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]
#: The counted steps, numbered: a step is tallied by its number, because hashing a
#: StrEnum member runs Python code and this runs for every step the worker takes.
_KINDS: tuple[StepKind, ...] = tuple(CHARGES)
_KIND_INDEX = {kind: i for i, kind in enumerate(_KINDS)}
#: By number: the step counts only when the engine judged a deadline on it.
_JUDGED_ONLY = tuple(not CHARGES[kind] for kind in _KINDS)
_OPENED_I, _MERGED_I = _KIND_INDEX[StepKind.OPENED], _KIND_INDEX[StepKind.MERGED]
#: Steps of a report that opened no case and merged into none of its kind: in
#: ``reports_by_network`` by the network that sent it, as an opening report is.
_QUIETED_I = frozenset({_KIND_INDEX[StepKind.SILENCED], _KIND_INDEX[StepKind.INHIBITED]})


class KpiWindows:
    """Tumbling per-county KPI windows over step facts, flushed when they end."""

    __slots__ = ("_buckets", "_grace_s", "_horizon", "_pending", "_plans", "_windows", "late")

    def __init__(
        self,
        windows: Sequence[tuple[str, int]] = DEFAULT_WINDOWS,
        *,
        grace_s: float = 2.0,
    ) -> None:
        """Keep one tumbling window per ``(label, seconds)`` in ``windows``.

        ``grace_s``: a window is flushed only once ``now`` is this far past its end, so
        steps of its last seconds still in flight are counted in it.
        """
        labels = [label for label, _ in windows]
        if not windows or len(set(labels)) != len(labels):
            raise ValueError(f"windows need distinct labels, got {labels}")
        if any(size <= 0 for _, size in windows):
            raise ValueError(f"window sizes must be positive, got {list(windows)}")
        if grace_s < 0:
            raise ValueError("grace_s must be >= 0")
        self._windows = tuple((label, int(size)) for label, size in windows)
        self._grace_s = float(grace_s)
        self._buckets: dict[tuple[str, int, str], _Bucket] = {}
        #: Counts not yet added to ``_buckets``: window starts -> county -> tally.
        self._pending: dict[tuple[int, ...], dict[str, _Tally]] = {}
        #: What a step counts, by what decides it (see charges()).
        self._plans: dict[tuple[object, ...], _Plan] = {}
        #: end of the last flushed period (epoch s); a step before it is late.
        self._horizon = float("-inf")
        #: steps that arrived for a window already flushed; they are emitted in a
        #: second partial record of that window at the next flush.
        self.late = 0

    def __len__(self) -> int:
        """Open windows (one per window size, start and county that saw something)."""
        self._add_pending()
        return len(self._buckets)

    # ---------------------------------------------------------------- observe
    def observe(self, fact: StepFact, county: str) -> None:
        """Count one step in every window of ``county`` that contains its ``at``."""
        self.observe_batch(((fact, county),))

    def _plan(self, key: _StepKey) -> _Plan:
        # The handful of distinct judgements a step can carry, each planned once.
        judgement = key[:5]
        plan = self._plans.get(judgement)
        if plan is None:
            number, on_time, met, overdue, satisfaction = judgement
            pairs = charges(
                StepFact(
                    _KINDS[number],
                    "",
                    "",
                    "",
                    0.0,
                    on_time=on_time,
                    deadline_met=met,
                    overdue=overdue,
                    satisfaction=satisfaction,
                )
            )
            groups = tuple(
                (charge, tuple(_SLOT[name] for name, c in pairs if c is charge))
                for charge in Charge
                if any(c is charge for _, c in pairs)
            )
            plan = self._plans[judgement] = (tuple(_SLOT[name] for name, _ in pairs), groups)
        return plan

    def observe_batch(self, items: Iterable[tuple[StepFact, str]]) -> None:
        """Count each ``(fact, county)`` as :meth:`observe` would.

        The counts are tallied per county and window starts, and added to the windows at
        the next flush: the same windows and counts as one :meth:`observe` per step, at a
        fraction of the cost (this runs for every step the worker takes).
        """
        horizon = self._horizon
        late = 0
        tallies = self._pending
        by_county: dict[str, _Tally] = {}
        index_of = _KIND_INDEX
        judged_only = _JUDGED_ONLY
        opened, merged, quieted = _OPENED_I, _MERGED_I, _QUIETED_I
        # The span [low, high) of times whose windows all start where the current ones do.
        low = high = 0.0
        for fact, county in items:
            kind = index_of.get(fact.kind)
            if kind is None:
                continue
            if judged_only[kind] and not (fact.overdue or fact.deadline_met):
                continue
            ts = fact.at
            if not low <= ts < high:
                starts, low, high = self._starts(ts)
                found = tallies.get(starts)
                by_county = tallies[starts] = {} if found is None else found
            if ts < horizon:
                late += 1
            tally = by_county.get(county)
            if tally is None:
                tally = by_county[county] = _Tally()
            key = (
                kind,
                fact.on_time,
                fact.deadline_met,
                fact.overdue,
                fact.satisfaction,
                fact.department,
                fact.centre,
                fact.previous_centre,
                fact.actor,
            )
            steps = tally.steps
            steps[key] = steps.get(key, 0) + 1
            if kind == opened or kind in quieted:
                reporter = fact.network or UNKNOWN_NETWORK
                opened_by = tally.opened_by
                opened_by[reporter] = opened_by.get(reporter, 0) + 1
            elif kind == merged:
                pair = (fact.first_network or UNKNOWN_NETWORK, fact.network or UNKNOWN_NETWORK)
                merged_by = tally.merged_by
                merged_by[pair] = merged_by.get(pair, 0) + 1
        self.late += late

    def _starts(self, ts: float) -> tuple[tuple[int, ...], float, float]:
        """The start of each window holding ``ts``, and the span of times sharing them."""
        starts = tuple(int(ts // size) * size for _, size in self._windows)
        low = max(starts)
        high = min(start + size for start, (_, size) in zip(starts, self._windows, strict=True))
        return starts, float(low), float(high)

    def _add_pending(self) -> None:
        """Add the pending tallies to the bucket of every window they fall in."""
        buckets = self._buckets
        labels = [label for label, _ in self._windows]
        tallies, self._pending = self._pending, {}
        for starts, by_county in tallies.items():
            for county, tally in by_county.items():
                for label, start in zip(labels, starts, strict=True):
                    key = (label, start, county)
                    bucket = buckets.get(key)
                    if bucket is None:
                        bucket = buckets[key] = _Bucket()
                    self._add_steps(bucket, tally.steps)
                    reports = bucket.reports_by_network
                    for reporter, n in tally.opened_by.items():
                        reports[reporter] += n
                    for (first, reporter), n in tally.merged_by.items():
                        reports[reporter] += n
                        # Every pair, "a>a" included (duplicates inside one network);
                        # merged_by_network keeps to its contract meaning: reports joining
                        # a case *another* network opened.
                        bucket.merged_by_pair[f"{first}>{reporter}"] += n
                        if first != reporter:
                            bucket.merged_by_network[reporter] += n

    def _add_steps(self, bucket: _Bucket, steps: dict[_StepKey, int]) -> None:
        counts, by_department, by_centre = bucket.counts, bucket.by_department, bucket.by_centre
        for key, n in steps.items():
            slots, groups = self._plan(key)
            department = key[5] or UNKNOWN_DEPARTMENT
            dept = by_department.get(department)
            if dept is None:
                dept = by_department[department] = [0] * _N
            for slot in slots:
                counts[slot] += n
                dept[slot] += n
            for charge, charged in groups:
                centre = _centre(key, charge)
                row = by_centre.get(centre)
                if row is None:
                    row = by_centre[centre] = [0] * _N
                for slot in charged:
                    row[slot] += n

    # ------------------------------------------------------------------ flush
    def flush(self, now: float) -> list[MergeMetrics]:
        """Every window that ended at or before ``now - grace_s``, then forget them.

        Ordered by window end, then window size, then county, so output is deterministic.
        Windows in which nothing was counted are never created, hence never emitted.
        """
        cutoff = now - self._grace_s
        self._horizon = max(self._horizon, cutoff)
        return self._emit(cutoff)

    def drain(self) -> list[MergeMetrics]:
        """Every open window, ended or not, then forget them (a clean stop, a rebalance).

        A window drained early goes out as a partial record; steps that fall in it later
        go out in another one, and consumers sum the two (see
        ``gridflow.runtime.kpi_publisher``).
        """
        return self._emit(float("inf"))

    def _emit(self, cutoff: float) -> list[MergeMetrics]:
        self._add_pending()
        sizes = dict(self._windows)
        due = [
            (start + sizes[label], sizes[label], county, label, start)
            for (label, start, county) in self._buckets
            if start + sizes[label] <= cutoff
        ]
        due.sort()
        out: list[MergeMetrics] = []
        for end, _size, county, label, start in due:
            bucket = self._buckets.pop((label, start, county))
            out.append(_metrics(bucket, county, label, start, end))
        return out


def _named(counts: list[int]) -> dict[str, int]:
    """The non-zero counts by name (a breakdown entry stays small)."""
    return {name: n for name, n in zip(COUNTS, counts, strict=True) if n}


def _metrics(b: _Bucket, county: str, label: str, start: int, end: int) -> MergeMetrics:
    counts = dict(zip(COUNTS, b.counts, strict=True))
    return MergeMetrics(
        region_code=county,
        window_start=datetime.fromtimestamp(start, UTC),
        window_end=datetime.fromtimestamp(end, UTC),
        window=label,
        **counts,
        **rates(counts),
        merged_by_network=dict(sorted(b.merged_by_network.items())),
        merged_by_pair=dict(sorted(b.merged_by_pair.items())),
        reports_by_network=dict(sorted(b.reports_by_network.items())),
        by_department={k: _named(v) for k, v in sorted(b.by_department.items())},
        by_centre={k: _named(v) for k, v in sorted(b.by_centre.items())},
    )
