"""Which feedback a centre may send for a case now, from the closed loop's own table.

``gridflow/core/loop.py: LOOP`` says, per action, the states it is allowed from and who
may take it (the holder; the holder or a centre above it; only a centre above it; the
case's verifier or a centre above it, 监管分离). The verifier comes with the case (the
dispositions carry it, the read model keeps it), so the API needs no routing rules.
The console's buttons and the API's pre-check read the same rows the engine executes;
``tests/api/test_actions.py`` runs every (state, action, centre) through the engine.
Checks the read model cannot make (an escalation to a tier already escalated to, an
extension the policy refuses) stay with the worker: the console shows its refusal.
"""

from __future__ import annotations

from gridflow.core.case import CaseStatus
from gridflow.core.loop import LOOP
from gridflow.core.loop import may_act as loop_may_act
from gridflow.core.regions import RegionGraph
from gridflow.core.supervision import case_roles
from schemas import FeedbackAction

#: The order the console shows the buttons in: the loop's next step first.
ORDER = (
    FeedbackAction.ACCEPT,
    FeedbackAction.RESOLVE,
    FeedbackAction.VERIFY,
    FeedbackAction.REJECT_RESOLUTION,
    FeedbackAction.CLOSE,
    FeedbackAction.REVISIT,
    FeedbackAction.RETURN,
    FeedbackAction.ESCALATE,
    FeedbackAction.TAKE_OVER,
    FeedbackAction.EXTEND,
    FeedbackAction.CANCEL,
    FeedbackAction.REOPEN,
)


def may_act(
    regions: RegionGraph, holder: str, centre: str, action: str, verifier: str | None = None
) -> bool:
    """The loop's ``who`` for ``action``: may ``centre`` send it for a case ``holder`` holds?

    ``verifier``: the case's verifier as the read model knows it (``None``: the centre
    above the holder, as for cases projected before it was carried).
    """
    try:
        who = LOOP[FeedbackAction(action)].who
    except ValueError:
        return False
    return loop_may_act(who, centre, case_roles(regions, holder, verifier))


def allowed_actions(
    regions: RegionGraph,
    state: str,
    holder: str,
    holder_tier: str,
    centre: str,
    verifier: str | None = None,
) -> list[str]:
    """The actions ``centre`` may send for a case in ``state`` held by ``holder``."""
    shown = []
    for action in ORDER:
        rule = LOOP[action]
        if state not in {s.value for s in rule.allowed}:
            continue
        if not may_act(regions, holder, centre, action.value, verifier):
            continue
        if action is FeedbackAction.ESCALATE and holder_tier == "city":
            continue  # nobody above the city
        if action is FeedbackAction.CLOSE and state == CaseStatus.RESOLVED.value:
            continue  # closing unverified needs a policy's close_requires_verify: false
        shown.append(action.value)
    return shown


def return_targets(regions: RegionGraph, holder: str) -> list[str]:
    """Centres a ``return`` may name: the holder's parent first, then its children."""
    if holder not in regions:
        return []
    parent = regions.parent(holder)
    return ([parent] if parent else []) + list(regions.children(holder))
