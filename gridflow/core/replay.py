"""Replay recorded input records through one rules bundle, offline: what it decides.

``gridflow rules diff`` replays the same records through two bundles and compares the
results (:mod:`gridflow.core.rules_diff`). The replay is the worker's own code: the
ingest checks of :mod:`gridflow.core.ingest` and the pure :class:`Engine`, with the time
injected, so the same records and bundle always give the same decisions.

Time: a record is taken as received at its own time (an event's ``reported_at``, a
feedback's ``at``), or at the previous record's time when that is later (the file's
order is the topic's order, and a worker's clock never runs back). SLA timers fire at
their due instant, between records, and after the last record up to ``until``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from gridflow.core.engine import Engine, Outcome
from gridflow.core.facts import StepKind
from gridflow.core.ids import region_of_case
from gridflow.core.ingest import IngestLimits, decode_events, decode_feedback
from gridflow.core.region_state import RegionState
from schemas import DispositionAction, Feedback, GridEvent, RejectReason
from schemas.common import Tier

__all__ = ["CaseDecisions", "Record", "ReplayResult", "replay"]

#: The ingest check's clock before any record set one: nothing is "in the future".
_NO_CLOCK = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Record:
    """One recorded input record: a ``grid.events.in`` or ``grid.feedback`` value."""

    #: where it came from (the line of the file), for messages and refusals.
    line: int
    value: bytes


@dataclass(slots=True)
class CaseDecisions:
    """Everything a bundle decided about one case, as compared between bundles."""

    case_id: str
    title: str
    category: str
    priority: str
    tier: str
    centre: str
    department: str
    policy: str
    rule: str
    #: tiers informed at opening, top down.
    inform: tuple[str, ...]
    #: the first accept deadline (epoch s), and the first resolve deadline if one ran.
    accept_by: float | None
    resolve_by: float | None = None
    #: (tier reached, epoch s) of every escalation, in order.
    escalations: list[tuple[str, float]] = field(default_factory=list)
    #: the case's state after the last record and timer.
    state: str = ""
    #: the reports the case holds (merging is decided by the catalogue too).
    events: list[str] = field(default_factory=list)
    #: the centre that checks the case (核查) after the last step (``verifiers:``).
    verifier: str = ""


@dataclass(slots=True)
class ReplayResult:
    """What one bundle decided for a whole recording."""

    rules_version: str
    cases: dict[str, CaseDecisions] = field(default_factory=dict)
    #: input (event_id, feedback_id, or ``line N`` when unreadable) -> refusal reason.
    refused: dict[str, str] = field(default_factory=dict)
    records: int = 0
    events: int = 0
    feedback: int = 0
    #: inputs outside the ``[start, until)`` window, not replayed.
    skipped: int = 0
    #: SLA timer firings that acted (warnings, escalations, breaches).
    ticks: int = 0


def _is_feedback(value: bytes) -> bool:
    """A feedback record names a ``feedback_id`` (an object, or a batch's first element)."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    if isinstance(doc, list):
        doc = doc[0] if doc else None
    return isinstance(doc, dict) and "feedback_id" in doc


class _Replayer:
    def __init__(self, engine: Engine, start: float | None, until: float | None) -> None:
        self.engine = engine
        self.start = start
        self.until = until
        self.states: dict[str, RegionState] = {}
        self.due: list[tuple[float, str, str]] = []
        self.queued: set[tuple[float, str]] = set()
        self.clock: float | None = None
        self.result = ReplayResult(rules_version=engine.rules.version)
        self.villages = frozenset(r.code for r in engine.regions.by_tier(Tier.VILLAGE))
        self.limits = IngestLimits()

    def state(self, region: str) -> RegionState:
        found = self.states.get(region)
        if found is None:
            found = self.states[region] = RegionState(region=region)
        return found

    def in_window(self, at: float) -> bool:
        if self.start is not None and at < self.start:
            return False
        return self.until is None or at < self.until

    def received(self, own: float) -> float:
        now = own if self.clock is None else max(self.clock, own)
        self.run_timers(now)
        self.clock = now
        return now

    def record(self, record: Record) -> None:
        self.result.records += 1
        where = f"line {record.line}"
        ingest_clock = _NO_CLOCK if self.clock is None else datetime.fromtimestamp(self.clock, UTC)
        if _is_feedback(record.value):
            feedback, rejects = decode_feedback(
                record.value, known_center=self.engine.knows_centre, limits=self.limits
            )
            for fb in feedback:
                self.feedback(fb)
        else:
            events, rejects = decode_events(
                record.value,
                known_region=self.villages,
                known_network=self.engine.catalogue.networks,
                now=ingest_clock,
                limits=self.limits,
            )
            for event in events:
                self.event(event)
        for reject in rejects:
            key = where if reject.batch_index is None else f"{where}[{reject.batch_index}]"
            self.result.refused[self._input_id(reject.original) or key] = reject.reason.value

    @staticmethod
    def _input_id(original: bytes) -> str | None:
        try:
            doc = orjson.loads(original)
        except orjson.JSONDecodeError:
            return None
        if isinstance(doc, dict):
            for key in ("feedback_id", "event_id"):
                if isinstance(doc.get(key), str):
                    return str(doc[key])
        return None

    def event(self, event: GridEvent) -> None:
        own = event.reported_at.timestamp()
        if not self.in_window(own):
            self.result.skipped += 1
            return
        self.result.events += 1
        now = self.received(own)
        out = self.engine.apply_event(self.state(event.region_code), event, now)
        self.note(out, self.state(event.region_code))

    def feedback(self, fb: Feedback) -> None:
        own = fb.at.timestamp()
        if not self.in_window(own):
            self.result.skipped += 1
            return
        self.result.feedback += 1
        now = self.received(own)
        region = region_of_case(fb.case_id)
        if region is None:
            self.result.refused[fb.feedback_id] = RejectReason.UNKNOWN_CASE.value
            return
        state = self.state(region)
        out = self.engine.apply_feedback(state, fb, now)
        if out.reject is not None:
            self.result.refused[fb.feedback_id] = out.reject[0].value
        self.note(out, state)

    def run_timers(self, now: float) -> None:
        while self.due and self.due[0][0] <= now:
            due, case_id, region = heapq.heappop(self.due)
            self.queued.discard((due, case_id))
            state = self.state(region)
            out = self.engine.apply_tick(state, case_id, due)
            if out.dispositions:
                self.result.ticks += 1
            self.note(out, state)

    def note(self, out: Outcome, state: RegionState) -> None:
        cases = self.result.cases
        for disposition, fact in zip(out.dispositions, out.facts, strict=True):
            case_id = disposition.case_id
            decided = cases.get(case_id)
            if fact.kind is StepKind.OPENED:
                case = state.cases[case_id]
                deadline = disposition.deadline
                decided = cases[case_id] = CaseDecisions(
                    case_id=case_id,
                    title=case.title,
                    category=case.category,
                    priority=case.priority,
                    tier=disposition.tier.value,
                    centre=disposition.center_code,
                    department=case.department,
                    policy=case.policy,
                    rule=case.rule,
                    inform=(),
                    accept_by=deadline.timestamp() if deadline is not None else None,
                )
            if decided is None:
                continue
            if fact.kind is StepKind.INFORMED:
                decided.inform = (*decided.inform, disposition.tier.value)
            elif disposition.action is DispositionAction.ESCALATE:
                decided.escalations.append((disposition.tier.value, disposition.at.timestamp()))
            if (
                decided.resolve_by is None
                and disposition.stage == "resolve"
                and disposition.deadline is not None
            ):
                decided.resolve_by = disposition.deadline.timestamp()
            decided.state = disposition.state or ""
            decided.verifier = disposition.verifier or decided.verifier
            decided.events = list(disposition.events)
        for due, case_id in out.due:
            if (due, case_id) not in self.queued:
                self.queued.add((due, case_id))
                heapq.heappush(self.due, (due, case_id, state.region))


def replay(
    engine: Engine,
    records: Iterable[Record],
    *,
    start: float | None = None,
    until: float | None = None,
) -> ReplayResult:
    """Every decision ``engine``'s bundle makes for ``records``, in order.

    Inputs whose own time is before ``start`` or not before ``until`` are skipped (and
    counted). Timers then run up to ``until``, or to the last record's time without it.
    """
    replayer = _Replayer(engine, start, until)
    for record in records:
        replayer.record(record)
    horizon = until if until is not None else replayer.clock
    if horizon is not None:
        replayer.run_timers(horizon)
    return replayer.result
