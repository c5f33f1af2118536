"""Who stands where on a case: the handler, the supervising side and the verifier.

监管分离 (supervision apart from handling), as data the engine and the API share:

* the **holder** handles the case (受理, 处置, 延期, 退回, 请求上级协调);
* the **supervisor** (督办): after a missed deadline the centre of the tier above takes
  the case under supervision while the holder keeps handling it, on the policy's
  ``supervise`` time; each further miss moves the supervision one tier up. ``None``: no
  deadline was missed, and the centre above the holder supervises as usual;
* the **verifier** checks the resolution (核查, 返工, 结案, 回访): the centre of the tier
  the category names in ``catalogue.yaml`` (``verifiers:``), when that tier is above the
  holder; or the department office it names (``county:zjz``: the county's 质监站,
  :mod:`gridflow.core.offices`) while the holder is not above the office's tier;
  otherwise the centre above the holder. Never the holder itself, except at the city,
  which has no one above it.

A centre above a region-centre verifier may check too (the supervision of supervision); a
centre beside or below it may not. A department office checks alone: it is outside the
region centres' chain, and the region centres above it are the ones it checks apart from.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridflow.core.catalogue import Catalogue
from gridflow.core.offices import VerifierRule, office_code, split_office
from gridflow.core.regions import RegionGraph
from gridflow.core.tiers import is_above

__all__ = ["CaseRoles", "case_roles", "known_centre", "verifier_of"]


@dataclass(frozen=True, slots=True)
class CaseRoles:
    """The centres that may act on one case, as :func:`gridflow.core.loop.may_act` reads them."""

    holder: str
    #: the centres above the holder, nearest first (empty at the city).
    above: tuple[str, ...]
    #: the verifier and the centres above it, nearest first.
    checkers: tuple[str, ...]


def verifier_of(regions: RegionGraph, region: str, holder: str, rule: VerifierRule | None) -> str:
    """The centre that checks a case of ``region`` held by ``holder``.

    ``rule`` is what the case's category names under ``verifiers:`` (``None``: nothing).
    """
    held = regions.get(holder)
    if rule is not None and held is not None:
        if rule.office is not None:
            # Apart from the holder by construction: an office never holds a case. A city
            # holder is not checked by a county's office (it answers to the county).
            if not is_above(held.tier, rule.tier):
                return office_code(regions.ancestor(region, rule.tier), rule.office)
        elif is_above(rule.tier, held.tier):
            return regions.ancestor(region, rule.tier)
    return regions.parent(holder) or holder


def known_centre(regions: RegionGraph, catalogue: Catalogue, code: str) -> bool:
    """A region of the tree, or an office ``catalogue.yaml`` lists at its region's tier:
    a centre that may send feedback (and own a list in the API)."""
    if code in regions:
        return True
    office = split_office(code)
    if office is None:
        return False
    region = regions.get(office[0])
    listed = catalogue.offices.get(office[1])
    return region is not None and listed is not None and region.tier in listed.tiers


def case_roles(regions: RegionGraph, holder: str, verifier: str | None = None) -> CaseRoles:
    """The roles on a case ``holder`` holds and ``verifier`` checks (default: the parent)."""
    above = regions.chain(holder)[1:] if holder in regions else ()
    if verifier is not None and split_office(verifier) is not None:
        checkers: tuple[str, ...] = (verifier,)
    elif verifier is None or verifier not in regions:
        checkers = above or (holder,)
    else:
        checkers = regions.chain(verifier)
    return CaseRoles(holder, tuple(above), tuple(checkers))
