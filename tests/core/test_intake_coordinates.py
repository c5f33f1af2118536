"""Intake of coordinates and unit grids: every point in WGS-84, every grid in its village.

Reference points, 解放碑 in Chongqing: WGS-84 (29.5630, 106.5516) is GCJ-02
(29.560151, 106.555318) and BD-09 (29.566466, 106.561748), the values 高德 and 百度 show.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson
import pytest

from gridflow.core.coords import to_wgs84
from gridflow.core.ingest import IngestLimits, decode_events
from schemas import RejectReason

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
VILLAGE = "500103001001"
WGS = (29.5630, 106.5516)
GCJ = (29.560151273667472, 106.55531764979986)
BD = (29.566465989291594, 106.56174823404533)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlat = math.radians(a[0] - b[0])
    dlon = math.radians(a[1] - b[1]) * math.cos(math.radians(a[0]))
    return 6_371_000 * math.hypot(dlat, dlon)


def decode(**fields: object) -> tuple[list, list]:  # type: ignore[type-arg]
    doc = {
        "event_id": "e1",
        "source_network": "chengguan",
        "reported_at": "2026-11-25T17:00:00+08:00",
        "region_code": VILLAGE,
        "title": "井盖缺失",
        **fields,
    }
    return decode_events(
        orjson.dumps(doc),
        known_region={VILLAGE},
        known_network={"chengguan"},
        now=NOW,
        limits=IngestLimits(),
    )


@pytest.mark.parametrize(
    ("system", "point", "within_m"),
    [("wgs84", WGS, 0.0), ("gcj02", GCJ, 0.5), ("bd09", BD, 1.0)],
)
def test_points_are_converted_to_wgs84(
    system: str, point: tuple[float, float], within_m: float
) -> None:
    assert metres(to_wgs84(*point, system), WGS) <= within_m
    [event], [] = decode(location={"lat": point[0], "lon": point[1]}, coord_system=system)
    assert event.coord_system == "wgs84"
    assert metres((event.location.lat, event.location.lon), WGS) <= within_m


def test_the_datums_differ_by_more_than_a_merge_radius() -> None:
    # Why the conversion matters: the 250 m default merge radius.
    assert metres(GCJ, WGS) > 250
    assert metres(BD, WGS) > 250 * 2


def test_an_event_without_coord_system_is_wgs84_and_untouched() -> None:
    [event], [] = decode(location={"lat": WGS[0], "lon": WGS[1]})
    assert (event.location.lat, event.location.lon) == WGS


def test_an_unknown_coord_system_is_a_schema_error() -> None:
    [], [reject] = decode(location={"lat": 1.0, "lon": 2.0}, coord_system="cgcs2000")
    assert reject.reason is RejectReason.SCHEMA
    assert "coord_system" in reject.detail


@pytest.mark.parametrize(
    ("grid_code", "accepted"),
    [
        (VILLAGE + "007", True),
        ("500103001002007", False),  # the neighbouring village's grid
        ("500104001001007", False),  # another county
    ],
)
def test_grid_code_must_lie_in_region_code(grid_code: str, accepted: bool) -> None:
    events, rejects = decode(grid_code=grid_code)
    if accepted:
        assert [e.grid_code for e in events] == [grid_code]
    else:
        [reject] = rejects
        assert reject.reason is RejectReason.GRID_OUTSIDE_REGION
        assert grid_code in reject.detail and VILLAGE in reject.detail
