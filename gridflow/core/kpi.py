"""Windowed KPIs (考核指标) per county, computed from the dispositions the engine emits.

Pure and deterministic: :class:`KpiWindows` is fed dispositions with the county they
belong to and keeps tumbling windows (by default 60 s and 3600 s, aligned to the Unix
epoch, so every worker cuts the same windows) keyed by the disposition's ``at``, i.e. by
event time. :meth:`KpiWindows.flush` hands back every window that has ended and forgets
it, so memory stays bounded by the number of open windows and a capped case table.

What is counted, and from which disposition (see ``docs/kpis.md`` for the KPI meanings):

=================  ============================================================
``events_in``      ``dispatch`` (the report that opened the case) + ``merge``
``cases_opened``   ``dispatch`` (立案)
``cases_closed``   ``state`` with state ``closed`` and reason ``closed`` (结案)
``closed_on_time`` a close whose case was never late in its resolve stage (按期结案)
``merges``         ``merge``
``reworks``        ``state`` with reason ``rework: ...`` (返工)
``extensions``     ``state`` with reason ``extended to ...`` (延期)
``escalations``    ``escalate`` (one per tier the case went up)
=================  ============================================================

Cancellations (注销), ``sla_warning``, ``sla_breach``, ``reroute`` and the ``inform: ...``
notices to other tiers count towards nothing.

Lateness is not on the wire: the engine keeps ``Case.on_time`` to itself. It is
reconstructed here with the engine's own rule (on time unless there is evidence
otherwise): a case is late once a ``resolved`` step comes after the resolve-stage
deadline last seen for it, or once a timer reports ``resolve deadline missed``. The
deadlines are kept in a small LRU table (case id -> deadline, late flag) that forgets a
case when it is closed or cancelled; a case whose history was not seen (evicted, or
accepted before this process started) counts as on time, exactly as the engine would
count a case with no evidence of lateness.

Dispositions are not de-duplicated here: the engine already turns a replayed input into a
no-op (no disposition), and remembering every ``disposition_id`` of an hour window would
cost memory in proportion to the throughput.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas import Disposition, DispositionAction, MergeMetrics

__all__ = ["DEFAULT_WINDOWS", "UNKNOWN_NETWORK", "KpiWindows"]

#: (label, size in seconds) of the tumbling windows kept by default.
DEFAULT_WINDOWS: tuple[tuple[str, int], ...] = (("1m", 60), ("1h", 3600))
#: Network named when a merge's reason does not say which network reported.
UNKNOWN_NETWORK = "unknown"

# The engine writes "report <event id> from <network> joined the case[; priority ...]".
# Event ids are opaque and may contain " from ", network names may not contain spaces:
# the greedy ``.+`` makes the last " from <network> joined" win, which is the right one.
_MERGE_REASON = re.compile(r"^report .+ from (?P<net>[a-z][a-z0-9_]{0,31}) joined the case")
_RESOLVE_MISSED = "resolve deadline missed"


@dataclass(slots=True)
class _CaseTrack:
    """What this worker has seen of one case's resolve stage."""

    #: the resolve-stage deadline (epoch s) last carried by one of its dispositions.
    deadline: float | None = None
    #: sticky, like ``Case.on_time``: a rework or reopen does not make a late case on time.
    late: bool = False


@dataclass(slots=True)
class _Bucket:
    """The counts of one (window, start, county)."""

    events_in: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    closed_on_time: int = 0
    merges: int = 0
    reworks: int = 0
    extensions: int = 0
    escalations: int = 0
    merged_by_network: Counter[str] = field(default_factory=Counter)
    merged_by_pair: Counter[str] = field(default_factory=Counter)
    reports_by_network: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Effect:
    """What one disposition adds to a bucket (all zero: it counts towards nothing)."""

    events_in: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    closed_on_time: int = 0
    merges: int = 0
    reworks: int = 0
    extensions: int = 0
    escalations: int = 0
    #: network that sent the report (dispatch or merge).
    reporter: str | None = None
    #: for a merge: the network that first reported the case.
    first_network: str | None = None

    @property
    def empty(self) -> bool:
        return self == _NOTHING


