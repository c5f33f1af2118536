"""The case engine: events, feedback and SLA ticks in, dispositions and rejections out.

Pure and deterministic: every function takes the region's state and the time of the input
record (its Kafka timestamp, so a replay computes the same thing) and mutates the state in
place. Replayed inputs are recognised by their ids and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gridflow.core.bounded_cache import remember
from gridflow.core.case import Case, CaseStatus
from gridflow.core.catalogue import Catalogue, Category
from gridflow.core.classify import TextClassifier
from gridflow.core.ids import case_id_for, disposition_id
from gridflow.core.merge import Report, find_merge_target
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RouteFacts, RuleSet
from gridflow.core.severity import SeverityRules, assess_severity
from gridflow.core.sla import SlaPolicy, extension_verdict, stage_timestamps
from gridflow.core.tiers import SEVERITY_RANK, parent_tier
from gridflow.core.trusted import TrustedBuilder
from gridflow.core.workcalendar import WorkCalendar
from schemas import (
    Disposition,
    DispositionAction,
    Feedback,
    FeedbackAction,
    GridEvent,
    RejectReason,
)
from schemas.common import Severity, Tier

#: How often a region row is swept for expired ids and finished cases (event time).
_EXPIRE_EVERY_S = 3600.0


@dataclass(slots=True)
class Outcome:
    """What applying one input produced."""

    dispositions: list[Disposition] = field(default_factory=list)
    #: (reason, detail) when the input was refused.
    reject: tuple[RejectReason, str] | None = None
    #: "event" / "feedback" when the input was a replay: a counted no-op.
    duplicate: str | None = None
    #: True when the region's state changed and must be written back.
    changed: bool = False
    #: cases whose timers need (re)scheduling: (due epoch, case id)
    due: list[tuple[float, str]] = field(default_factory=list)


def _dt(ts: float) -> datetime:
    # Steps of one input share its time, and cases their deadlines (close of business) and
    # report times: most conversions were made a moment ago. Datetimes are immutable.
    found = _DATETIMES.get(ts)
    if found is None:
        found = remember(_DATETIMES, _DATETIMES_KEPT, ts, datetime.fromtimestamp(ts, UTC))
    return found


_DATETIMES: dict[float, datetime] = {}
_DATETIMES_KEPT = 4096
#: (policy name, stage, start epoch, scale) -> (policy, calendar, deadline, warning)
_STAGE_TIMES: dict[tuple[str, str, float, float], tuple[SlaPolicy, WorkCalendar, float, float]] = {}
_STAGE_TIMES_KEPT = 4096
_TIERS = {tier.value: tier for tier in Tier}
_SEVERITIES = {severity.value: severity for severity in Severity}
_disposition = TrustedBuilder(Disposition)


@dataclass(slots=True)
class Engine:
    """Applies inputs to region state using the loaded reference data and rules."""

    regions: RegionGraph
    catalogue: Catalogue
    classifier: TextClassifier
    rules: RuleSet
    severity_rules: SeverityRules | None = None
    sla_scale: float = 1.0
    retention_s: float = 7 * 86400.0

    # ----------------------------------------------------------------- events
    def apply_event(self, state: RegionState, event: GridEvent, now: float) -> Outcome:
        """Open a case for a new incident, merge a duplicate report, or skip a replay."""
        out = Outcome()
        if event.event_id in state.seen_events:
            out.duplicate = "event"
            return out
        self._maybe_expire(state, now)
        title, description = event.title, event.description
        # " ".join of the parts that are there (the schema requires at least one).
        text = f"{title} {description}" if title and description else title or description or ""
        category = self.catalogue.resolve(event.source_network, event.category)
        if category is None:
            category = self._category(self.classifier.classify(text).code)
        severity = assess_severity(
            category,
            event.severity,
            text,
            reporter_role=event.reporter.role if event.reporter else None,
            rules=self.severity_rules,
        )
        reported = event.reported_at.timestamp()
        lat = event.location.lat if event.location else None
        lon = event.location.lon if event.location else None
        target = find_merge_target(
            state.cases.values(),
            Report(category.code, reported, lat, lon, event.grid_code),
            radius_m=category.merge_radius_m,
            window_s=category.merge_window_s,
            compatible=self.catalogue.compatible,
        )
        if target is not None:
            self._merge(target, event, severity, reported, now, out)
        else:
            target = self._open(state, event, category, severity, text, reported, now, out)
        state.seen_events[event.event_id] = (target.id, now + self.retention_s)
        out.changed = True
        return out

    def _category(self, code: str) -> Category:
        found = self.catalogue.get(code) or self.catalogue.get(self.catalogue.fallback)
        if found is None:  # the catalogue loader guarantees the fallback exists
            raise LookupError(f"catalogue has no category {code} and no fallback")
        return found

    def _open(
        self,
        state: RegionState,
        event: GridEvent,
        category: Category,
        severity: Severity,
        text: str,
        reported: float,
        now: float,
        out: Outcome,
    ) -> Case:
        # Time-of-day rules are about when the incident was seen, not when it was processed.
        local = event.reported_at.astimezone(self.rules.calendar.tzinfo).time()
        decision = self.rules.route(
            RouteFacts(
                category=category.code,
                kind=category.kind,
                network=event.source_network,
                severity=severity,
                region_code=event.region_code,
                local_time=local,
                request_type=event.request_type,
            )
        )
        priority = decision.priority or severity
        tier = decision.tier
        case = Case(
            id=case_id_for(event.region_code, event.event_id),
            region=event.region_code,
            category=category.code,
            priority=priority.value,
            department=decision.department or category.department,
            tier=tier.value,
            holder=self.regions.ancestor(event.region_code, tier),
            status=CaseStatus.DISPATCHED,
            rule=decision.rule,
            policy=decision.policy,
            opened_at=now,
            first_reported_at=reported,
            last_reported_at=reported,
            title=(event.title or text)[:60],
            lat=event.location.lat if event.location else None,
            lon=event.location.lon if event.location else None,
            grid=event.grid_code,
            request_type=event.request_type,
            events=[event.event_id],
            networks=[event.source_network],
            event_networks=[event.source_network],
        )
        self._start_stage(case, "accept", now)
        state.cases[case.id] = case
        out.dispositions.append(
            self._disp(case, DispositionAction.DISPATCH, now, key=("dispatch",))
        )
        for informed in decision.inform:
            if informed == tier:
                continue
            centre = self.regions.ancestor(event.region_code, informed)
            out.dispositions.append(
                self._disp(
                    case,
                    DispositionAction.STATE,
                    now,
                    reason=f"inform: {tier.value} centre {case.holder} holds a {priority.value} case",
                    center=centre,
                    tier=informed,
                    key=("inform", informed.value),
                )
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
        case.events.append(event.event_id)
        case.event_networks.append(event.source_network)
        if event.source_network not in case.networks:
            case.networks.append(event.source_network)
        case.last_reported_at = max(case.last_reported_at, reported)
        case.first_reported_at = min(case.first_reported_at, reported)
        reason = f"report {event.event_id} from {event.source_network} joined the case"
        if SEVERITY_RANK[severity] > SEVERITY_RANK[Severity(case.priority)]:
            reason += f"; priority raised {case.priority} -> {severity.value}"
            case.priority = severity.value
        out.dispositions.append(
            self._disp(
                case, DispositionAction.MERGE, now, reason=reason, key=("merge", event.event_id)
            )
        )

    # --------------------------------------------------------------- feedback
    def apply_feedback(self, state: RegionState, fb: Feedback, now: float) -> Outcome:
        """Drive the closed loop; refuse what the case's state or holder does not allow."""
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
        if not self._may_act(case, fb):
            out.reject = (
                RejectReason.WRONG_CENTER,
                f"centre {fb.center_code} does not hold case {case.id} (held by {case.holder})",
            )
            return out
        handler = _FEEDBACK_HANDLERS[fb.action]
        refused = handler(self, case, fb, now, out)
        if refused is not None:
            out.reject = refused
            out.dispositions.clear()
            return out
        state.seen_feedback[fb.feedback_id] = now + self.retention_s
        out.changed = True
        self._schedule(case, out)
        return out

    def _may_act(self, case: Case, fb: Feedback) -> bool:
        if fb.center_code == case.holder:
            return True
        # The supervising side (any centre above the holder) may verify, close, cancel, reopen.
        supervising = fb.action in (
            FeedbackAction.VERIFY,
            FeedbackAction.CLOSE,
            FeedbackAction.CANCEL,
            FeedbackAction.REOPEN,
            FeedbackAction.REJECT_RESOLUTION,
        )
        return supervising and fb.center_code in self.regions.chain(case.holder)[1:]

    def _transition(
        self,
        case: Case,
        fb: Feedback,
        allowed: tuple[CaseStatus, ...],
    ) -> tuple[RejectReason, str] | None:
        if case.status in allowed:
            return None
        names = ", ".join(s.value for s in allowed)
        return (
            RejectReason.INVALID_TRANSITION,
            f"case {case.id} is {case.status.value}; {fb.action.value} needs {names}",
        )

    def _fb_accept(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.DISPATCHED,))
        if refused:
            return refused
        case.status = CaseStatus.ACCEPTED
        self._start_stage(case, "resolve", now)
        out.dispositions.append(
            self._disp(
                case, DispositionAction.STATE, now, reason="accepted", key=("fb", fb.feedback_id)
            )
        )
        return None

    def _fb_resolve(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.ACCEPTED,))
        if refused:
            return refused
        if case.deadline is not None and now > case.deadline:
            case.on_time = False
        case.status = CaseStatus.RESOLVED
        self._stop_stage(case)
        out.dispositions.append(
            self._disp(
                case, DispositionAction.STATE, now, reason="resolved", key=("fb", fb.feedback_id)
            )
        )
        return None

    def _fb_verify(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.RESOLVED,))
        if refused:
            return refused
        case.status = CaseStatus.VERIFIED
        out.dispositions.append(
            self._disp(
                case, DispositionAction.STATE, now, reason="verified", key=("fb", fb.feedback_id)
            )
        )
        return None

    def _fb_reject_resolution(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.RESOLVED, CaseStatus.VERIFIED))
        if refused:
            return refused
        case.status = CaseStatus.ACCEPTED
        case.reworks += 1
        self._start_stage(case, "resolve", now)
        out.dispositions.append(
            self._disp(
                case,
                DispositionAction.STATE,
                now,
                reason="rework: verification failed",
                key=("fb", fb.feedback_id),
            )
        )
        return None

    def _fb_close(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.VERIFIED, CaseStatus.RESOLVED))
        if refused:
            return refused
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        self._stop_stage(case)
        out.dispositions.append(
            self._disp(
                case, DispositionAction.STATE, now, reason="closed", key=("fb", fb.feedback_id)
            )
        )
        return None

    def _fb_cancel(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED))
        if refused:
            return refused
        case.status = CaseStatus.CANCELLED
        case.closed_at = now
        self._stop_stage(case)
        out.dispositions.append(
            self._disp(
                case,
                DispositionAction.STATE,
                now,
                reason=f"cancelled: {fb.note or 'not a valid case'}",
                key=("fb", fb.feedback_id),
            )
        )
        return None

    def _fb_reopen(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(
            case, fb, (CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.VERIFIED)
        )
        if refused:
            return refused
        case.status = CaseStatus.DISPATCHED
        case.closed_at = None
        self._start_stage(case, "accept", now)
        out.dispositions.append(
            self._disp(
                case, DispositionAction.STATE, now, reason="reopened", key=("fb", fb.feedback_id)
            )
        )
        return None

    def _fb_escalate(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED))
        if refused:
            return refused
        up = parent_tier(Tier(case.tier))
        if up is None:
            return (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} is already at the city centre",
            )
        if up.value in case.escalated:
            return (
                RejectReason.INVALID_TRANSITION,
                f"case {case.id} was already escalated to {up.value}",
            )
        self._escalate(
            case,
            up,
            now,
            out,
            reason=f"asked up by {fb.center_code}: {fb.note or 'needs coordination'}",
        )
        return None

    def _fb_return(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED))
        if refused:
            return refused
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
        case.status = CaseStatus.DISPATCHED
        self._start_stage(case, "accept", now)
        out.dispositions.append(
            self._disp(
                case,
                DispositionAction.REROUTE,
                now,
                reason=f"returned by {previous}: {fb.note or 'not ours'}",
                key=("fb", fb.feedback_id),
            )
        )
        return None

    def _fb_extend(
        self, case: Case, fb: Feedback, now: float, out: Outcome
    ) -> tuple[RejectReason, str] | None:
        refused = self._transition(case, fb, (CaseStatus.ACCEPTED, CaseStatus.DISPATCHED))
        if refused:
            return refused
        policy = self._policy(case)
        until = fb.until
        if until is None or case.deadline is None:
            return (RejectReason.INVALID_TRANSITION, "extend needs 'until' and a running deadline")
        verdict = extension_verdict(
            self.rules.calendar_for(policy),
            policy,
            _dt(case.deadline),
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
        out.dispositions.append(
            self._disp(
                case,
                DispositionAction.STATE,
                now,
                reason=f"extended to {until.isoformat()}",
                key=("fb", fb.feedback_id),
            )
        )
        return None

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
            out.dispositions.append(
                self._disp(
                    case,
                    DispositionAction.SLA_WARNING,
                    now,
                    reason=f"{case.stage} deadline near",
                    key=("sla_warning", case.tier, case.stage or "", deadline_key),
                )
            )
        else:
            case.warned = True
            if case.stage == "resolve":
                case.on_time = False
            up = parent_tier(Tier(case.tier))
            if up is not None and up.value not in case.escalated:
                self._escalate(
                    case, up, now, out, reason=f"{case.stage} deadline missed at {case.holder}"
                )
            else:
                case.breached = True
                out.dispositions.append(
                    self._disp(
                        case,
                        DispositionAction.SLA_BREACH,
                        now,
                        reason=f"{case.stage} deadline missed at the top tier ({case.holder})",
                        key=("sla_breach", case.stage or "", deadline_key),
                    )
                )
        out.changed = True
        self._schedule(case, out)
        return out

    # ---------------------------------------------------------------- helpers
    def _escalate(self, case: Case, up: Tier, now: float, out: Outcome, reason: str) -> None:
        case.escalated.append(up.value)
        case.tier = up.value
        case.holder = self.regions.ancestor(case.region, up)
        self._start_stage(case, case.stage or "accept", now)
        out.dispositions.append(
            self._disp(
                case, DispositionAction.ESCALATE, now, reason=reason, key=("escalate", up.value)
            )
        )

    def _policy(self, case: Case) -> SlaPolicy:
        return self.rules.policies[case.policy]

    def _start_stage(self, case: Case, stage: str, now: float) -> None:
        policy = self._policy(case)
        calendar = self.rules.calendar_for(policy)
        # Cases opened by one input record (or by records stamped in the same millisecond)
        # start their stages at the same instant: the calendar walk is done once. Entries
        # hold the policy and calendar they were computed with, so a rules reload that
        # reuses a policy name recomputes instead of trusting the name.
        key = (case.policy, stage, now, self.sla_scale)
        known = _STAGE_TIMES.get(key)
        if known is not None and known[0] is policy and known[1] is calendar:
            deadline, warn = known[2], known[3]
        else:
            deadline, warn = stage_timestamps(
                calendar,
                policy,
                stage,  # type: ignore[arg-type]
                _dt(now),
                self.sla_scale,
            )
            remember(_STAGE_TIMES, _STAGE_TIMES_KEPT, key, (policy, calendar, deadline, warn))
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

    def _disp(
        self,
        case: Case,
        action: DispositionAction,
        now: float,
        *,
        reason: str | None = None,
        center: str | None = None,
        tier: Tier | None = None,
        key: tuple[str, ...],
    ) -> Disposition:
        # Every id says what the step is (the feedback that caused it, the tier escalated
        # to, the report merged, the deadline missed), never where it fell in the order of
        # processing: a replay after a crash may interleave ticks and feedback differently
        # and must still produce the same ids.
        case.next_seq()
        deadline = case.deadline
        # Every field, in the model's order (the JSON written to the topic follows it).
        return _disposition(
            {
                "disposition_id": disposition_id(case.id, *key),
                "case_id": case.id,
                "action": action,
                "tier": tier or _TIERS.get(case.tier) or Tier(case.tier),
                "center_code": center or case.holder,
                "at": _dt(now),
                "category": case.category,
                "priority": _SEVERITIES.get(case.priority) or Severity(case.priority),
                "department": case.department,
                "deadline": _dt(deadline) if deadline is not None else None,
                "rule": case.rule,
                "events": list(case.events),
                "networks": list(case.networks),
                "reason": reason,
                "state": case.status.value,
                "rules_version": self.rules.version,
                "stage": case.stage,
                "region_code": case.region,
                "title": case.title,
                "reported_at": _dt(case.first_reported_at),
                "request_type": case.request_type,
            }
        )


_FEEDBACK_HANDLERS = {
    FeedbackAction.ACCEPT: Engine._fb_accept,
    FeedbackAction.RESOLVE: Engine._fb_resolve,
    FeedbackAction.VERIFY: Engine._fb_verify,
    FeedbackAction.REJECT_RESOLUTION: Engine._fb_reject_resolution,
    FeedbackAction.CLOSE: Engine._fb_close,
    FeedbackAction.CANCEL: Engine._fb_cancel,
    FeedbackAction.REOPEN: Engine._fb_reopen,
    FeedbackAction.ESCALATE: Engine._fb_escalate,
    FeedbackAction.RETURN: Engine._fb_return,
    FeedbackAction.EXTEND: Engine._fb_extend,
}
