"""Where simulated incidents happen: real villages, plausible coordinates, unit grid codes.

The region tree has no coordinates, so each village gets a pseudo-centroid that is a pure
function of its code: its county's approximate centre (a small table for Chongqing,
a hash inside the bounding box otherwise), plus a hashed offset for its town and another
for itself. Villages of one town therefore cluster, and a village is always in the same
place, run after run.

Each village spans a square cut into ``k × k`` unit grids (万米单元网格), numbered west→east,
north→south from 001. A point's grid code is the village code plus that number, so a
report's ``grid_code`` always agrees with its ``location`` and ``region_code``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
from dataclasses import dataclass

from gridflow.core.regions import RegionGraph
from schemas import Tier

#: Chongqing's bounding box (WGS-84 degrees).
LAT_MIN, LAT_MAX = 28.1, 32.2
LON_MIN, LON_MAX = 105.3, 110.2
_M_PER_DEG_LAT = 111_320.0

# fmt: off
#: Approximate centres of Chongqing's county-level units (lat, lon): good to a few km,
#: enough for a simulation, not for geocoding.
COUNTY_CENTRES: dict[str, tuple[float, float]] = {
    "500101": (30.81, 108.41), "500102": (29.70, 107.39), "500103": (29.55, 106.57),
    "500104": (29.48, 106.48), "500105": (29.61, 106.57), "500106": (29.54, 106.46),
    "500107": (29.50, 106.51), "500108": (29.52, 106.64), "500109": (29.81, 106.40),
    "500110": (29.03, 106.65), "500111": (29.70, 105.72), "500112": (29.72, 106.63),
    "500113": (29.40, 106.54), "500114": (29.53, 108.77), "500115": (29.86, 107.08),
    "500116": (29.29, 106.26), "500117": (29.97, 106.28), "500118": (29.36, 105.93),
    "500119": (29.16, 107.10), "500120": (29.59, 106.23), "500151": (29.84, 106.06),
    "500152": (30.19, 105.84), "500153": (29.41, 105.59), "500154": (31.16, 108.39),
    "500155": (30.67, 107.80), "500156": (29.33, 107.76), "500229": (31.95, 108.66),
    "500230": (29.86, 107.73), "500231": (30.33, 107.35), "500233": (30.30, 108.04),
    "500235": (30.93, 108.70), "500236": (31.02, 109.46), "500237": (31.07, 109.88),
    "500238": (31.40, 109.63), "500240": (30.00, 108.11), "500241": (28.45, 108.99),
    "500242": (28.84, 108.77), "500243": (29.29, 108.17),
}
# fmt: on
#: The dense urban core (主城中心城区): most reports come from here.
URBAN_CORE = frozenset(
    {"500103", "500104", "500105", "500106", "500107", "500108", "500109", "500112", "500113"}
)


@dataclass(frozen=True, slots=True)
class Village:
    """A village or community with its pseudo-centroid and its unit grid layout."""

    code: str
    name: str
    lat: float
    lon: float
    #: half the side of the square the village spans, metres.
    half_side_m: float
    #: unit grids per side of that square.
    cells: int

    @property
    def county(self) -> str:
        """The 6-digit county part of the code."""
        return self.code[:6]

    @property
    def community(self) -> bool:
        """True for an urban community (居委会/社区, village digits 001-199)."""
        return int(self.code[9:]) < 200


def _unit(*parts: str) -> tuple[float, float]:
    """Two floats in [0, 1) that depend only on ``parts``."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=8).digest()
    return (
        int.from_bytes(digest[:4], "big") / 2**32,
        int.from_bytes(digest[4:], "big") / 2**32,
    )


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    dlat = north_m / _M_PER_DEG_LAT
    dlon = east_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _county_centre(county: str) -> tuple[float, float]:
    if county in COUNTY_CENTRES:
        return COUNTY_CENTRES[county]
    u, v = _unit("county", county)
    return LAT_MIN + 0.2 + u * (LAT_MAX - LAT_MIN - 0.4), LON_MIN + 0.2 + v * (
        LON_MAX - LON_MIN - 0.4
    )


