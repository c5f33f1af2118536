"""Which regions a centre's token covers: its own and every region below it."""

from __future__ import annotations

from gridflow.core.regions import RegionGraph, tier_of_code
from schemas.common import Tier

#: Leading digits shared by a centre and everything below it (the city: the whole tree).
_PREFIX = {Tier.COUNTY: 6, Tier.TOWN: 9, Tier.VILLAGE: 12}


def covers(regions: RegionGraph, centre: str, code: str) -> bool:
    """Is ``code`` the centre's own region or one below it?"""
    if centre == code:
        return True
    if centre == regions.city:
        return code in regions
    try:
        tier = tier_of_code(centre)
    except ValueError:
        return False
    digits = _PREFIX.get(tier)
    if digits is None:
        return False
    return code in regions and code[:digits] == centre[:digits]


def code_prefix(regions: RegionGraph, centre: str) -> str:
    """The SQL ``LIKE`` prefix of every code the centre covers ('' for the city)."""
    if centre == regions.city:
        return ""
    return centre[: _PREFIX.get(tier_of_code(centre), 12)]
