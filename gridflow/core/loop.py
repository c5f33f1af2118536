"""The closed loop (立案 → 派遣 → 处置 → 核查 → 结案) as a table the engine executes.

One :class:`Transition` per feedback action: from which case states it is allowed, who
may take it, the state the case goes to, what happens to the SLA stage, and which
disposition and step fact it emits. :meth:`gridflow.core.engine.Engine.apply_feedback`
checks and applies these rows; only what a row cannot say as data (an escalation's
target tier, a return's target centre, an extension's new deadline, the lateness check
of a resolution) is code in the engine, named by the row's ``effect``.

README.md's closed-loop table is rendered from :data:`LOOP` by :func:`table_rows` and a
test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from gridflow.core.case import CaseStatus
from gridflow.core.facts import StepKind
from gridflow.core.supervision import CaseRoles
from schemas import DispositionAction, FeedbackAction

__all__ = ["LOOP", "StageChange", "Transition", "Who", "may_act", "table_rows"]


class Who(StrEnum):
    """Which centres may take an action (the roles are :class:`CaseRoles`)."""

    HOLDER = "holder"  # only the centre holding (handling) the case
    SUPERVISION = "holder or above"  # the holder or any centre above it (督办)
    #: the supervising side only: a centre above the holder, never the holder itself.
    ABOVE = "a centre above the holder"
    #: 监管分离: the case's verifier (the category's verifier tier, by default the centre
    #: above the holder) or a centre above the verifier; never the centre that handled it
    #: (the city centre, with no one above, checks its own cases). A verifying department
    #: office (``county:zjz``) checks alone: no region centre stands above it.
    VERIFIER = "the verifier (or above a region verifier)"


def may_act(who: Who, centre: str, roles: CaseRoles) -> bool:
    """May ``centre`` take an action open to ``who`` on a case with these ``roles``?

    The engine judges feedback with this and the API (and its console) judge the buttons
    they offer with it, so a centre is never shown an action the worker would refuse for
    who sent it.
    """
    if who is Who.VERIFIER:
        return centre in roles.checkers
    if who is Who.ABOVE:
        return centre in roles.above
    if centre == roles.holder:
        return True
    # The supervising side (any centre above the holder) may take supervision actions.
    return who is Who.SUPERVISION and centre in roles.above


class StageChange(StrEnum):
    """What an action does to the case's SLA stage (its running timer)."""

    START_ACCEPT = "accept starts"
    START_RESOLVE = "resolve starts"
    #: the verification stage (核查) starts with the policy's verify limit.
    START_VERIFY = "verify starts"
    STOP = "stops"
    #: the running stage starts afresh under the new holder (escalate).
    RESTART = "restarts"
    #: the running stage's deadline moves (extend).
    MOVE = "deadline moved"
    #: the running stage and its deadline carry on under the new holder (take_over).
    KEEP = "runs on"
    #: no stage runs before or after (verify).
    NONE = "-"


@dataclass(frozen=True, slots=True)
class Transition:
    """One feedback action of the closed loop."""

    action: FeedbackAction
    #: case states the action is allowed from, in the order a refusal names them.
    allowed: tuple[CaseStatus, ...]
    who: Who
    #: the state the case goes to; ``None``: it keeps its state.
    becomes: CaseStatus | None
    stage: StageChange
    disposition: DispositionAction
    step: StepKind
    #: what else the action does, in the engine's code (README's words).
    effect: str = ""


_D, _A, _R, _V = (
    CaseStatus.DISPATCHED,
    CaseStatus.ACCEPTED,
    CaseStatus.RESOLVED,
    CaseStatus.VERIFIED,
)
_C, _X = CaseStatus.CLOSED, CaseStatus.CANCELLED
_STATE = DispositionAction.STATE

_ROWS = (
    Transition(
        FeedbackAction.ACCEPT, (_D,), Who.HOLDER, _A, StageChange.START_RESOLVE, _STATE,
        StepKind.ACCEPTED,
    ),
    Transition(
        FeedbackAction.RESOLVE, (_A,), Who.HOLDER, _R, StageChange.START_VERIFY, _STATE,
        StepKind.RESOLVED, "late if after the resolve deadline",
    ),
    Transition(
        FeedbackAction.VERIFY, (_R,), Who.VERIFIER, _V, StageChange.STOP, _STATE,
        StepKind.VERIFIED,
    ),
    Transition(
        FeedbackAction.REJECT_RESOLUTION, (_R, _V), Who.VERIFIER, _A,
        StageChange.START_RESOLVE, _STATE, StepKind.REWORKED, "rework counted",
    ),
    Transition(
        FeedbackAction.CLOSE, (_V, _R), Who.VERIFIER, _C, StageChange.STOP, _STATE,
        StepKind.CLOSED,
        "from resolved only if the policy sets `close_requires_verify: false`; "
        "judged on time or late",
    ),
    Transition(
        FeedbackAction.CANCEL, (_D, _A), Who.SUPERVISION, _X, StageChange.STOP, _STATE,
        StepKind.CANCELLED,
    ),
    Transition(
        FeedbackAction.REOPEN, (_C, _X, _V), Who.SUPERVISION, _D, StageChange.START_ACCEPT,
        _STATE, StepKind.REOPENED,
    ),
    Transition(
        FeedbackAction.ESCALATE, (_D, _A), Who.HOLDER, None, StageChange.RESTART,
        DispositionAction.ESCALATE, StepKind.ESCALATED,
        "held by the parent tier's centre, once per tier",
    ),
    Transition(
        FeedbackAction.TAKE_OVER, (_D, _A), Who.ABOVE, None, StageChange.KEEP,
        DispositionAction.REROUTE, StepKind.TAKEN_OVER,
        "接管: the sender holds the case; the former holder is told",
    ),
    Transition(
        FeedbackAction.RETURN, (_D, _A), Who.HOLDER, _D, StageChange.START_ACCEPT,
        DispositionAction.REROUTE, StepKind.RETURNED, "held by `target_center` or the parent",
    ),
    Transition(
        FeedbackAction.EXTEND, (_A, _D), Who.HOLDER, None, StageChange.MOVE, _STATE,
        StepKind.EXTENDED, "to `until`, if the policy allows",
    ),
    Transition(
        FeedbackAction.REVISIT, (_V, _C), Who.VERIFIER, None, StageChange.NONE, _STATE,
        StepKind.REVISITED,
        "回访: `unsatisfied` reopens (dispatched, accept starts) if the policy's "
        "`reopen_unsatisfied`",
    ),
)  # fmt: skip

#: Feedback action -> its transition; every action of the contract has one.
LOOP: Mapping[FeedbackAction, Transition] = MappingProxyType({t.action: t for t in _ROWS})


def table_rows() -> list[tuple[str, ...]]:
    """README's closed-loop table, one tuple of cells per action, in the table's order."""
    return [
        (
            f"`{t.action.value}`",
            ", ".join(s.value for s in t.allowed),
            t.who.value,
            t.becomes.value if t.becomes else "unchanged",
            t.stage.value,
            f"`{t.disposition.value}`",
            f"`{t.step.value}`",
            t.effect or "-",
        )
        for t in _ROWS
    ]
