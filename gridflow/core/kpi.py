"""Windowed KPIs (考核指标) per county, computed from the engine's step facts.

Pure and deterministic: :class:`KpiWindows` is fed :class:`~gridflow.core.facts.StepFact`
values with the county they belong to and keeps tumbling windows (by default 60 s and
3600 s, aligned to the Unix epoch, so every worker cuts the same windows) keyed by the
step's ``at``, i.e. by event time. :meth:`KpiWindows.flush` hands back every window that
has ended and forgets it, so memory stays bounded by the number of open windows.

What is counted, and from which step (see ``docs/kpis.md`` for the KPI meanings):

=================  ============================================================
``events_in``      ``opened`` (the report that opened the case) + ``merged``
``cases_opened``   ``opened`` (立案)
``cases_closed``   ``closed`` (结案)
``closed_on_time`` ``closed`` with ``on_time`` (按期结案)
``merges``         ``merged``
``reworks``        ``reworked`` (返工)
``extensions``     ``extended`` (延期)
``escalations``    ``escalated`` (one per tier the case went up)
=================  ============================================================

Every other step (informed, accepted, resolved, verified, cancelled 注销, reopened,
returned, warned, breached) counts towards nothing.

Whether a close is on time is the engine's judgement, carried by the ``closed`` fact and
taken from the case's own state: it is right whichever worker closes the case, including
one that did not see it opened or resolved (after a rebalance or a restart). Nothing is
reconstructed here from what this worker happened to see, and no text is parsed.

Facts are not de-duplicated here: the engine already turns a replayed input into a
no-op (no step), and remembering every step of an hour window would cost memory in
proportion to the throughput.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gridflow.core.facts import StepFact, StepKind
from schemas import MergeMetrics

__all__ = ["DEFAULT_WINDOWS", "UNKNOWN_NETWORK", "KpiWindows"]

#: (label, size in seconds) of the tumbling windows kept by default.
DEFAULT_WINDOWS: tuple[tuple[str, int], ...] = (("1m", 60), ("1h", 3600))
#: Network named when a step does not say which network reported.
UNKNOWN_NETWORK = "unknown"

# What a counted step is; an index into ``_Tally.kinds``.
_OPENED, _MERGED, _CLOSED_ON_TIME, _CLOSED_LATE, _REWORK, _EXTENSION, _ESCALATION = range(7)
#: The steps counted by kind alone (``closed`` depends on ``on_time`` too).
_COUNTED = {
    StepKind.OPENED: _OPENED,
    StepKind.MERGED: _MERGED,
    StepKind.REWORKED: _REWORK,
    StepKind.EXTENDED: _EXTENSION,
    StepKind.ESCALATED: _ESCALATION,
}


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


class _Tally:
    """Counted steps of one county that share every window, not yet in a bucket.

    Steps between two flushes mostly fall in the same few windows, so they are
    tallied here and added to each window's bucket once per flush instead of once per
    step and window.
    """

    # Plain dicts and a hand-written __init__: a Counter or a dataclass default factory
    # costs more than the handful of steps a tally often holds.
    __slots__ = ("kinds", "merged_by", "opened_by")

    def __init__(self) -> None:
        #: counted steps by kind (``_OPENED`` ... ``_ESCALATION``).
        self.kinds = [0, 0, 0, 0, 0, 0, 0]
        #: dispatches by the network that sent the report (the case's first network).
        self.opened_by: dict[str, int] = {}
        #: merges by (network that first reported the case, network that sent the report).
        self.merged_by: dict[tuple[str, str], int] = {}


def _ratio(part: int, whole: int) -> float:
    # A window with no denominator has no rate; 0.0 is the model's default and consumers
    # recompute rates from the summed counts anyway (see docs/kpis.md).
    return part / whole if whole else 0.0


class KpiWindows:
    """Tumbling per-county KPI windows over step facts, flushed when they end."""

    __slots__ = ("_buckets", "_grace_s", "_horizon", "_pending", "_windows", "late")

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
        counted = _COUNTED
        # The span [low, high) of times whose windows all start where the current ones do.
        low = high = 0.0
        for fact, county in items:
            step = fact.kind
            kind = counted.get(step)
            if kind is None:
                if step is not StepKind.CLOSED:
                    continue
                kind = _CLOSED_ON_TIME if fact.on_time else _CLOSED_LATE
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
            tally.kinds[kind] += 1
            if kind == _OPENED:
                reporter = fact.network or UNKNOWN_NETWORK
                opened_by = tally.opened_by
                opened_by[reporter] = opened_by.get(reporter, 0) + 1
            elif kind == _MERGED:
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
                (opened, merged, on_time, closed_late, reworks, extensions, escalations) = (
                    tally.kinds
                )
                for label, start in zip(labels, starts, strict=True):
                    key = (label, start, county)
                    bucket = buckets.get(key)
                    if bucket is None:
                        bucket = buckets[key] = _Bucket()
                    bucket.events_in += opened + merged
                    bucket.cases_opened += opened
                    bucket.cases_closed += on_time + closed_late
                    bucket.closed_on_time += on_time
                    bucket.merges += merged
                    bucket.reworks += reworks
                    bucket.extensions += extensions
                    bucket.escalations += escalations
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
