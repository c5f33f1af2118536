"""The event generator: seeded, realistic, and every record is what its kind says it is."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from gridflow.core.catalogue import Catalogue
from gridflow.core.coords import to_wgs84
from gridflow.core.geo import haversine_m
from gridflow.core.ingest import IngestLimits, decode_events
from gridflow.core.regions import RegionGraph
from gridflow.simulator.events import CST, EventGenerator, SimRecord, generate
from gridflow.simulator.incidents import TEMPLATES
from gridflow.simulator.places import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN, URBAN_CORE, VillageAtlas
from schemas import GridEvent, RejectReason, Tier

START = datetime(2024, 5, 6, 9, 30, tzinfo=CST)
N = 5_000


class SteppingClock:
    """A clock that advances a fixed step on every reading: reproducible 'now'."""

    def __init__(self, step_s: float = 0.5) -> None:
        self.now = START
        self.step = timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def records(seed: int = 7, count: int = N, **options: object) -> list[SimRecord]:
    return generate(count, seed, clock=SteppingClock(), **options)


@pytest.fixture(scope="module")
def stream() -> list[SimRecord]:
    return records(duplicate_rate=0.2, malformed_rate=0.05)


@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


def parsed(stream: list[SimRecord]) -> dict[str, GridEvent]:
    """Every well-formed single event by id (the first report of each id)."""
    out: dict[str, GridEvent] = {}
    for record in stream:
        if record.kind in ("valid", "duplicate"):
            event = GridEvent.model_validate_json(record.value)
            out.setdefault(event.event_id, event)
    return out


# ---- determinism ----


def wgs84(event: GridEvent) -> tuple[float, float]:
    """The event's point in WGS-84, as the processor converts it on intake."""
    assert event.location is not None
    return to_wgs84(event.location.lat, event.location.lon, event.coord_system)


def test_the_same_seed_and_clock_give_the_same_records_byte_for_byte() -> None:
    assert records(seed=3, count=500) == records(seed=3, count=500)


def test_another_seed_gives_other_records() -> None:
    assert [r.value for r in records(seed=3, count=50)] != [
        r.value for r in records(seed=4, count=50)
    ]


def test_count_is_exact_in_events_even_when_batching() -> None:
    assert sum(r.events for r in records(count=1234)) == 1234
    assert sum(r.events for r in records(count=1234, batch_size=100)) == 1234


# ---- shares ----


def test_repeats_and_malformed_records_come_at_the_configured_rates(
    stream: list[SimRecord],
) -> None:
    kinds = Counter("malformed" if r.malformed else r.kind for r in stream)
    assert sum(kinds.values()) == N
    assert kinds["duplicate"] + kinds["resend"] == pytest.approx(0.2 * N, rel=0.12)
    assert kinds["malformed"] == pytest.approx(0.05 * N, rel=0.2)
    # Most repeats are other networks reporting; exact retries are the minority.
    assert kinds["resend"] < kinds["duplicate"] / 3


def test_rates_of_zero_give_only_valid_events() -> None:
    assert {r.kind for r in records(count=500, duplicate_rate=0.0, malformed_rate=0.0)} == {"valid"}


def test_impossible_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        EventGenerator(1, duplicate_rate=0.7, malformed_rate=0.5)
    with pytest.raises(ValueError):
        EventGenerator(1, malformed_rate=-0.1)
    with pytest.raises(ValueError):
        EventGenerator(1, batch_size=0)


# ---- valid events ----


def test_every_valid_duplicate_and_resend_record_is_a_grid_event(stream: list[SimRecord]) -> None:
    for record in stream:
        if not record.malformed:
            GridEvent.model_validate_json(record.value)


