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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

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
_NETWORK = re.compile(r"[a-z][a-z0-9_]{0,31}")
_JOINED = " joined the case"
_RESOLVE_MISSED = "resolve deadline missed"

# Plain strings: a StrEnum member compares and hashes as its value, so these match the
# enum members (and a disposition built without validation that holds the bare string).
_DISPATCH: str = DispositionAction.DISPATCH.value
_MERGE: str = DispositionAction.MERGE.value
_STATE: str = DispositionAction.STATE.value
_ESCALATE: str = DispositionAction.ESCALATE.value
_SLA_BREACH: str = DispositionAction.SLA_BREACH.value

# What a counted disposition is; an index into ``_Tally.kinds``.
_OPENED, _MERGED, _CLOSED_ON_TIME, _CLOSED_LATE, _REWORK, _EXTENSION, _ESCALATION = range(7)


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
    """Counted dispositions of one county that share every window, not yet in a bucket.

    Dispositions between two flushes mostly fall in the same few windows, so they are
    tallied here and added to each window's bucket once per flush instead of once per
    disposition and window.
    """

    # Plain dicts and a hand-written __init__: a Counter or a dataclass default factory
    # costs more than the handful of dispositions a tally often holds.
    __slots__ = ("kinds", "merged_by", "opened_by")

    def __init__(self) -> None:
        #: counted dispositions by kind (``_OPENED`` ... ``_ESCALATION``).
        self.kinds = [0, 0, 0, 0, 0, 0, 0]
        #: dispatches by the network that sent the report (the case's first network).
        self.opened_by: dict[str, int] = {}
        #: merges by (network that first reported the case, network that sent the report).
        self.merged_by: dict[tuple[str, str], int] = {}


def _ratio(part: int, whole: int) -> float:
    # A window with no denominator has no rate; 0.0 is the model's default and consumers
    # recompute rates from the summed counts anyway (see docs/kpis.md).
    return part / whole if whole else 0.0


@lru_cache(maxsize=256)
def _is_network(name: str) -> bool:
    # A handful of networks exist: remembering the verdict beats a regex per merge.
    return _NETWORK.fullmatch(name) is not None


def _merge_reporter(reason: str) -> str:
    """The network a merge's reason names, exactly as ``_MERGE_REASON`` reads it."""
    # Fast path for the engine's own wording: the regex's greedy ``.+`` settles on the
    # last " from " that is followed by a network and " joined the case", so when the
    # last " from " of the reason qualifies, it is the regex's answer. ``.`` matches no
    # newline, hence the newline test. Anything else asks the regex itself.
    at = reason.rfind(" from ")
    if at >= 8 and reason.startswith("report ") and "\n" not in reason:
        begin = at + 6
        end = reason.find(" ", begin)
        if end > begin and reason.startswith(_JOINED, end):
            net = reason[begin:end]
            if _is_network(net):
                return net
    match = _MERGE_REASON.match(reason)
    return match.group("net") if match else UNKNOWN_NETWORK


