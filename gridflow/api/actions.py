"""Which feedback a centre may send for a case now: the closed loop's table, as data.

The worker decides in ``gridflow/core/engine.py`` (``_may_act`` and each ``_fb_*``
handler's allowed states); this is the same table for the console's buttons, and
``tests/api/test_actions.py`` runs every (state, action, centre) through the engine to
keep the two equal. Checks the read model cannot see (an escalation to a tier the case
was already escalated to, an extension the policy refuses) stay with the worker: the
console shows its refusal and the reason.
"""

from __future__ import annotations

from gridflow.core.regions import RegionGraph

#: State → actions the holding centre may take, in the order the console shows them.
HOLDER_ACTIONS: dict[str, tuple[str, ...]] = {
    "dispatched": ("accept", "return", "escalate", "extend", "cancel"),
    "accepted": ("resolve", "return", "escalate", "extend", "cancel"),
    "resolved": ("verify", "reject_resolution", "close"),
    "verified": ("close", "reject_resolution", "reopen"),
    "closed": ("reopen",),
    "cancelled": ("reopen",),
}
#: What a centre above the holder (its supervisor) may do besides watching.
SUPERVISING = frozenset({"verify", "close", "cancel", "reopen", "reject_resolution"})


def may_act(regions: RegionGraph, holder: str, centre: str, action: str) -> bool:
    """The worker's holder rule: the holder may send anything; a centre above it (its
    supervisor) only the supervising actions. The state is the worker's to judge."""
    if centre == holder:
        return True
    return action in SUPERVISING and holder in regions and centre in regions.chain(holder)[1:]


def allowed_actions(
    regions: RegionGraph, state: str, holder: str, holder_tier: str, centre: str
) -> list[str]:
    """The actions ``centre`` may send for a case in ``state`` held by ``holder``."""
    actions = HOLDER_ACTIONS.get(state, ())
    if centre == holder:
        if holder_tier == "city":  # nobody above the city to escalate or return to by default
            return [a for a in actions if a != "escalate"]
        return list(actions)
    if holder in regions and centre in regions.chain(holder)[1:]:
        return [a for a in actions if a in SUPERVISING]
    return []


def return_targets(regions: RegionGraph, holder: str) -> list[str]:
    """Centres a ``return`` may name: the holder's parent first, then its children."""
    if holder not in regions:
        return []
    parent = regions.parent(holder)
    return ([parent] if parent else []) + list(regions.children(holder))
