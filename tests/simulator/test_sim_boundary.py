"""Boundary reports (村界): one incident reported again under a neighbouring village.

Seeded like the rest of the stream; each must be valid for the worker, name a sibling
village of the same town, lie within ``DUPLICATE_MAX_M`` of the report it repeats and
carry its category and words, so both stages agree it is the same kind of incident.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridflow.core.catalogue import Catalogue
from gridflow.core.coords import to_wgs84
from gridflow.core.geo import haversine_m
from gridflow.core.ingest import IngestLimits, decode_events
from gridflow.core.regions import RegionGraph
from gridflow.simulator.events import DUPLICATE_MAX_M, EventGenerator, SimRecord, generate
from schemas import GridEvent, Tier

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class SteppingClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=0.5)
        return self.now


def stream(seed: int = 11, **options: object) -> list[SimRecord]:
    return generate(3000, seed, clock=SteppingClock(), duplicate_rate=0.1, **options)


@pytest.fixture(scope="module")
def records() -> list[SimRecord]:
    return stream(boundary_rate=0.05)


def test_boundary_reports_are_seeded(records: list[SimRecord]) -> None:
    assert records == stream(boundary_rate=0.05)
    assert sum(r.kind == "boundary" for r in records) > 50


def test_without_a_boundary_rate_the_stream_is_as_before() -> None:
    # The existing seeded streams (recorded weeks, drills) do not move.
    plain = generate(500, 11, clock=SteppingClock(), duplicate_rate=0.1)
    assert plain == generate(500, 11, clock=SteppingClock(), duplicate_rate=0.1, boundary_rate=0.0)
    assert not [r for r in plain if r.kind == "boundary"]


def test_a_boundary_report_repeats_a_located_report_under_a_sibling_village(
    records: list[SimRecord],
) -> None:
    regions = RegionGraph.default()
    villages = frozenset(r.code for r in regions.by_tier(Tier.VILLAGE))
    first: dict[str, GridEvent] = {}
    for record in records:
        if record.kind in ("valid", "duplicate") and record.events == 1:
            event = GridEvent.model_validate_json(record.value)
            first.setdefault(event.event_id, event)
    checked = 0
    for record in records:
        if record.kind != "boundary":
            continue
        events, rejects = decode_events(
            record.value,
            known_region=villages,
            known_network=Catalogue.default().networks,
            now=START + timedelta(days=1),
            limits=IngestLimits(),
        )
        assert not rejects, rejects
        (event,) = events
        assert record.original_id is not None
        original = first.get(record.original_id)
        if original is None:  # repeated from a batch record: not indexed here
            continue
        checked += 1
        assert event.region_code != original.region_code
        assert regions.parent(event.region_code) == regions.parent(original.region_code)
        assert event.location is not None and original.location is not None
        # The first report may be in GCJ-02 or BD-09 (a phone app); the boundary report is
        # WGS-84: compare them on one datum, as the worker does on intake.
        lat, lon = to_wgs84(
            original.location.lat, original.location.lon, original.coord_system or "wgs84"
        )
        assert event.coord_system in (None, "wgs84")
        distance = haversine_m(event.location.lat, event.location.lon, lat, lon)
        assert distance <= DUPLICATE_MAX_M + 1
        assert (event.category, event.title, event.source_network) == (
            original.category,
            original.title,
            original.source_network,
        )
        if event.grid_code is not None:
            assert event.grid_code.startswith(event.region_code)
    assert checked > 50


def test_rates_that_add_up_to_more_than_one_are_refused() -> None:
    with pytest.raises(ValueError, match="boundary_rate"):
        EventGenerator(1, duplicate_rate=0.6, malformed_rate=0.1, boundary_rate=0.5)
