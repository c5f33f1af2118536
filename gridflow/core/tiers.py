"""Order of the four tiers and what "up" means."""

from __future__ import annotations

from schemas.common import Tier

#: Bottom to top: escalation walks this list.
TIERS_UP: tuple[Tier, ...] = (Tier.VILLAGE, Tier.TOWN, Tier.COUNTY, Tier.CITY)
_INDEX = {tier: i for i, tier in enumerate(TIERS_UP)}


def parent_tier(tier: Tier) -> Tier | None:
    """The tier above ``tier``; None at the city."""
    i = _INDEX[tier] + 1
    return TIERS_UP[i] if i < len(TIERS_UP) else None


def is_above(a: Tier, b: Tier) -> bool:
    """True when tier ``a`` is strictly above tier ``b``."""
    return _INDEX[a] > _INDEX[b]