def test_valid_events_name_real_villages_configured_networks_and_resolvable_categories(
    stream: list[SimRecord], regions: RegionGraph, catalogue: Catalogue
) -> None:
    events = parsed(stream).values()
    for event in events:
        region = regions.get(event.region_code)
        assert region is not None and region.tier is Tier.VILLAGE
        assert event.source_network in catalogue.networks
        if event.category is not None:
            assert catalogue.resolve(event.source_network, event.category) is not None
        assert event.title or event.description
    categories = Counter(
        "absent" if e.category is None else "unified" if e.category in catalogue else "own"
        for e in events
    )
    # All three ways of naming a category occur in quantity.
    assert min(categories.values()) > 0.1 * len(events)


def test_reported_at_carries_the_china_offset_and_is_not_after_the_clock(
    stream: list[SimRecord],
) -> None:
    for record in stream:
        if record.kind == "valid":
            doc = orjson.loads(record.value)
            assert doc["reported_at"].endswith("+08:00")
    latest = START + timedelta(seconds=0.5 * 2 * N)
    assert all(e.reported_at <= latest for e in parsed(stream).values())


def test_locations_lie_in_chongqing_and_grid_codes_agree_with_region_and_location(
    stream: list[SimRecord], regions: RegionGraph
) -> None:
    atlas = VillageAtlas(regions)
    villages = {v.code: v for v in atlas.villages}
    with_grid = 0
    for event in parsed(stream).values():
        if event.location is not None:
            assert LAT_MIN <= event.location.lat <= LAT_MAX
            assert LON_MIN <= event.location.lon <= LON_MAX
        if event.grid_code is not None:
            with_grid += 1
            assert event.grid_code[:12] == event.region_code
            assert event.grid_code[12:] != "000"
            if event.location is not None:
                village = villages[event.region_code]
                # The grid is the WGS-84 point's, as the processor converts it on intake.
                lat, lon = to_wgs84(event.location.lat, event.location.lon, event.coord_system)
                assert atlas.grid_code(village, lat, lon) == event.grid_code
    assert with_grid > N / 2


def test_most_records_are_keyed_by_their_region_and_a_few_are_not(stream: list[SimRecord]) -> None:
    singles = [r for r in stream if r.kind == "valid"]
    keyed = sum(r.key == orjson.loads(r.value)["region_code"].encode() for r in singles)
    assert 0.9 * len(singles) < keyed < len(singles)
    assert any(r.key in (b"", None) for r in singles)


def test_reports_come_mostly_from_the_urban_core(
    stream: list[SimRecord], regions: RegionGraph
) -> None:
    villages = regions.by_tier(Tier.VILLAGE)
    core_villages = sum(v.code[:6] in URBAN_CORE for v in villages) / len(villages)
    events = list(parsed(stream).values())
    core_events = sum(e.region_code[:6] in URBAN_CORE for e in events) / len(events)
    assert core_events > 2 * core_villages


def test_critical_reports_are_rare_but_present() -> None:
    events = parsed(records(seed=11, count=20_000, duplicate_rate=0.0, malformed_rate=0.0))
    critical = sum(e.severity == "critical" for e in events.values())
    assert 0 < critical < 0.02 * len(events)


def test_there_are_at_least_sixty_templates_all_in_the_catalogue(catalogue: Catalogue) -> None:
    assert len(TEMPLATES) >= 60
    for template in TEMPLATES:
        assert template.category in catalogue
        assert set(template.networks) <= catalogue.networks
        assert template.titles and template.details and template.weight > 0
    fire_like = {"SJ0401", "SJ0402", "SJ0403"}
    assert fire_like <= {t.category for t in TEMPLATES if t.critical}


# ---- repeats ----


def test_duplicates_are_the_same_incident_near_in_space_and_time(stream: list[SimRecord]) -> None:
    events = parsed(stream)
    duplicates = [r for r in stream if r.kind == "duplicate"]
    assert duplicates
    other_network = 0
    for record in duplicates:
        dup = GridEvent.model_validate_json(record.value)
        assert record.original_id is not None
        original = events[record.original_id]
        assert dup.event_id != original.event_id
        assert dup.region_code == original.region_code
        assert abs(dup.reported_at - original.reported_at) <= timedelta(minutes=10)
        if dup.location is not None and original.location is not None:
            # Compared as the processor sees them: both in WGS-84.
            distance = haversine_m(*wgs84(dup), *wgs84(original))
            assert distance <= 100
        other_network += dup.source_network != original.source_network
    assert other_network > 0.8 * len(duplicates)