_NOTHING = _Effect()


def _ratio(part: int, whole: int) -> float:
    # A window with no denominator has no rate; 0.0 is the model's default and consumers
    # recompute rates from the summed counts anyway (see docs/kpis.md).
    return part / whole if whole else 0.0


class KpiWindows:
    """Tumbling per-county KPI windows over dispositions, flushed when they end."""

    __slots__ = ("_buckets", "_cases", "_grace_s", "_horizon", "_max_cases", "_windows", "late")

    def __init__(
        self,
        windows: Sequence[tuple[str, int]] = DEFAULT_WINDOWS,
        *,
        grace_s: float = 2.0,
        max_cases: int = 100_000,
    ) -> None:
        """Keep one tumbling window per ``(label, seconds)`` in ``windows``.

        ``grace_s``: a window is flushed only once ``now`` is this far past its end, so
        dispositions of its last seconds still in flight are counted in it.
        ``max_cases``: cap of the case table that reconstructs lateness (LRU).
        """
        labels = [label for label, _ in windows]
        if not windows or len(set(labels)) != len(labels):
            raise ValueError(f"windows need distinct labels, got {labels}")
        if any(size <= 0 for _, size in windows):
            raise ValueError(f"window sizes must be positive, got {list(windows)}")
        if grace_s < 0 or max_cases <= 0:
            raise ValueError("grace_s must be >= 0 and max_cases > 0")
        self._windows = tuple((label, int(size)) for label, size in windows)
        self._grace_s = float(grace_s)
        self._max_cases = max_cases
        self._buckets: dict[tuple[str, int, str], _Bucket] = {}
        self._cases: OrderedDict[str, _CaseTrack] = OrderedDict()
        #: end of the last flushed period (epoch s); a disposition before it is late.
        self._horizon = float("-inf")
        #: dispositions that arrived for a window already flushed; they are emitted in a
        #: second partial record of that window at the next flush.
        self.late = 0

    def __len__(self) -> int:
        """Open windows (one per window size, start and county that saw something)."""
        return len(self._buckets)

    @property
    def tracked_cases(self) -> int:
        """Cases whose resolve deadline is being remembered."""
        return len(self._cases)

    # ---------------------------------------------------------------- observe
    def observe(self, disposition: Disposition, county: str) -> None:
        """Count one disposition in every window of ``county`` that contains its ``at``."""
        effect = self._effect(disposition)
        if effect.empty:
            return
        at = disposition.at.timestamp()
        if at < self._horizon:
            self.late += 1
        for label, size in self._windows:
            start = int(at // size) * size
            key = (label, start, county)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket()
            _add(bucket, effect)

    def _effect(self, d: Disposition) -> _Effect:
        """Classify ``d`` and update the case table; what it adds to its windows."""
        action = d.action
        reason = d.reason or ""
        if action == DispositionAction.STATE and reason.startswith("inform:"):
            return _NOTHING  # a notice to another tier, not a step of the case
        track = self._track(d)
        at = d.at.timestamp()
        first = d.networks[0] if d.networks else UNKNOWN_NETWORK
        if action == DispositionAction.DISPATCH:
            return _Effect(events_in=1, cases_opened=1, reporter=first)
        if action == DispositionAction.MERGE:
            match = _MERGE_REASON.match(reason)
            reporter = match.group("net") if match else UNKNOWN_NETWORK
            return _Effect(events_in=1, merges=1, reporter=reporter, first_network=first)
        if action in (DispositionAction.ESCALATE, DispositionAction.SLA_BREACH):
            if reason.startswith(_RESOLVE_MISSED):
                track.late = True
            return _Effect(escalations=1) if action == DispositionAction.ESCALATE else _NOTHING
        if action != DispositionAction.STATE:
            return _NOTHING
        if d.state == "resolved" and reason == "resolved":
            # The engine's rule (Engine._fb_resolve): late when resolved after the deadline.
            if track.deadline is not None and at > track.deadline:
                track.late = True
            return _NOTHING
        if d.state == "closed" and reason == "closed":
            on_time = not track.late
            self._cases.pop(d.case_id, None)  # finished: free the slot (a reopen starts afresh)
            return _Effect(cases_closed=1, closed_on_time=int(on_time))
        if d.state == "cancelled":
            self._cases.pop(d.case_id, None)
            return _NOTHING
        if reason.startswith("rework"):
            return _Effect(reworks=1)
        if reason.startswith("extended to"):
            return _Effect(extensions=1)
        return _NOTHING

    def _track(self, d: Disposition) -> _CaseTrack:
        """The case's entry (most recently used), with the resolve deadline ``d`` carries."""
        track = self._cases.get(d.case_id)
        if track is None:
            track = self._cases[d.case_id] = _CaseTrack()
            if len(self._cases) > self._max_cases:
                self._cases.popitem(last=False)
        else:
            self._cases.move_to_end(d.case_id)
        # Accepted, extended, reworked and escalated steps restart or move the resolve
        # deadline; ``resolved`` itself carries none (the stage stopped), so the one seen
        # last before it is the one the engine compared with.
        if d.stage == "resolve" and d.deadline is not None:
            track.deadline = d.deadline.timestamp()
        return track

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

        A window drained early goes out as a partial record; dispositions that fall in it
        later go out in another one, and consumers sum the two (see ``agents.kpi``).
        """
        return self._emit(float("inf"))

    def _emit(self, cutoff: float) -> list[MergeMetrics]:
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


def _add(bucket: _Bucket, e: _Effect) -> None:
    bucket.events_in += e.events_in
    bucket.cases_opened += e.cases_opened
    bucket.cases_closed += e.cases_closed
    bucket.closed_on_time += e.closed_on_time
    bucket.merges += e.merges
    bucket.reworks += e.reworks
    bucket.extensions += e.extensions
    bucket.escalations += e.escalations
    if e.reporter is not None:
        bucket.reports_by_network[e.reporter] += 1
    if e.first_network is not None and e.reporter is not None:
        # Every pair, "a>a" included (duplicates inside one network); merged_by_network
        # keeps to its contract meaning: reports joining a case *another* network opened.
        bucket.merged_by_pair[f"{e.first_network}>{e.reporter}"] += 1
        if e.first_network != e.reporter:
            bucket.merged_by_network[e.reporter] += 1


def _metrics(b: _Bucket, county: str, label: str, start: int, end: int) -> MergeMetrics:
    return MergeMetrics(
        region_code=county,
        window_start=datetime.fromtimestamp(start, UTC),
        window_end=datetime.fromtimestamp(end, UTC),
        window=label,
        events_in=b.events_in,
        cases_opened=b.cases_opened,
        cases_closed=b.cases_closed,
        closed_on_time=b.closed_on_time,
        merges=b.merges,
        reworks=b.reworks,
        extensions=b.extensions,
        escalations=b.escalations,
        close_rate=_ratio(b.cases_closed, b.cases_opened),
        on_time_close_rate=_ratio(b.closed_on_time, b.cases_closed),
        rework_rate=_ratio(b.reworks, b.cases_closed),
        extension_rate=_ratio(b.extensions, b.cases_closed),
        escalation_rate=_ratio(b.escalations, b.cases_opened),
        merge_ratio=_ratio(b.merges, b.events_in),
        merged_by_network=dict(sorted(b.merged_by_network.items())),
        merged_by_pair=dict(sorted(b.merged_by_pair.items())),
        reports_by_network=dict(sorted(b.reports_by_network.items())),
    )
