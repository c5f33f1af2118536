"""The one order of the four tiers and the one order of the four severities.

Every module that compares, walks or lists tiers or severities takes them from here.
"""

from __future__ import annotations

from schemas.common import Severity, Tier

#: Bottom to top: escalation walks this list.
TIERS_UP: tuple[Tier, ...] = (Tier.VILLAGE, Tier.TOWN, Tier.COUNTY, Tier.CITY)
#: Top to bottom: the region tree's depth order (city at depth 0).
TIERS_DOWN: tuple[Tier, ...] = tuple(reversed(TIERS_UP))
#: Depth in the region tree: city 0 … village 3.
TIER_DEPTH: dict[Tier, int] = {tier: depth for depth, tier in enumerate(TIERS_DOWN)}
_INDEX = {tier: i for i, tier in enumerate(TIERS_UP)}

#: Severities from lowest to highest.
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.LOW,
    Severity.NORMAL,
    Severity.HIGH,
    Severity.CRITICAL,
)
#: Rank of each severity in :data:`SEVERITY_ORDER` (higher: more severe).
SEVERITY_RANK: dict[Severity, int] = {
    severity: rank for rank, severity in enumerate(SEVERITY_ORDER)
}


def parent_tier(tier: Tier) -> Tier | None:
    """The tier above ``tier``; None at the city."""
    i = _INDEX[tier] + 1
    return TIERS_UP[i] if i < len(TIERS_UP) else None


def is_above(a: Tier, b: Tier) -> bool:
    """True when tier ``a`` is strictly above tier ``b``."""
    return _INDEX[a] > _INDEX[b]