def test_a_resend_repeats_an_earlier_event_exactly(stream: list[SimRecord]) -> None:
    first_bytes: dict[str, bytes] = {}
    for record in stream:
        if record.kind == "valid":
            first_bytes[orjson.loads(record.value)["event_id"]] = record.value
        elif record.kind == "resend":
            assert record.original_id in first_bytes, "a retry never overtakes its original"
            assert record.value == first_bytes[record.original_id]


# ---- malformed records ----


def test_every_defect_occurs(stream: list[SimRecord]) -> None:
    flaws = {r.flaw for r in stream if r.malformed}
    assert flaws == {
        "invalid_json", "not_utf8", "missing_field", "short_region_code", "naive_timestamp",
        "wrong_types", "unknown_region", "future_timestamp", "unknown_network", "too_large",
    }  # fmt: skip


def test_each_malformed_record_fails_for_the_reason_its_kind_names(
    stream: list[SimRecord], regions: RegionGraph, catalogue: Catalogue
) -> None:
    latest = START + timedelta(seconds=0.5 * 2 * N)
    for record in (r for r in stream if r.malformed):
        assert record.reason is not None
        reason = RejectReason(record.reason)
        if reason is RejectReason.TOO_LARGE:
            assert len(record.value) > 256 * 1024
            continue
        if reason is RejectReason.NOT_UTF8:
            with pytest.raises(UnicodeDecodeError):
                record.value.decode("utf-8")
            continue
        record.value.decode("utf-8")
        if reason is RejectReason.INVALID_JSON:
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(record.value)
            continue
        if reason is RejectReason.SCHEMA:
            with pytest.raises(ValidationError):
                GridEvent.model_validate_json(record.value)
            continue
        event = GridEvent.model_validate_json(record.value)
        if reason is RejectReason.UNKNOWN_REGION:
            assert event.region_code not in regions
        elif reason is RejectReason.UNKNOWN_NETWORK:
            assert event.region_code in regions
            assert event.source_network not in catalogue.networks
        else:
            assert reason is RejectReason.FUTURE_TIMESTAMP
            assert event.source_network in catalogue.networks
            assert event.reported_at > latest + timedelta(hours=12)


def test_the_processors_decoder_gives_each_record_the_intended_outcome(
    stream: list[SimRecord], regions: RegionGraph, catalogue: Catalogue
) -> None:
    villages = {r.code for r in regions.by_tier(Tier.VILLAGE)}
    now = START + timedelta(seconds=0.5 * 2 * N)
    for record in stream:
        events, rejects = decode_events(
            record.value,
            known_region=villages,
            known_network=catalogue.networks,
            now=now,
            limits=IngestLimits(),
        )
        if record.malformed:
            assert [r.reason.value for r in rejects] == [record.reason], record.flaw
        else:
            assert (len(events), rejects) == (1, [])


# ---- batches ----


def test_a_batch_record_is_a_json_array_of_valid_events_within_the_size_limit() -> None:
    stream = records(count=2_000, batch_size=50, duplicate_rate=0.1, malformed_rate=0.01)
    batches = [r for r in stream if r.kind == "valid"]
    assert batches and all(1 <= r.events <= 50 for r in batches)
    assert sum(r.events == 50 for r in batches) >= len(batches) - 1
    for record in batches:
        docs = orjson.loads(record.value)
        assert isinstance(docs, list) and len(docs) == record.events
        for doc in docs:
            GridEvent.model_validate(doc)
        assert len(record.value) <= 256 * 1024


def test_a_batch_is_cut_before_it_outgrows_the_record_limit() -> None:
    stream = records(count=1_000, batch_size=1_000, malformed_rate=0.0, max_record_bytes=20_000)
    batches = [r for r in stream if r.kind == "valid"]
    assert len(batches) > 1
    assert all(len(r.value) <= 20_000 for r in batches)


