"""Department offices that verify (核查) apart from the region centres (监管分离).

Real supervision often puts 核查 with a department's own office rather than with a region's
command centre: the county 住建委's 质监站 checks a 危房 made safe, the town's 市场监管所 a
food-safety case, the county 应急管理局 a 安全生产隐患 put right. ``catalogue.yaml`` lists
such offices under ``offices:`` (a key, a name, the department, the tiers at which every
region of that tier has one) and ``verifiers:`` may name one as ``<tier>:<key>``.

An office is a centre that serves no region of its own, so its centre code cannot be a
region code (CONTRACT.md names region centres by their 12-digit code). It is the code of
the region whose office it is, a ``-`` and the office's key: the 质监站 of 渝中区
(``500103000000``) is ``500103000000-zjz``. The code says where the office sits, so every
layer finds its tier and area from the code alone, without the catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.common import Tier

__all__ = [
    "OFFICE_KEY",
    "Office",
    "VerifierRule",
    "office_code",
    "split_office",
]

#: An office's key: short lower-case ASCII (it is part of a centre code, URLs, Kafka keys).
_KEY = r"[a-z][a-z0-9]{1,15}"
OFFICE_KEY = re.compile(rf"^{_KEY}$")
#: A department office's centre code: its region's code, '-', its key.
_OFFICE_CODE = re.compile(rf"^([0-9]{{12}})-({_KEY})$")


@dataclass(frozen=True, slots=True)
class Office:
    """One kind of department office, as ``catalogue.yaml`` lists it."""

    key: str
    #: what a duty officer calls it after the region's name (e.g. 住建委质监站).
    name: str
    #: the department it belongs to (the catalogue's department names).
    department: str
    #: the tiers at which every region has one.
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class VerifierRule:
    """What ``verifiers:`` names for a category: a tier's centre, or a tier's office."""

    tier: Tier
    #: the office's key; ``None``: the region centre of ``tier`` verifies.
    office: str | None = None

    def __str__(self) -> str:
        return self.tier.value if self.office is None else f"{self.tier.value}:{self.office}"


def office_code(region: str, key: str) -> str:
    """The centre code of office ``key`` of ``region``."""
    return f"{region}-{key}"


def split_office(code: str) -> tuple[str, str] | None:
    """(region code, office key) of a department office's centre code; ``None`` for any
    other code (a region centre's)."""
    if len(code) <= 12:
        return None
    found = _OFFICE_CODE.match(code)
    return (found.group(1), found.group(2)) if found else None
