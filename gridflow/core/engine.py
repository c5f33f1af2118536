"""The case engine: events, feedback and SLA ticks in, dispositions and rejections out.

Pure and deterministic: every function takes the region's state and the time of the input
record (its Kafka timestamp, so a replay computes the same thing) and mutates the state in
place. Replayed inputs are recognised by their ids and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

from gridflow.core.bounded_cache import remember
from gridflow.core.case import Case, CaseStatus
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier
from gridflow.core.crossvillage import Joined
from gridflow.core.danger import DangerLexicon
from gridflow.core.facts import StepFact, StepKind
from gridflow.core.ids import case_id_for, disposition_id
from gridflow.core.inhibition import InhibitRule, InhibitRules, find_inhibitor
from gridflow.core.loop import LOOP, StageChange, Who, may_act
from gridflow.core.merge import Report, find_merge_target
from gridflow.core.offices import split_office
from gridflow.core.opening import Assessment, assess_report, plan_case, stage_clock, utc
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph, tier_of_code
from gridflow.core.rules import RouteFacts, RuleSet
from gridflow.core.severity import SeverityRules
from gridflow.core.silences import SilenceBook
from gridflow.core.sla import SlaPolicy, Stage, extension_verdict, stage_timestamps
from gridflow.core.supervision import CaseRoles, case_roles, known_centre, verifier_of
from gridflow.core.tiers import SEVERITY_RANK, TIERS_UP, is_above, parent_tier
from gridflow.core.trusted import TrustedBuilder
from schemas import (
    Disposition,
    DispositionAction,
    Feedback,
    FeedbackAction,
    GridEvent,
    RejectReason,
)
from schemas.common import Satisfaction, Severity, Tier
from schemas.silence import Silence

#: How often a region row is swept for expired ids and finished cases (event time).
_EXPIRE_EVERY_S = 3600.0
#: 危害大小: independent reports from this many networks, or this many reports, make a
#: case at least ``high`` (many people affected or seeing it). Project choice.
_WIDE_NETWORKS = 3
_WIDE_REPORTS = 5
#: A case in these states is not re-routed by a later report.
_SETTLED = frozenset(
    {
        CaseStatus.RESOLVED,
        CaseStatus.VERIFIED,
        CaseStatus.CLOSED,
        CaseStatus.CANCELLED,
        CaseStatus.MERGED,
    }
)


class _Cause(Protocol):
    """What re-routing needs of the report that made a case worse (a GridEvent, or
    :class:`~gridflow.core.crossvillage.Joined` for a case joined across villages)."""

    @property
    def source_network(self) -> str: ...
    @property
    def reported_at(self) -> datetime: ...
    @property
    def event_id(self) -> str: ...


@dataclass(slots=True)
class Outcome:
    """What applying one input produced."""

    dispositions: list[Disposition] = field(default_factory=list)
    #: what each disposition's step did, as data: ``facts[i]`` belongs to
    #: ``dispositions[i]``. KPIs and metrics count these, never the ``reason`` text.
    facts: list[StepFact] = field(default_factory=list)
    #: (reason, detail) when the input was refused.
    reject: tuple[RejectReason, str] | None = None
    #: "event" / "feedback" when the input was a replay: a counted no-op.
    duplicate: str | None = None
    #: True when the region's state changed and must be written back.
    changed: bool = False
    #: cases whose timers need (re)scheduling: (due epoch, case id)
    due: list[tuple[float, str]] = field(default_factory=list)
    #: 屏蔽 across villages: a report that falls under a silence held by a centre above
    #: this village, to be applied in that centre's row (:meth:`Engine.apply_silenced`).
    #: (the silence in force, the report, the input record's time).
    silenced: tuple[Silence, GridEvent, float] | None = None


_TIERS = {tier.value: tier for tier in Tier}
_SEVERITIES = {severity.value: severity for severity in Severity}
_disposition = TrustedBuilder(Disposition)
_VERIFIERS_KEPT = 65536
_MERGED, _CLOSED = StepKind.MERGED, StepKind.CLOSED
#: The timed stage a feedback step completes (its deadline is judged met or missed).
_COMPLETES = {
    StepKind.ACCEPTED: "accept",
    StepKind.RESOLVED: "resolve",
    StepKind.VERIFIED: "verify",
    StepKind.REWORKED: "verify",
    StepKind.CLOSED: "verify",  # straight from resolved, where the policy allows it
}
#: What a feedback action's effect returns: a refusal, or the disposition's reason.
_Effect = tuple[RejectReason, str] | str


def _raise_priority(case: Case, severity: Severity) -> str:
    """Raise ``case``'s priority to ``severity`` when that is worse (发展态势); the
    reason's suffix saying so, or ``""``."""
    if SEVERITY_RANK[severity] <= SEVERITY_RANK[Severity(case.priority)]:
        return ""
    said = f"; priority raised {case.priority} -> {severity.value}"
    case.priority = severity.value
    return said