# ---- Chinese datums and the 12345 hotline ----


def test_phone_reports_state_gcj02_or_bd09_in_the_documented_shares(
    stream: list[SimRecord],
) -> None:
    from gridflow.simulator.events import COORD_SYSTEMS

    people = Counter[str]()
    for record in stream:
        if record.malformed or record.kind == "resend":
            continue
        doc = orjson.loads(record.value)
        if "location" not in doc:
            continue
        role = (doc.get("reporter") or {}).get("role")
        system = doc.get("coord_system", "wgs84")
        assert record.coord_systems == (() if system == "wgs84" else (system,))
        if role in ("sensor", "video_ai") or doc["source_network"] == "video_ai":
            assert system == "wgs84", "machines send WGS-84"
            continue
        people[system] += 1
    total = sum(people.values())
    for system, share in COORD_SYSTEMS:
        assert abs(people[system] / total - share) < 0.03, people


def test_the_processor_converts_a_chinese_datum_back_to_the_incident_s_point(
    stream: list[SimRecord], regions: RegionGraph, catalogue: Catalogue
) -> None:
    """A duplicate in GCJ-02 or BD-09 lands within metres of its incident once decoded."""
    villages = {r.code for r in regions.by_tier(Tier.VILLAGE)}
    decoded: dict[str, GridEvent] = {}
    converted = 0
    for record in stream:
        if record.malformed:
            continue
        events, _ = decode_events(
            record.value,
            known_region=villages,
            known_network=catalogue.networks,
            now=START + timedelta(days=1),
            limits=IngestLimits(),
        )
        for event in events:
            decoded.setdefault(event.event_id, event)
            converted += bool(record.coord_systems)
            assert event.coord_system == "wgs84", "converted on intake"
        if record.kind == "duplicate" and record.original_id in decoded:
            (dup,) = events
            original = decoded[record.original_id]
            if dup.location is not None and original.location is not None:
                distance = haversine_m(
                    dup.location.lat, dup.location.lon, original.location.lat, original.location.lon
                )
                assert distance <= 100, (record.coord_systems, distance)
    assert converted > N / 10


def test_12345_reports_carry_a_request_type_in_the_documented_shares() -> None:
    from gridflow.simulator.events import HOTLINE, HOTLINE_SHARE, REQUEST_TYPES

    stream = records(seed=11, count=20_000, duplicate_rate=0.0, malformed_rate=0.0)
    types = Counter[str]()
    hotline = 0
    for record in stream:
        event = GridEvent.model_validate_json(record.value)
        if event.source_network != HOTLINE:
            assert event.request_type is None and record.request_types == ()
            continue
        hotline += 1
        assert event.request_type is not None
        assert record.request_types == (event.request_type,)
        assert event.reporter is None or event.reporter.role == "citizen"
        assert event.event_id.startswith("RX-")
        types[event.request_type] += 1
    # A share of the incidents whose category the hotline maps, so fewer of all events.
    assert 0.02 * len(stream) < hotline < HOTLINE_SHARE * len(stream)
    for request_type, share in REQUEST_TYPES:
        assert abs(types[request_type] / hotline - share) < 0.04, types


def test_datums_do_not_shift_the_rest_of_the_stream() -> None:
    """The datum has its own generator: the same reports, only their points restated."""
    from gridflow.simulator import events as ev

    def reports() -> list[dict[str, object]]:
        out = []
        for record in records(count=500, malformed_rate=0.0):
            doc = orjson.loads(record.value)
            doc.pop("location", None)
            doc.pop("coord_system", None)
            out.append(doc)
        return out

    with_datums = reports()
    saved = ev.COORD_SYSTEMS
    try:
        ev.COORD_SYSTEMS = ()
        without = reports()
    finally:
        ev.COORD_SYSTEMS = saved
    assert with_datums == without
