"""The region tree: city → county → town → village, named by 12-digit statistical codes.

The tree is read from a CSV of the 统计用区划代码 (``code,name,level,parent_code``) and
validated strictly, because every routing decision walks it: a village without a town
would leave its events with no town centre to escalate to.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.tiers import TIER_DEPTH, TIERS_DOWN
from schemas.common import Tier

__all__ = ["TIER_DEPTH", "Region", "RegionGraph", "tier_of_code"]

_BUNDLED = BUNDLED_RULES / DIVISIONS_FILE

#: Depth of each tier below the city (city 0 … village 3).
_TIERS_BY_DEPTH = TIERS_DOWN
#: How many leading digits identify a region of each tier: the rest of the code is zeros.
_PREFIX_DIGITS = {Tier.CITY: 4, Tier.COUNTY: 6, Tier.TOWN: 9, Tier.VILLAGE: 12}
_COLUMNS = ("code", "name", "level", "parent_code")


@dataclass(frozen=True, slots=True)
class Region:
    """One administrative region and the code of its parent (``None`` for the city)."""

    code: str
    name: str
    tier: Tier
    parent: str | None


def _is_code(code: str) -> bool:
    return len(code) == 12 and code.isascii() and code.isdigit()


def tier_of_code(code: str) -> Tier:
    """The tier a 12-digit statistical division code names, from its digits alone.

    The code is province (2) + prefecture (2) + county (2) + town (3) + village (3)
    digits, and a region's code is its own digits followed by zeros:

    * digits 5-12 all zero → ``city`` (a prefecture-level city such as ``440100000000``,
      or a province-level municipality such as Chongqing ``500000000000``);
    * digits 7-12 zero → ``county`` (Chongqing: ``5001xx000000`` districts and
      ``5002xx000000`` counties);
    * digits 10-12 zero → ``town`` (街道/镇/乡, ``xxxxxxxxx000``);
    * otherwise → ``village`` (社区/村).

    The municipality pseudo-levels ``500100000000`` (市辖区) and ``500200000000`` (县)
    therefore read as ``city``; they are not regions of the tree.

    Raises ``ValueError`` for anything but 12 ASCII digits.
    """
    if not _is_code(code):
        raise ValueError(f"region code must be 12 digits, not {code!r}")
    if code.endswith("000"):
        if code.endswith("000000"):
            return Tier.CITY if code.endswith("00000000") else Tier.COUNTY
        return Tier.TOWN
    return Tier.VILLAGE


class RegionGraph:
    """An immutable, validated region tree with constant-time ancestor look-ups."""

    __slots__ = ("_ancestors", "_by_tier", "_children", "_regions", "city")

    def __init__(self, regions: dict[str, Region], city: str) -> None:
        """Build the indexes; ``regions`` must already be a valid tree (see :meth:`load_csv`)."""
        self._regions = regions
        self.city = city
        children: dict[str, list[str]] = {code: [] for code in regions}
        by_tier: dict[Tier, list[Region]] = {tier: [] for tier in _TIERS_BY_DEPTH}
        for region in regions.values():
            by_tier[region.tier].append(region)
            if region.parent is not None:
                children[region.parent].append(region.code)
        self._children = {code: tuple(kids) for code, kids in children.items()}
        self._by_tier = {tier: tuple(items) for tier, items in by_tier.items()}
        # The hot path (routing every event up the tiers) asks "the town of this village"
        # millions of times: store each region's ancestors indexed by tier depth.
        ancestors: dict[str, tuple[str, ...]] = {}
        for tier in _TIERS_BY_DEPTH:  # parents before children
            for region in self._by_tier[tier]:
                above = ancestors[region.parent] if region.parent is not None else ()
                depth = TIER_DEPTH[tier]
                ancestors[region.code] = (*above[:depth], region.code)
        self._ancestors = ancestors

    @classmethod
    def load_csv(cls, path: str | Path) -> RegionGraph:
        """Load and validate a ``code,name,level,parent_code`` CSV (UTF-8, header first).

        Rows may come in any order. Raises :class:`ConfigLoadError` with the row's line
        for: a code that is not 12 digits or whose digits name another tier than its
        ``level``; an unknown level; a duplicate code; an empty name; a missing or unknown
        parent; a parent of the wrong tier (a village's parent must be a town, a town's a
        county, a county's the city) or whose code does not contain the child's; a city
        with a parent; more than one city; no city at all (line ``None``).
        """
        file = str(path)
        regions: dict[str, Region] = {}
        lines: dict[str, int] = {}
        city: str | None = None
        try:
            handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ConfigLoadError(file, None, f"cannot read: {exc.strerror or exc}") from exc
        with handle:
            reader = csv.reader(handle)
            try:
                header = next(reader, None)
                if header is None:
                    raise ConfigLoadError(file, None, "empty file")
                index = _column_index(file, [column.strip() for column in header])
                for row in reader:
                    # line_num is the physical line where this record ended: the one
                    # to report (records here never span lines).
                    line = reader.line_num
                    if not any(cell.strip() for cell in row):
                        continue
                    if len(row) < len(header):
                        raise ConfigLoadError(
                            file, line, f"expected {len(header)} columns, got {len(row)}"
                        )
                    region = _parse_row(file, line, [row[i].strip() for i in index])
                    if region.code in regions:
                        first = lines[region.code]
                        raise ConfigLoadError(
                            file, line, f"duplicate code {region.code} (first at line {first})"
                        )
                    if region.tier is Tier.CITY:
                        if city is not None:
                            raise ConfigLoadError(
                                file,
                                line,
                                f"more than one city: {region.code} "
                                f"(city {city} at line {lines[city]})",
                            )
                        city = region.code
                    regions[region.code] = region
                    lines[region.code] = line
            except UnicodeDecodeError as exc:
                raise ConfigLoadError(file, None, f"not UTF-8: {exc.reason}") from exc
            except csv.Error as exc:
                raise ConfigLoadError(file, reader.line_num, f"CSV syntax: {exc}") from exc
        if city is None:
            raise ConfigLoadError(file, None, "no city: exactly one row must have level city")
        for code, region in regions.items():
            _check_parent(file, lines[code], region, regions)
        return cls(regions, city)

    @classmethod
    def default(cls) -> RegionGraph:
        """The bundled Chongqing tree (2023 statistical codes), loaded once per process."""
        return _default_graph()

    def get(self, code: str) -> Region | None:
        """The region with this code, or ``None``."""
        return self._regions.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._regions

    def __len__(self) -> int:
        return len(self._regions)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions.values())

    def parent(self, code: str) -> str | None:
        """The parent's code (``None`` for the city); ``KeyError`` for an unknown code."""
        return self._regions[code].parent

    def ancestor(self, code: str, tier: Tier) -> str:
        """The code of the centre at ``tier`` responsible for region ``code``.

        A village's town, county or city; the code itself when ``tier`` is its own tier.
        ``KeyError`` for an unknown code, ``ValueError`` when ``tier`` is below the region.
        """
        ancestors = self._ancestors[code]
        depth = TIER_DEPTH[tier]
        if depth >= len(ancestors):
            raise ValueError(f"{code} is a {self._regions[code].tier}: it has no {tier} above it")
        return ancestors[depth]

    def chain(self, code: str) -> tuple[str, ...]:
        """The region and its ancestors up to the city, bottom first; ``KeyError`` if unknown."""
        return self._ancestors[code][::-1]

    def children(self, code: str) -> tuple[str, ...]:
        """Codes of the regions directly below ``code``, in file order; ``KeyError`` if unknown."""
        return self._children[code]

    def by_tier(self, tier: Tier) -> tuple[Region, ...]:
        """Every region of ``tier``, in file order."""
        return self._by_tier[tier]


@functools.cache
def _default_graph() -> RegionGraph:
    return RegionGraph.load_csv(_BUNDLED)


def _column_index(file: str, header: list[str]) -> tuple[int, ...]:
    missing = [column for column in _COLUMNS if column not in header]
    if missing:
        raise ConfigLoadError(
            file, 1, f"header lacks column {missing[0]!r} (need {', '.join(_COLUMNS)})"
        )
    return tuple(header.index(column) for column in _COLUMNS)


def _parse_row(file: str, line: int, cells: list[str]) -> Region:
    code, name, level, parent = cells
    if not _is_code(code):
        raise ConfigLoadError(file, line, f"code must be 12 digits, not {code!r}")
    try:
        tier = Tier(level)
    except ValueError:
        known = ", ".join(t.value for t in _TIERS_BY_DEPTH)
        raise ConfigLoadError(file, line, f"unknown level {level!r} (known: {known})") from None
    if tier_of_code(code) is not tier:
        raise ConfigLoadError(
            file, line, f"code {code} is a {tier_of_code(code)} code but level is {tier}"
        )
    if not name:
        raise ConfigLoadError(file, line, f"region {code} has no name")
    if parent and not _is_code(parent):
        raise ConfigLoadError(file, line, f"parent_code must be 12 digits, not {parent!r}")
    return Region(code, name, tier, parent or None)


def _check_parent(file: str, line: int, region: Region, regions: dict[str, Region]) -> None:
    if region.tier is Tier.CITY:
        if region.parent is not None:
            raise ConfigLoadError(file, line, f"city {region.code} must not have a parent")
        return
    if region.parent is None:
        raise ConfigLoadError(file, line, f"{region.tier} {region.code} has no parent_code")
    parent = regions.get(region.parent)
    if parent is None:
        raise ConfigLoadError(
            file, line, f"{region.tier} {region.code} has unknown parent {region.parent}"
        )
    expected = _TIERS_BY_DEPTH[TIER_DEPTH[region.tier] - 1]
    if parent.tier is not expected:
        raise ConfigLoadError(
            file,
            line,
            f"{region.tier} {region.code}'s parent {parent.code} is a {parent.tier}, "
            f"must be a {expected}",
        )
    # A province-level municipality's city code keeps only 2 significant digits
    # (500000000000) while its counties use 4 (5001xx, 5002xx): compare the city's
    # significant digits, not a fixed 4.
    digits = _PREFIX_DIGITS[parent.tier]
    if parent.tier is Tier.CITY and parent.code[2:4] == "00":
        digits = 2
    prefix = parent.code[:digits]
    if not region.code.startswith(prefix):
        raise ConfigLoadError(
            file,
            line,
            f"{region.tier} {region.code} does not lie under parent {parent.code} "
            f"(code must start with {prefix})",
        )