class KpiWindows:
    """Tumbling per-county KPI windows over dispositions, flushed when they end."""

    __slots__ = (
        "_buckets",
        "_cases",
        "_grace_s",
        "_horizon",
        "_late_cases",
        "_max_cases",
        "_pending",
        "_windows",
        "late",
    )

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
        #: Counts not yet added to ``_buckets``: window starts -> county -> tally.
        self._pending: dict[tuple[int, ...], dict[str, _Tally]] = {}
        #: What this worker has seen of each case's resolve stage, least recently used
        #: first: case id -> the resolve-stage deadline (epoch s) last carried by one of
        #: its dispositions, if any.
        self._cases: OrderedDict[str, float | None] = OrderedDict()
        #: The cases of ``_cases`` known to be late. Sticky, like ``Case.on_time``: a
        #: rework or reopen does not make a late case on time. A set beside the table
        #: rather than a record per case: most cases are never late, and a new entry is
        #: then a single dict slot, made for every case this worker opens.
        self._late_cases: set[str] = set()
        #: end of the last flushed period (epoch s); a disposition before it is late.
        self._horizon = float("-inf")
        #: dispositions that arrived for a window already flushed; they are emitted in a
        #: second partial record of that window at the next flush.
        self.late = 0

    def __len__(self) -> int:
        """Open windows (one per window size, start and county that saw something)."""
        self._add_pending()
        return len(self._buckets)

    @property
    def tracked_cases(self) -> int:
        """Cases whose resolve deadline is being remembered."""
        return len(self._cases)

    # ---------------------------------------------------------------- observe
    def observe(self, disposition: Disposition, county: str) -> None:
        """Count one disposition in every window of ``county`` that contains its ``at``."""
        self.observe_batch(((disposition, county),))

    def observe_batch(self, items: Iterable[tuple[Disposition, str]]) -> None:
        """Count each ``(disposition, county)``, in order, as :meth:`observe` would.

        The case table is updated disposition by disposition (lateness depends on the
        order); the counts are tallied per county and window starts, and added to the
        windows at the next flush. The same windows and counts as one :meth:`observe` per
        disposition, at a fraction of the cost: this runs for every disposition the
        worker emits.
        """
        cases = self._cases
        touch_case = cases.move_to_end
        forget_case = cases.pop
        late_cases = self._late_cases
        max_cases = self._max_cases
        horizon = self._horizon
        late = 0
        tallies = self._pending
        by_county: dict[str, _Tally] = {}
        # The last ``at`` seen (steps of one input share the object) and the span
        # [low, high) of times whose windows all start where the current ones do.
        last_at: datetime | None = None
        ts = low = high = 0.0
        last_deadline: datetime | None = None
        deadline_ts = 0.0
        for disposition, county in items:
            # The fields straight from the model's __dict__, where pydantic keeps them: a
            # BaseModel attribute read goes through its __getattr__ hook, a few times slower.
            d = disposition.__dict__
            action = d["action"]
            reason = d["reason"] or ""
            if action == _STATE and reason.startswith("inform:"):
                continue  # a notice to another tier, not a step of the case
            # The case's entry (most recently used), with the resolve deadline ``d``
            # carries. Accepted, extended, reworked and escalated steps restart or move
            # the resolve deadline; ``resolved`` itself carries none (the stage stopped),
            # so the one seen last before it is the one the engine compared with.
            case_id = d["case_id"]
            if case_id in cases:
                touch_case(case_id)
            else:
                cases[case_id] = None
                if len(cases) > max_cases:
                    late_cases.discard(cases.popitem(last=False)[0])
            if d["stage"] == "resolve":
                deadline = d["deadline"]
                if deadline is not None:
                    if deadline is not last_deadline:
                        last_deadline, deadline_ts = deadline, deadline.timestamp()
                    cases[case_id] = deadline_ts
            at = d["at"]
            if at is not last_at:
                last_at, ts = at, at.timestamp()
            # What it counts as (see the table in the module docstring).
            reporter: str | None = None
            pair: tuple[str, str] | None = None
            if action == _DISPATCH:
                kind = _OPENED
                networks = d["networks"]
                reporter = networks[0] if networks else UNKNOWN_NETWORK
            elif action == _STATE:
                state = d["state"]
                if state == "resolved" and reason == "resolved":
                    # The engine's rule (Engine._fb_resolve): late when resolved after
                    # the deadline.
                    resolve_by = cases[case_id]
                    if resolve_by is not None and ts > resolve_by:
                        late_cases.add(case_id)
                    continue
                if state == "closed" and reason == "closed":
                    kind = _CLOSED_LATE if case_id in late_cases else _CLOSED_ON_TIME
                    # Finished: free the slot (a reopen starts afresh).
                    forget_case(case_id)
                    late_cases.discard(case_id)
                elif state == "cancelled":
                    forget_case(case_id)
                    late_cases.discard(case_id)
                    continue
                elif reason.startswith("rework"):
                    kind = _REWORK
                elif reason.startswith("extended to"):
                    kind = _EXTENSION
                else:
                    continue
            elif action == _MERGE:
                kind = _MERGED
                networks = d["networks"]
                pair = (networks[0] if networks else UNKNOWN_NETWORK, _merge_reporter(reason))
            elif action in (_ESCALATE, _SLA_BREACH):
                if reason.startswith(_RESOLVE_MISSED):
                    late_cases.add(case_id)
                if action != _ESCALATE:
                    continue
                kind = _ESCALATION
            else:
                continue  # sla_warning, reroute
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
            if pair is not None:
                merged_by = tally.merged_by
                merged_by[pair] = merged_by.get(pair, 0) + 1
            elif reporter is not None:
                opened_by = tally.opened_by
                opened_by[reporter] = opened_by.get(reporter, 0) + 1
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

        A window drained early goes out as a partial record; dispositions that fall in it
        later go out in another one, and consumers sum the two (see ``gridflow.runtime.kpi_publisher``).
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
