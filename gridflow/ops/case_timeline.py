"""A case's current state and timeline, from its dispositions and its refused feedback.

The workers keep case state in their own tables; ``grid.dispositions`` carries every step
they took, so replaying it for one case gives the same story a command centre saw, in
order, without asking a worker. Feedback the worker refused (DLQ) is part of that story:
"we sent 结案 and nothing happened" is answered there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridflow.core.regions import tier_of_code
from gridflow.ops import vocabulary
from gridflow.ops.record_view import RecordView
from schemas import Disposition, DispositionAction

#: Actions after which the addressed centre holds the case.
_HOLDING = {DispositionAction.DISPATCH, DispositionAction.ESCALATE, DispositionAction.REROUTE}


@dataclass(frozen=True)
class Step:
    """One line of the timeline."""

    at: datetime
    step: str
    code: str
    tier: str
    centre: str
    detail: str
    where: str
    #: the centre whose feedback caused the step ("" for reports and timers).
    acted_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "step": self.step,
            "code": self.code,
            "tier": self.tier,
            "center_code": self.centre,
            "acted_by": self.acted_by or None,
            "detail": self.detail,
            "record": self.where,
        }


@dataclass
class CaseTimeline:
    """Everything known about one case from the output topics."""

    case_id: str
    dispositions: list[Disposition] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def add_disposition(self, v: RecordView) -> None:
        disp = Disposition.model_validate(v.doc)
        if any(d.disposition_id == disp.disposition_id for d in self.dispositions):
            return  # at-least-once delivery: consumers drop duplicates by id
        self.dispositions.append(disp)
        self.steps.append(
            Step(
                disp.at,
                vocabulary.disposition_step(disp),
                disp.action.value,
                disp.tier.value,
                disp.center_code,
                _disposition_detail(disp),
                v.record.where,
                disp.acted_by or "",
            )
        )

    def add_refusal(self, v: RecordView) -> None:
        """A DLQ record of feedback for this case."""
        doc, fb = v.doc or {}, v.original or {}
        action = str(fb.get("action", ""))
        try:
            at = datetime.fromisoformat(str(doc.get("at")))
        except ValueError:
            at = v.at
        reason = str(doc.get("reason", ""))
        self.steps.append(
            Step(
                at,
                f"反馈被拒：{vocabulary.word(vocabulary.FEEDBACK, action)}",
                f"dlq:{reason}",
                "",
                str(fb.get("center_code", "")),
                f"{vocabulary.word(vocabulary.REASON, reason)}：{doc.get('detail', '')}",
                v.record.where,
                str(fb.get("center_code", "")),
            )
        )

    @property
    def found(self) -> bool:
        return bool(self.steps)

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: s.at)

    def summary(self) -> dict[str, Any]:
        """The case now: state, holder, deadline and what was merged into it."""
        ds = sorted(self.dispositions, key=lambda d: d.at)
        out: dict[str, Any] = {"case_id": self.case_id}
        if not ds:
            return out
        last_state = next((d.state for d in reversed(ds) if d.state), None)
        holder = next((d for d in reversed(ds) if d.action in _HOLDING), ds[-1])
        # Dispositions that name the holder say it outright: an escalate addressed to a
        # supervisor (督办) does not move the case.
        named = next((d for d in reversed(ds) if d.holder), None)
        holding = {"tier": holder.tier.value, "center_code": holder.center_code}
        if named is not None and named.holder is not None:
            holding = {"tier": tier_of_code(named.holder).value, "center_code": named.holder}
            if named.supervisor:
                holding["supervisor"] = named.supervisor
        first = ds[0]
        events = sorted({e for d in ds for e in d.events})
        networks = sorted({n for d in ds for n in d.networks})
        deadline = next((d.deadline for d in reversed(ds) if d.deadline), None)
        out.update(
            state=last_state,
            title=next((d.title for d in ds if d.title), None),
            category=next((d.category for d in reversed(ds) if d.category), None),
            priority=next((d.priority.value for d in reversed(ds) if d.priority), None),
            region_code=next((d.region_code for d in ds if d.region_code), None),
            holder=holding,
            deadline=deadline.isoformat() if deadline else None,
            stage=next((d.stage for d in reversed(ds) if d.stage), None),
            opened_at=first.at.isoformat(),
            reported_at=first.reported_at.isoformat() if first.reported_at else None,
            events=events,
            networks=networks,
        )
        return out


def _disposition_detail(disp: Disposition) -> str:
    parts = []
    if disp.action is DispositionAction.DISPATCH and disp.rule:
        parts.append(f"规则 {disp.rule}")
    if disp.deadline:
        parts.append(f"时限 {disp.deadline.astimezone().strftime('%m-%d %H:%M')}")
    if disp.action in (DispositionAction.MERGE, DispositionAction.DISPATCH) and disp.networks:
        parts.append("来源 " + "、".join(disp.networks))
    if disp.reason and disp.action is not DispositionAction.STATE:
        parts.append(disp.reason)
    elif disp.reason and ":" in disp.reason:  # "cancelled: <note>", "inform: ..."
        parts.append(disp.reason.split(":", 1)[1].strip())
    return "；".join(parts)
