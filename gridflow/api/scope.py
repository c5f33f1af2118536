"""Which regions a centre's token covers: its own and every region below it.

A department office that verifies (核查, ``500103000000-zjz``: gridflow/core/offices.py)
covers no region: it sees the cases it verifies (:func:`sees_case`), and the centres of
its region and above see its list (:func:`sees_centre`).
"""

from __future__ import annotations

from gridflow.core import supervision
from gridflow.core.catalogue import Catalogue
from gridflow.core.offices import split_office
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
    if len(centre) != 12:
        return False  # a department office covers no region (sees_case)
    try:
        tier = tier_of_code(centre)
    except ValueError:
        return False
    digits = _PREFIX.get(tier)
    if digits is None:
        return False
    return code in regions and code[:digits] == centre[:digits]


def code_prefix(regions: RegionGraph, centre: str) -> str:
    """The SQL ``LIKE`` prefix of every code the centre covers ('' for the city); a
    verifying office's: its region's."""
    office = split_office(centre)
    if office is not None:
        centre = office[0]
    if centre == regions.city:
        return ""
    return centre[: _PREFIX.get(tier_of_code(centre), 12)]


def is_office(code: str) -> bool:
    """Is ``code`` a department office's centre code (not a region's)?"""
    return split_office(code) is not None


def known_centre(regions: RegionGraph, catalogue: Catalogue, code: str) -> bool:
    """A region of the tree, or an office ``catalogue.yaml`` lists at its region's tier."""
    return supervision.known_centre(regions, catalogue, code)


def sees_centre(regions: RegionGraph, token_centre: str, code: str) -> bool:
    """May ``token_centre`` read centre ``code``'s list and stream? Its own; a region
    centre's below it; an office's of its region or below it."""
    if token_centre == code:
        return True
    if is_office(token_centre):
        return False
    office = split_office(code)
    return covers(regions, token_centre, office[0] if office else code)


def sees_case(regions: RegionGraph, token_centre: str, region: str, verifier: str | None) -> bool:
    """May ``token_centre`` read (and try to act on) a case of ``region``? A region centre
    whose area holds it; a department office that verifies it."""
    if is_office(token_centre):
        return token_centre == verifier
    return covers(regions, token_centre, region)