@dataclass(slots=True)
class Engine:
    """Applies inputs to region state using the loaded reference data and rules."""

    regions: RegionGraph
    catalogue: Catalogue
    classifier: TextClassifier
    rules: RuleSet
    severity_rules: SeverityRules | None = None
    danger: DangerLexicon | None = None
    sla_scale: float = 1.0
    retention_s: float = 7 * 86400.0
    #: silences read from ``grid.silences`` (the worker's reader fills it in place).
    silences: SilenceBook | None = None
    #: the bundle's inhibit rules (``inhibit.yaml``).
    inhibitions: InhibitRules | None = None
    #: (category, region, holder) -> verifier, remembered: every step names it.
    _verifiers: dict[tuple[str, str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # ----------------------------------------------------------------- events
    def apply_event(self, state: RegionState, event: GridEvent, now: float) -> Outcome:
        """Open a case for a new incident, merge a duplicate report, or skip a replay."""
        out = Outcome()
        if event.event_id in state.seen_events:
            out.duplicate = "event"
            return out
        self._maybe_expire(state, now)
        assessment = assess_report(
            event, self.catalogue, self.classifier, self.severity_rules, self.danger
        )
        category, severity = assessment.category, assessment.severity
        reported = event.reported_at.timestamp()
        lat = event.location.lat if event.location else None
        lon = event.location.lon if event.location else None
        silences = self.silences
        silence = (
            silences.match(event, category.code, now, self.regions.chain) if silences else None
        )
        report = Report(category.code, reported, lat, lon, event.grid_code)
        target = (
            find_merge_target(
                state.cases.values(),
                report,
                radius_m=category.merge_radius_m,
                window_s=category.merge_window_s,
                compatible=self.catalogue.compatible,
            )
            if silence is None
            else None
        )
        inhibitions = self.inhibitions
        # Only a report of a category some rule inhibits looks for an inhibiting case.
        inhibiting = (
            inhibitions.for_target(category.code)
            if inhibitions is not None and target is None and silence is None
            else ()
        )
        inhibitor = find_inhibitor(state.cases.values(), report, inhibiting) if inhibiting else None
        if silence is not None and silence.center_code != state.region:
            # One known-matter case per silence, whichever village reports: the report is
            # applied in the row of the silence's centre (apply_silenced). It is seen here
            # all the same, so a duplicate of it is a no-op here too.
            state.seen_events[event.event_id] = (
                f"silence:{silence.silence_id}",
                now + self.retention_s,
            )
            out.silenced = (silence, event, now)
            out.changed = True
            return out
        if silence is not None:
            target = self._silenced(state, event, assessment, silence, reported, now, out)
        elif target is not None:
            routed_at = Severity(target.priority)
            self._merge(target, event, severity, reported, now, out)
            self._reroute_if_worse(target, event, routed_at, now, out)
        elif inhibitor is not None:
            target = inhibitor[0]
            self._inhibited(target, inhibitor[1], event, reported, now, out)
        else:
            target = self._open(state, event, assessment, reported, now, out)
        state.seen_events[event.event_id] = (target.id, now + self.retention_s)
        out.changed = True
        return out

    def apply_silenced(
        self, state: RegionState, event: GridEvent, silence: Silence, now: float
    ) -> Outcome:
        """屏蔽, in the row of the silence's centre (``state.region`` is its code): the
        report joins the silence's one known-matter case, or opens it.

        ``silence`` is the revision that was in force for the report where it came in
        (its village decided, :meth:`apply_event`), so the decision does not depend on
        when this row reads it. A report seen here already is a counted no-op: the
        village's batch was replayed, or the report came twice.
        """
        out = Outcome()
        if event.event_id in state.seen_events:
            out.duplicate = "event"
            return out
        self._maybe_expire(state, now)
        assessment = assess_report(
            event, self.catalogue, self.classifier, self.severity_rules, self.danger
        )
        reported = event.reported_at.timestamp()
        target = self._silenced(state, event, assessment, silence, reported, now, out)
        state.seen_events[event.event_id] = (target.id, now + self.retention_s)
        out.changed = True
        return out

    def _open(
        self,
        state: RegionState,
        event: GridEvent,
        assessment: Assessment,
        reported: float,
        now: float,
        out: Outcome,
    ) -> Case:
        # The same plan `gridflow rules test` prints, counted from the record's time.
        plan = plan_case(event, assessment, self.rules, self.regions, now, self.sla_scale)
        decision = plan.decision
        case = Case(
            id=case_id_for(event.region_code, event.event_id),
            region=event.region_code,
            category=assessment.category.code,
            priority=plan.priority.value,
            department=plan.department,
            tier=decision.tier.value,
            holder=plan.centre,
            status=CaseStatus.DISPATCHED,
            rule=decision.rule,
            policy=decision.policy,
            opened_at=now,
            first_reported_at=reported,
            last_reported_at=reported,
            title=(event.title or assessment.text)[:60],
            lat=event.location.lat if event.location else None,
            lon=event.location.lon if event.location else None,
            grid=event.grid_code,
            request_type=event.request_type,
            events=[event.event_id],
            networks=[event.source_network],
            event_networks=[event.source_network],
        )
        self._set_stage(case, "accept", now, plan.accept_by, plan.accept_warn_at)
        state.cases[case.id] = case
        self._step(
            out,
            case,
            DispositionAction.DISPATCH,
            now,
            StepKind.OPENED,
            key=("dispatch",),
            network=event.source_network,
        )
        for informed, centre in plan.informed:
            self._step(
                out,
                case,
                DispositionAction.STATE,
                now,
                StepKind.INFORMED,
                reason=f"inform: {decision.tier.value} centre {case.holder} holds a "
                f"{plan.priority.value} case",
                center=centre,
                tier=informed,
                key=("inform", informed.value),
            )
        self._schedule(case, out)
        return case

    def _merge(
        self,
        case: Case,
        event: GridEvent,
        severity: Severity,
        reported: float,
        now: float,
        out: Outcome,
    ) -> None:
        case.add_report(event.event_id, event.source_network)
        case.widen_reported(reported, reported)
        reason = f"report {event.event_id} from {event.source_network} joined the case"
        reason += _raise_priority(case, severity)
        self._step(
            out,
            case,
            DispositionAction.MERGE,
            now,
            StepKind.MERGED,
            reason=reason,
            key=("merge", event.event_id),
            network=event.source_network,
        )

    def _silenced(
        self,
        state: RegionState,
        event: GridEvent,
        assessment: Assessment,
        silence: Silence,
        reported: float,
        now: float,
        out: Outcome,
    ) -> Case:
        """屏蔽: the report joins its silence's known-matter case in this row (the
        silence's centre's own region: one case for every village the silence covers).

        The first report opens the case, held by the silence's centre without timers (a
        known matter is not escalated); later ones join it. Neither is lost: each is a
        step with its fact (``silenced``, placed in the report's village for the KPIs)
        and the silence named in the reason.
        """
        sid = silence.silence_id
        why = f"silence {sid} ({silence.kind.value}: {silence.comment[:80]}; by {silence.author})"
        case = next((c for c in state.cases.values() if c.silence == sid and c.is_open), None)
        if case is not None:
            self._join(case, event, reported)
            self._step(
                out,
                case,
                DispositionAction.MERGE,
                now,
                StepKind.SILENCED,
                reason=f"report {event.event_id} joined the known matter of {why}",
                key=("merge", event.event_id),
                network=event.source_network,
                silence=sid,
            )
            out.facts[-1].region = event.region_code
            return case
        plan = plan_case(event, assessment, self.rules, self.regions, now, self.sla_scale)
        centre = self.regions.get(silence.center_code)
        case = Case(
            # The centre's region: feedback on the case is routed by its id to this row.
            id=case_id_for(state.region, f"silence:{sid}:{event.event_id}"),
            region=state.region,
            category=assessment.category.code,
            priority=plan.priority.value,
            department=plan.department,
            tier=centre.tier.value if centre is not None else plan.tier.value,
            holder=silence.center_code,
            status=CaseStatus.DISPATCHED,
            rule=f"silence:{sid}",
            policy=plan.policy,
            opened_at=now,
            first_reported_at=reported,
            last_reported_at=reported,
            title=f"已知事项: {silence.comment}"[:60],
            # No location and no grid: find_merge_target never offers this case to a
            # report that is not silenced.
            request_type=event.request_type,
            events=[event.event_id],
            networks=[event.source_network],
            event_networks=[event.source_network],
            stage=None,
            silence=sid,
        )
        state.cases[case.id] = case
        self._step(
            out,
            case,
            DispositionAction.DISPATCH,
            now,
            StepKind.SILENCED,
            reason=f"known matter opened by report {event.event_id}: {why}; "
            "reports of it join this case, none escalates",
            key=("dispatch",),
            network=event.source_network,
            silence=sid,
        )
        # Counted for the county where the report came from, not the centre's row.
        out.facts[-1].region = event.region_code
        return case

    def _inhibited(
        self,
        case: Case,
        rule: InhibitRule,
        event: GridEvent,
        reported: float,
        now: float,
        out: Outcome,
    ) -> None:
        """抑制: the report attaches to the open critical case, not escalated separately."""
        self._join(case, event, reported)
        self._step(
            out,
            case,
            DispositionAction.MERGE,
            now,
            StepKind.INHIBITED,
            reason=f"report {event.event_id} ({event.category or 'unclassified'}) inhibited "
            f"by open {case.priority} case {case.id} ({case.category}) under rule "
            f"{rule.name}: attached, not escalated separately",
            key=("merge", event.event_id),
            network=event.source_network,
            inhibit_rule=rule.name,
        )

    @staticmethod
    def _join(case: Case, event: GridEvent, reported: float) -> None:
        case.events.append(event.event_id)
        case.event_networks.append(event.source_network)
        if event.source_network not in case.networks:
            case.networks.append(event.source_network)
        case.last_reported_at = max(case.last_reported_at, reported)
        case.first_reported_at = min(case.first_reported_at, reported)

    def _reroute_if_worse(
        self, case: Case, event: _Cause, routed_at: Severity, now: float, out: Outcome
    ) -> None:
        """发展态势 and 危害大小: a merge that makes the case worse re-routes it at once.

        The case's severity after the merge is the highest report's (already applied) and,
        for 危害大小, at least ``high`` once independent reports come from
        ``_WIDE_NETWORKS`` networks or number ``_WIDE_REPORTS`` (many people affected or
        seeing it). If that raises the priority, the case is routed again as if it opened
        now: a higher tier takes it over (escalate, once per tier, the running stage
        restarted under the new policy's clock), and the tiers the new decision informs
        (the city and the area's centres for a critical case) are told.
        """
        if case.status in _SETTLED:
            return
        after = Severity(case.priority)
        if len(case.networks) >= _WIDE_NETWORKS or len(case.events) >= _WIDE_REPORTS:
            after = max(after, Severity.HIGH, key=SEVERITY_RANK.__getitem__)
            case.priority = after.value
        if SEVERITY_RANK[after] <= SEVERITY_RANK[routed_at]:
            return
        category = self.catalogue.get(case.category)
        if category is None:
            return
        local = event.reported_at.astimezone(self.rules.calendar.tzinfo).time()
        decision = self.rules.route(
            RouteFacts(
                category=case.category,
                kind=category.kind,
                network=event.source_network,
                severity=after,
                region_code=case.region,
                local_time=local,
            )
        )
        if is_above(decision.tier, Tier(case.tier)) and decision.tier.value not in case.escalated:
            case.policy = decision.policy
            self._escalate(
                case,
                decision.tier,
                now,
                out,
                reason=f"priority raised to {after.value} by report {event.event_id}: "
                f"{decision.tier.value} takes over ({decision.rule})",
            )
        elif decision.policy != case.policy and case.stage is not None:
            # Same tier, a tighter clock: the running stage restarts under it.
            case.policy = decision.policy
            self._start_stage(case, case.stage, now)
        for informed in decision.inform:
            if informed.value == case.tier:
                continue
            self._step(
                out,
                case,
                DispositionAction.STATE,
                now,
                StepKind.INFORMED,
                reason=f"inform: {case.tier} centre {case.holder} holds a {after.value} case",
                center=self.regions.ancestor(case.region, informed),
                tier=informed,
                key=("inform", informed.value, after.value),
            )

    # --------------------------------------------------------------- feedback
    def apply_feedback(self, state: RegionState, fb: Feedback, now: float) -> Outcome:
        """Drive the closed loop; refuse what the case's state or holder does not allow.

        The rules are the rows of :data:`gridflow.core.loop.LOOP` (who may act, from which
        states, the next state, the SLA stage); an action's own effect, where it has one,
        is its handler in ``_EFFECTS``.
        """
        out = Outcome()
        if fb.feedback_id in state.seen_feedback:
            out.duplicate = "feedback"
            return out
        case = state.cases.get(fb.case_id)
        if case is None:
            out.reject = (
                RejectReason.UNKNOWN_CASE,
                f"no case {fb.case_id} in region {state.region}",
            )
            return out
        rule = LOOP[fb.action]
        roles = self.roles(case)
        if not may_act(rule.who, fb.center_code, roles):
            if rule.who is Who.VERIFIER and split_office(roles.checkers[0]) is not None:
                message = (
                    f"{fb.action.value} of case {case.id} comes from its verifier, the "
                    f"department office {roles.checkers[0]}, not from {fb.center_code}"
                )
            elif rule.who is Who.VERIFIER:
                message = (
                    f"{fb.action.value} of case {case.id} comes from the supervising side "
                    f"(its verifier {roles.checkers[0]} or a centre above it), not from "
                    f"{fb.center_code}"
                )
            elif rule.who is Who.ABOVE:
                message = (
                    f"{fb.action.value} of case {case.id} comes from a centre above its "
                    f"holder {case.holder}, not from {fb.center_code}"
                )
            else:
                message = (
                    f"centre {fb.center_code} does not hold case {case.id} (held by {case.holder})"
                )
            out.reject = (RejectReason.WRONG_CENTER, message)
            return out
        if case.status not in rule.allowed:
            names = ", ".join(s.value for s in rule.allowed)
            out.reject = (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} is {case.status.value}; {fb.action.value} needs {names}",
            )
            return out
        effect = _EFFECTS[fb.action]
        # What the step's deadline is judged against, before the effect moves anything.
        stage_before, deadline_before, breached_before = case.stage, case.deadline, case.breached
        holder_before = case.holder
        # An effect refuses before it changes anything, or returns the step's reason.
        reason = effect(self, case, fb, now)
        if isinstance(reason, tuple):
            out.reject = reason
            return out
        if rule.becomes is not None:
            case.status = rule.becomes
        stage = rule.stage
        if stage is StageChange.START_ACCEPT:
            self._start_stage(case, "accept", now)
        elif stage is StageChange.START_RESOLVE:
            self._start_stage(case, "resolve", now)
        elif stage is StageChange.START_VERIFY:
            if self._policy(case).verify is None:
                self._stop_stage(case)  # untimed verification
            else:
                self._start_stage(case, "verify", now)
        elif stage is StageChange.STOP:
            self._stop_stage(case)
        elif stage is StageChange.RESTART:
            self._start_stage(case, case.stage or "accept", now)
        # MOVE: the effect moved the deadline; KEEP: it runs on; NONE: no stage runs.
        # An escalation is named by the tier it reached, whoever asked for it: one per
        # (case, tier), ever, shared with the timer's escalations.
        key = ("escalate", case.tier) if rule.step is StepKind.ESCALATED else ("fb", fb.feedback_id)
        self._step(
            out, case, rule.disposition, now, rule.step, reason=reason, key=key,
            acted_by=fb.center_code,
        )  # fmt: skip
        fact = out.facts[-1]
        fact.actor = fb.center_code
        if holder_before != case.holder:
            fact.previous_centre = holder_before
        if deadline_before is not None and _COMPLETES.get(rule.step) == stage_before:
            fact.deadline_met = now <= deadline_before
            # A breach already counted this deadline as missed (the timer escalates or
            # replaces every other missed deadline, so only a breach leaves it running).
            fact.overdue = not fact.deadline_met and not breached_before
        if fb.satisfaction is not None and rule.step is StepKind.REVISITED:
            fact.satisfaction = fb.satisfaction.value
        if rule.step is StepKind.RESOLVED:
            self._ask_office_to_verify(case, fb, now, out)
        if rule.step is StepKind.TAKEN_OVER:
            # The centre that handled it until now did not ask: it is told.
            self._step(
                out,
                case,
                DispositionAction.STATE,
                now,
                StepKind.HANDED_OVER,
                reason=f"接管: {case.holder} took the case over from {holder_before}",
                center=holder_before,
                tier=self._tier_of(holder_before),
                key=("handover", fb.feedback_id),
                acted_by=fb.center_code,
            )
        state.seen_feedback[fb.feedback_id] = now + self.retention_s
        out.changed = True
        self._schedule(case, out)
        return out

    def knows_centre(self, code: str) -> bool:
        """May ``code`` send feedback: a region's centre, or a verifying office listed."""
        return known_centre(self.regions, self.catalogue, code)

    def roles(self, case: Case) -> CaseRoles:
        """Who handles, supervises and checks ``case`` now (``gridflow.core.supervision``)."""
        return case_roles(self.regions, case.holder, self.verifier(case))

    def verifier(self, case: Case) -> str:
        """The centre that checks ``case``'s resolution (核查), by its category's rule."""
        key = (case.category, case.region, case.holder)
        found = self._verifiers.get(key)
        if found is None:
            rule = self.catalogue.verifier_rule(case.category)
            found = remember(
                self._verifiers,
                _VERIFIERS_KEPT,
                key,
                verifier_of(self.regions, case.region, case.holder, rule),
            )
        return found

    def _tier_of(self, centre: str) -> Tier:
        region = self.regions.get(centre)
        if region is not None:
            return region.tier
        office = split_office(centre)
        # A department office sits at the tier of the region whose office it is.
        return self._tier_of(office[0]) if office is not None else tier_of_code(centre)

    def _ask_office_to_verify(self, case: Case, fb: Feedback, now: float, out: Outcome) -> None:
        """A department office that verifies is told the case awaits its 核查.

        A region centre verifier sees the case in its area's list and stream; an office has
        no area, so it gets a disposition of its own (keyed by its code on the topic).
        """
        verifier = self.verifier(case)
        if split_office(verifier) is None:
            return
        self._step(
            out,
            case,
            DispositionAction.STATE,
            now,
            StepKind.INFORMED,
            reason=f"核查: {case.holder} resolved the case; {verifier} verifies",
            center=verifier,
            tier=self._tier_of(verifier),
            key=("verify_request", fb.feedback_id),
            acted_by=fb.center_code,
        )

    def _warned(self, case: Case) -> list[str]:
        """Who a stage's warning (催办) goes to: the holder; under 督办 its supervisor; for
        the 核查 stage the verifier too (it is the one who must act)."""
        told = [case.holder]
        if case.supervisor is not None:
            told.append(case.supervisor)
        if case.stage == "verify":
            verifier = self.verifier(case)
            if verifier not in told:
                told.append(verifier)
        return told

    # Effects: what an action does beyond the table's state and stage change. Each runs
    # after the table's checks and before the change; it returns a refusal (nothing
    # changed) or the disposition's reason.
    def _fx_accept(self, case: Case, fb: Feedback, now: float) -> _Effect:
        return "accepted"

    def _fx_resolve(self, case: Case, fb: Feedback, now: float) -> _Effect:
        if case.deadline is not None and now > case.deadline:
            self._late(case, case.deadline)
        case.resolved_at = now
        return "resolved"

    def _fx_verify(self, case: Case, fb: Feedback, now: float) -> _Effect:
        return "verified"

    def _fx_reject_resolution(self, case: Case, fb: Feedback, now: float) -> _Effect:
        case.reworks += 1
        return "rework: verification failed"

    def _fx_close(self, case: Case, fb: Feedback, now: float) -> _Effect:
        if case.status is CaseStatus.RESOLVED and self._policy(case).close_requires_verify:
            return (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} is resolved; close needs verified (核查) first under "
                f"policy {case.policy}",
            )
        case.closed_at = now
        return "closed"

    def _fx_revisit(self, case: Case, fb: Feedback, now: float) -> _Effect:
        answer = fb.satisfaction.value if fb.satisfaction else "unknown"
        if fb.satisfaction is Satisfaction.UNSATISFIED and self._policy(case).reopen_unsatisfied:
            # 不满意: back to the handler, as a reopen would do.
            case.status = CaseStatus.DISPATCHED
            case.closed_at = None
            self._start_stage(case, "accept", now)
            return f"回访 {answer}: reopened for rework"
        return f"回访 {answer}"

    def _fx_cancel(self, case: Case, fb: Feedback, now: float) -> _Effect:
        case.closed_at = now
        return f"cancelled: {fb.note or 'not a valid case'}"

    def _fx_reopen(self, case: Case, fb: Feedback, now: float) -> _Effect:
        case.closed_at = None
        return "reopened"

    def _fx_escalate(self, case: Case, fb: Feedback, now: float) -> _Effect:
        up = parent_tier(Tier(case.tier))
        if up is None:
            return (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} is already at the city centre",
            )
        if up.value in case.escalated:
            if case.supervisor is not None:
                return (
                    RejectReason.INVALID_TRANSITION,
                    f"case {case.id} is already under the supervision (督办) of "
                    f"{case.supervisor}, which may take it over (take_over)",
                )
            return (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} was already escalated to {up.value}",
            )
        self._move_up(case, up)
        return f"asked up by {fb.center_code}: {fb.note or 'needs coordination'}"

    def _fx_take_over(self, case: Case, fb: Feedback, now: float) -> _Effect:
        previous = case.holder
        case.holder = fb.center_code
        case.tier = self._tier_of(fb.center_code).value
        self._holder_moved(case)
        return f"taken over by {fb.center_code} from {previous}: {fb.note or '接管'}"

    def _fx_return(self, case: Case, fb: Feedback, now: float) -> _Effect:
        target = fb.target_center
        if target is None:
            target = self.regions.parent(case.holder)
            if target is None:
                return (
                    RejectReason.INVALID_TRANSITION,
                    "the city centre has no parent to return to",
                )
        region = self.regions.get(target)
        if region is None:
            return (
                RejectReason.UNKNOWN_REGION,
                f"target_center {target} is not a centre of the division tree",
            )
        if target == case.holder:
            return (RejectReason.INVALID_TRANSITION, "target_center is the centre holding the case")
        previous = case.holder
        case.holder = target
        case.tier = region.tier.value
        self._holder_moved(case)
        return f"returned by {previous}: {fb.note or 'not ours'}"

    def _fx_extend(self, case: Case, fb: Feedback, now: float) -> _Effect:
        policy = self._policy(case)
        until = fb.until
        if until is None or case.deadline is None:
            return (RejectReason.INVALID_TRANSITION, "extend needs 'until' and a running deadline")
        verdict = extension_verdict(
            self.rules.calendar_for(policy),
            policy,
            utc(case.deadline),
            until,
            case.extensions,
            self.sla_scale,
        )
        if not verdict.granted:
            return (RejectReason.EXTENSION_REFUSED, verdict.reason)
        case.extensions += 1
        case.deadline = verdict.deadline.timestamp()
        # Warn again ahead of the new deadline, at the policy's fraction of the extension.
        case.warn_at = now + (case.deadline - now) * policy.warn_at
        case.warned = False
        case.breached = False
        return f"extended to {until.isoformat()}"

    # ------------------------------------------------------------------ ticks
    def apply_tick(self, state: RegionState, case_id: str, now: float) -> Outcome:
        """Act on one case's timer if it is due: warn, escalate one tier, or breach at the top."""
        out = Outcome()
        case = state.cases.get(case_id)
        if case is None:
            return out
        due = case.next_due()
        if due is None or due > now:
            if due is not None:
                out.due.append((due, case.id))
            return out
        assert case.deadline is not None
        # Timer steps are named by the deadline they are about, so a replay after a crash
        # repeats the same id instead of inventing a new warning or breach.
        deadline_key = str(int(case.deadline))
        if now < case.deadline:
            case.warned = True
            told = self._warned(case)
            self._step(
                out,
                case,
                DispositionAction.SLA_WARNING,
                now,
                StepKind.WARNED,
                reason=f"{case.stage} deadline near",
                key=("sla_warning", case.tier, case.stage or "", deadline_key),
                stage=case.stage,
                recipients=told,
            )
            # 催办 reaches the supervising side too, each centre on its own key (the
            # holder's id is unchanged, so a replay repeats the same ids).
            for centre in told[1:]:
                self._step(
                    out,
                    case,
                    DispositionAction.SLA_WARNING,
                    now,
                    StepKind.WARNED,
                    reason=f"催办: {case.stage} deadline near for {case.holder}",
                    center=centre,
                    tier=self._tier_of(centre),
                    key=("sla_warning", case.tier, case.stage or "", deadline_key, centre),
                    stage=case.stage,
                    recipients=told,
                )
        else:
            case.warned = True
            if case.stage == "resolve":
                self._late(case, case.deadline)
            up = self._supervision_tier(case)
            if up is not None and up.value not in case.escalated:
                self._supervise(case, up, now, out)
            else:
                case.breached = True
                self._step(
                    out,
                    case,
                    DispositionAction.SLA_BREACH,
                    now,
                    StepKind.BREACHED,
                    reason=f"{case.stage} deadline missed at the top tier ({case.holder})",
                    # Under supervision the top supervisor answers for the breach.
                    center=case.supervisor,
                    tier=self._tier_of(case.supervisor) if case.supervisor else None,
                    key=("sla_breach", case.stage or "", deadline_key),
                    stage=case.stage,
                )
                out.facts[-1].overdue = True
        out.changed = True
        self._schedule(case, out)
        return out

    # --------------------------------------------------------- across villages
    def apply_absorb(
        self,
        state: RegionState,
        case_id: str,
        survivor_id: str,
        now: float,
        inhibit_rule: str | None = None,
    ) -> tuple[Outcome, Joined | None]:
        """跨村合并, step 1 (the absorbed case's village): close ``case_id`` as ``merged``
        into ``survivor_id`` (a case of another village) and hand back what joins it.

        A case already merged into it is a replay (no-op). One its centre finished
        meanwhile (closed, cancelled: a fast centre, or a town stage that lagged) keeps its
        state and its 结案, but is linked all the same, so the incident is one case and the
        survivor's holder learns the neighbour already dealt with it. An unknown case
        (expired) is skipped. With ``inhibit_rule`` (抑制 across village lines) the
        survivor is an open critical case of the town that inhibits this one: the same
        steps, the rule named in the reason and the facts.
        """
        out = Outcome()
        case = state.cases.get(case_id)
        if case is None:
            return out, None
        if case.merged_into == survivor_id:
            out.duplicate = "absorb"
            return out, None
        if case.merged_into is not None:
            return out, None  # absorbed into another case already: merges never chain
        reason = (
            f"跨村合并: same incident as case {survivor_id}, which takes its reports over"
            if inhibit_rule is None
            else f"抑制: inhibited by open critical case {survivor_id} of a neighbouring "
            f"village under rule {inhibit_rule}: attached to it, not handled or escalated "
            "separately"
        )
        if case.is_open:
            case.status = CaseStatus.MERGED
            case.closed_at = now
            self._stop_stage(case)
        else:
            reason += f" (already {case.status.value} here)"
        case.merged_into = survivor_id
        self._step(
            out,
            case,
            DispositionAction.STATE,
            now,
            StepKind.ABSORBED,
            reason=reason,
            key=("merged_into", survivor_id),
            inhibit_rule=inhibit_rule,
        )
        out.dispositions[-1] = out.dispositions[-1].model_copy(update={"merged_into": survivor_id})
        out.changed = True
        joined = Joined(
            case_id=case.id,
            region=case.region,
            priority=case.priority,
            first_reported_at=case.first_reported_at,
            last_reported_at=case.last_reported_at,
            events=tuple(case.events),
            event_networks=tuple(case.event_networks),
        )
        return out, joined

    def apply_join(
        self,
        state: RegionState,
        survivor_id: str,
        joined: Joined,
        now: float,
        inhibit_rule: str | None = None,
    ) -> Outcome:
        """跨村合并, step 2 (the surviving case's village): take ``joined``'s reports over.

        The surviving case lists both villages from now on; a worse report among the
        joined ones re-routes it as a merged report would. A replay is a no-op.
        """
        out = Outcome()
        case = state.cases.get(survivor_id)
        if case is None:
            out.reject = (
                RejectReason.UNKNOWN_CASE,
                f"no case {survivor_id} in region {state.region} to take case "
                f"{joined.case_id} over",
            )
            return out
        if joined.case_id in case.merged_cases:
            out.duplicate = "join"
            return out
        routed_at = Severity(case.priority)
        case.merged_cases.append(joined.case_id)
        known = set(case.events)
        for event_id, network in zip(joined.events, joined.event_networks, strict=False):
            if event_id not in known:
                case.add_report(event_id, network)
        case.widen_reported(joined.first_reported_at, joined.last_reported_at)
        reason = (
            f"跨村合并: case {joined.case_id} of village {joined.region} joined the case"
            if inhibit_rule is None
            else f"抑制: case {joined.case_id} of village {joined.region} inhibited under "
            f"rule {inhibit_rule}: its reports attached to this case, not escalated separately"
        )
        severity = _SEVERITIES.get(joined.priority) or Severity(joined.priority)
        reason += _raise_priority(case, severity)
        self._step(
            out,
            case,
            DispositionAction.MERGE,
            now,
            StepKind.JOINED,
            reason=reason,
            key=("xmerge", joined.case_id),
            network=joined.source_network,
            inhibit_rule=inhibit_rule,
        )
        out.dispositions[-1] = out.dispositions[-1].model_copy(
            update={"villages": case.villages(), "merged_cases": list(case.merged_cases)}
        )
        self._reroute_if_worse(case, joined, routed_at, now, out)
        out.changed = True
        self._schedule(case, out)
        return out

    # ---------------------------------------------------------------- helpers
    def _supervision_tier(self, case: Case) -> Tier | None:
        """The tier a missed deadline escalates to: above everyone already on the stage.

        That is above the holder and its supervisor, and for a missed 核查 above the
        verifier too (the verifier missed it, not the holder). ``None`` above the city.
        """
        top = TIERS_UP.index(Tier(case.tier))
        if case.supervisor is not None:
            top = max(top, TIERS_UP.index(self._tier_of(case.supervisor)))
        if case.stage == "verify":
            top = max(top, TIERS_UP.index(self._tier_of(self.verifier(case))))
        return parent_tier(TIERS_UP[top])

    def _supervise(self, case: Case, up: Tier, now: float, out: Outcome) -> None:
        """督办 on a missed deadline: ``up``'s centre supervises, the holder keeps handling.

        The holder gets the policy's ``supervise`` time to finish the missed stage (not a
        fresh full stage, which would reward the miss). The supervisor receives the
        ``escalate``; the holder a ``state`` saying it is supervised and by when.
        """
        missed = case.stage or "accept"
        # Who missed it: the holder, or for 核查 the verifier (charged the 超期 in KPIs).
        late_centre = self.verifier(case) if missed == "verify" else case.holder
        case.escalated.append(up.value)
        case.supervisor = self.regions.ancestor(case.region, up)
        policy = self._policy(case)
        supervised = policy.supervised()
        if supervised is not None:
            deadline, warn = stage_timestamps(
                self.rules.calendar, supervised, cast(Stage, missed), utc(now), self.sla_scale
            )
            self._set_stage(case, missed, now, deadline, warn)
        else:
            self._start_stage(case, missed, now)
        self._step(
            out,
            case,
            DispositionAction.ESCALATE,
            now,
            StepKind.ESCALATED,
            reason=f"{missed} deadline missed at {late_centre}: {case.supervisor} supervises "
            f"(督办), {case.holder} keeps handling",
            center=case.supervisor,
            tier=up,
            key=("escalate", up.value),
            stage=missed,
        )
        fact = out.facts[-1]
        fact.previous_centre = late_centre
        fact.overdue = True
        self._step(
            out,
            case,
            DispositionAction.STATE,
            now,
            StepKind.SUPERVISED,
            reason=f"督办: {missed} deadline missed; {case.supervisor} supervises, finish by "
            "the new deadline",
            key=("supervised", up.value),
            stage=missed,
        )

    def _escalate(self, case: Case, up: Tier, now: float, out: Outcome, reason: str) -> None:
        """A higher tier takes the case over (a worse report re-routed it): a full stage."""
        previous = case.holder
        self._move_up(case, up)
        self._start_stage(case, case.stage or "accept", now)
        self._step(
            out,
            case,
            DispositionAction.ESCALATE,
            now,
            StepKind.ESCALATED,
            reason=reason,
            key=("escalate", up.value),
        )
        out.facts[-1].previous_centre = previous

    def _move_up(self, case: Case, up: Tier) -> None:
        case.escalated.append(up.value)
        case.tier = up.value
        case.holder = self.regions.ancestor(case.region, up)
        self._holder_moved(case)

    def _holder_moved(self, case: Case) -> None:
        """A supervisor no longer above the new holder stops supervising: its parent does."""
        if case.supervisor is None:
            return
        supervisor = self.regions.get(case.supervisor)
        if supervisor is None or not is_above(supervisor.tier, Tier(case.tier)):
            case.supervisor = None

    @staticmethod
    def _late(case: Case, deadline: float) -> None:
        """The case missed a resolve-stage deadline: late for good (按期结案 judged on it)."""
        case.on_time = False
        if case.late_since is None:
            case.late_since = deadline

    def _policy(self, case: Case) -> SlaPolicy:
        return self.rules.policies[case.policy]

    def _start_stage(self, case: Case, stage: str, now: float) -> None:
        if case.silence is not None:
            # A known matter runs no SLA clock: it is not escalated by a timer.
            self._stop_stage(case)
            return
        deadline, warn = stage_clock(self.rules, case.policy, stage, now, self.sla_scale)
        self._set_stage(case, stage, now, deadline, warn)

    @staticmethod
    def _set_stage(case: Case, stage: str, now: float, deadline: float, warn: float) -> None:
        case.stage = stage
        case.stage_started = now
        case.deadline = deadline
        # The warning falls at warn_at of the stage's own clock (working time for working-time
        # policies), so a reminder does not land at 3 a.m.
        case.warn_at = warn
        case.warned = False
        case.breached = False

    @staticmethod
    def _stop_stage(case: Case) -> None:
        case.stage = None
        case.stage_started = None
        case.deadline = None
        case.warn_at = None

    @staticmethod
    def _schedule(case: Case, out: Outcome) -> None:
        due = case.next_due()
        if due is not None:
            out.due.append((due, case.id))

    def _maybe_expire(self, state: RegionState, now: float) -> None:
        if now - state.expired_at >= _EXPIRE_EVERY_S:
            state.expire(now, self.retention_s)
            state.expired_at = now

    def _step(
        self,
        out: Outcome,
        case: Case,
        action: DispositionAction,
        now: float,
        kind: StepKind,
        *,
        reason: str | None = None,
        center: str | None = None,
        tier: Tier | None = None,
        key: tuple[str, ...],
        network: str | None = None,
        stage: str | None = None,
        acted_by: str | None = None,
        silence: str | None = None,
        inhibit_rule: str | None = None,
        recipients: list[str] | None = None,
    ) -> None:
        """Emit one step: its disposition and, at the same index, its fact."""
        # Every id says what the step is (the feedback that caused it, the tier escalated
        # to, the report merged, the deadline missed), never where it fell in the order of
        # processing: a replay after a crash may interleave ticks and feedback differently
        # and must still produce the same ids.
        case.next_seq()
        deadline = case.deadline
        # Every field, in the model's order (the JSON written to the topic follows it).
        out.dispositions.append(
            _disposition(
                {
                    "disposition_id": disposition_id(case.id, *key),
                    "case_id": case.id,
                    "action": action,
                    "tier": tier or _TIERS.get(case.tier) or Tier(case.tier),
                    "center_code": center or case.holder,
                    "at": utc(now),
                    "category": case.category,
                    "priority": _SEVERITIES.get(case.priority) or Severity(case.priority),
                    "department": case.department,
                    "deadline": utc(deadline) if deadline is not None else None,
                    "rule": case.rule,
                    "events": list(case.events),
                    "networks": list(case.networks),
                    "reason": reason,
                    "state": case.status.value,
                    "rules_version": self.rules.version,
                    "stage": case.stage,
                    "region_code": case.region,
                    "title": case.title,
                    "reported_at": utc(case.first_reported_at),
                    "lat": case.lat,
                    "lon": case.lon,
                    "grid_code": case.grid,
                    "request_type": case.request_type,
                    "holder": case.holder,
                    "supervisor": case.supervisor,
                    "verifier": self.verifier(case),
                    "acted_by": acted_by,
                    # Set by the cross-village steps only (apply_absorb / apply_join).
                    "villages": None,
                    "merged_cases": None,
                    "merged_into": None,
                    "recipients": recipients,
                }
            )
        )
        fact = StepFact(
            kind, case.id, case.region, tier.value if tier else case.tier, now, network, None, stage
        )
        fact.centre = case.holder
        fact.department = case.department
        if kind is _MERGED:
            fact.first_network = case.networks[0] if case.networks else None
        elif kind is _CLOSED:
            fact.on_time = case.on_time
            fact.lateness_s = case.lateness_s()
        if silence is not None or inhibit_rule is not None:
            fact.silence, fact.inhibit_rule = silence, inhibit_rule
        out.facts.append(fact)


#: Each feedback action's own effect (see ``gridflow.core.loop`` for the table's part).
_EFFECTS: dict[FeedbackAction, Callable[[Engine, Case, Feedback, float], _Effect]] = {
    FeedbackAction.ACCEPT: Engine._fx_accept,
    FeedbackAction.RESOLVE: Engine._fx_resolve,
    FeedbackAction.VERIFY: Engine._fx_verify,
    FeedbackAction.REJECT_RESOLUTION: Engine._fx_reject_resolution,
    FeedbackAction.CLOSE: Engine._fx_close,
    FeedbackAction.REVISIT: Engine._fx_revisit,
    FeedbackAction.CANCEL: Engine._fx_cancel,
    FeedbackAction.REOPEN: Engine._fx_reopen,
    FeedbackAction.ESCALATE: Engine._fx_escalate,
    FeedbackAction.RETURN: Engine._fx_return,
    FeedbackAction.EXTEND: Engine._fx_extend,
    FeedbackAction.TAKE_OVER: Engine._fx_take_over,
}