def village_of(code: str, name: str = "") -> Village:
    """The pseudo-geography of one village: deterministic in its code."""
    county = code[:6]
    urban = county in URBAN_CORE
    lat, lon = _county_centre(county)
    # Towns spread over the county, villages over the town; the urban core is compact.
    town_r, village_r = (4_000.0, 1_200.0) if urban else (18_000.0, 4_000.0)
    u, v = _unit("town", code[:9])
    lat, lon = _offset(lat, lon, (2 * u - 1) * town_r, (2 * v - 1) * town_r)
    u, v = _unit("village", code)
    lat, lon = _offset(lat, lon, (2 * u - 1) * village_r, (2 * v - 1) * village_r)
    lat = _clamp(lat, LAT_MIN + 0.02, LAT_MAX - 0.02)
    lon = _clamp(lon, LON_MIN + 0.02, LON_MAX - 0.02)
    community = int(code[9:]) < 200
    size, layout = _unit("layout", code)
    # A community is a few blocks; a rural village covers hills and fields.
    half_side = (250.0 + 250.0 * size) if community else (900.0 + 900.0 * size)
    cells = 2 + int(layout * 7)  # 2..8 per side: 4..64 unit grids
    return Village(code, name, lat, lon, half_side, cells)


class VillageAtlas:
    """The villages of a region tree, with sampling weighted towards the urban districts."""

    __slots__ = ("_by_town", "_cumulative", "_total", "villages")

    def __init__(self, regions: RegionGraph) -> None:
        """Index every village of ``regions``; raises ``ValueError`` when there is none."""
        self.villages = tuple(village_of(r.code, r.name) for r in regions.by_tier(Tier.VILLAGE))
        if not self.villages:
            raise ValueError("the region tree has no villages to simulate")
        self._cumulative = list(itertools.accumulate(_weight(v) for v in self.villages))
        towns: dict[str | None, list[Village]] = {}
        for village in self.villages:
            towns.setdefault(regions.parent(village.code), []).append(village)
        #: village code -> the villages of its town (itself included)
        self._by_town = {
            v.code: together for together in map(tuple, towns.values()) for v in together
        }
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> Village:
        """A village, urban communities and core districts more likely than remote villages."""
        index = bisect.bisect_right(self._cumulative, rng.random() * self._total)
        return self.villages[min(index, len(self.villages) - 1)]

    def siblings(self, village: Village) -> tuple[Village, ...]:
        """The other villages of ``village``'s town (its neighbours across a village line)."""
        return tuple(v for v in self._by_town.get(village.code, ()) if v.code != village.code)

    def point_in(self, village: Village, rng: random.Random) -> tuple[float, float]:
        """A point inside the village's square, denser towards its centre."""
        h = village.half_side_m
        north = _clamp(rng.gauss(0.0, h / 2), -h, h)
        east = _clamp(rng.gauss(0.0, h / 2), -h, h)
        return _offset(village.lat, village.lon, north, east)

    @staticmethod
    def near(
        village: Village, lat: float, lon: float, rng: random.Random, max_m: float
    ) -> tuple[float, float]:
        """A point at most ``max_m`` metres from (lat, lon), kept inside the village."""
        distance = rng.uniform(3.0, max_m)
        bearing = rng.uniform(0.0, 2 * math.pi)
        lat2, lon2 = _offset(lat, lon, distance * math.cos(bearing), distance * math.sin(bearing))
        north, east = _local(village, lat2, lon2)
        h = village.half_side_m
        # Projecting onto the square never moves the point further from one inside it.
        return _offset(village.lat, village.lon, _clamp(north, -h, h), _clamp(east, -h, h))

    @staticmethod
    def grid_code(village: Village, lat: float, lon: float) -> str:
        """The 15-digit unit grid code of a point: village code + grid number (001…)."""
        north, east = _local(village, lat, lon)
        side = 2 * village.half_side_m / village.cells
        col = int(_clamp((east + village.half_side_m) // side, 0, village.cells - 1))
        row = int(_clamp((village.half_side_m - north) // side, 0, village.cells - 1))
        return f"{village.code}{row * village.cells + col + 1:03d}"


def _local(village: Village, lat: float, lon: float) -> tuple[float, float]:
    """(north, east) metres of a point relative to the village centroid."""
    north = (lat - village.lat) * _M_PER_DEG_LAT
    east = (lon - village.lon) * _M_PER_DEG_LAT * math.cos(math.radians(village.lat))
    return north, east


def _weight(village: Village) -> float:
    # 5001xx are districts (区), 5002xx counties (县): fewer people, fewer reports.
    district = village.county[3] == "1"
    county = 4.0 if village.county in URBAN_CORE else 2.0 if district else 1.0
    return county * (3.0 if village.community else 1.0)
