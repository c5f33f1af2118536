"""Silences as a specification: which reports a silence takes, when, and what they become."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gridflow.config import Settings
from gridflow.core.case import CaseStatus
from gridflow.core.engine import Engine, Outcome
from gridflow.core.facts import StepKind
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.core.silences import SILENCE_LEAD_S, SilenceBook, silence_matches
from gridflow.reference import load_engine
from schemas import DispositionAction, GridEvent, Silence

VILLAGE = "500103001003"
OTHER_VILLAGE_SAME_TOWN = "500103001006"
TOWN = "500103001000"
OTHER_COUNTY_VILLAGE = "500104001001"
CITY = "500000000000"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Chongqing
SITE = (29.556, 106.571)


def silence(**kw: Any) -> Silence:
    doc: dict[str, Any] = {
        "silence_id": "works-1",
        "center_code": TOWN,
        "kind": "construction",
        "matchers": {"categories": ["SJ03"]},
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(days=30)).isoformat(),
        "author": "张三",
        "comment": "地铁 18 号线施工许可 2026-118",
        "created_at": (T0 - timedelta(hours=1)).isoformat(),
    }
    doc.update(kw)
    return Silence.model_validate(doc)


def ev(event_id: str = "e1", **kw: Any) -> GridEvent:
    doc: dict[str, Any] = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": (T0 + timedelta(hours=1)).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": SITE[0], "lon": SITE[1]},
        "title": "工地夜间施工噪音很大",
        "category": "SJ0301",
    }
    doc.update(kw)
    return GridEvent.model_validate(doc)


@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


LATE = (T0 + timedelta(days=31)).isoformat()
EARLY = (T0 - timedelta(minutes=1)).isoformat()

# (what, silence fields, event fields, matches?)
MATCHER_TABLE: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("category family", {}, {}, True),
    ("other category", {}, {"category": "SJ0102"}, False),
    ("exact category", {"matchers": {"categories": ["SJ0301"]}}, {}, True),
    ("before the window", {}, {"reported_at": EARLY}, False),
    ("after the window", {}, {"reported_at": LATE}, False),
    ("window end is exclusive", {"ends_at": (T0 + timedelta(hours=1)).isoformat()}, {}, False),
    ("outside the centre's region", {}, {"region_code": OTHER_COUNTY_VILLAGE}, False),
    ("another village of the town", {}, {"region_code": OTHER_VILLAGE_SAME_TOWN}, True),
    (
        "the city silences everywhere",
        {"center_code": CITY},
        {"region_code": OTHER_COUNTY_VILLAGE},
        True,
    ),
    ("region prefix", {"matchers": {"region_prefix": VILLAGE}}, {}, True),
    (
        "region prefix elsewhere",
        {"matchers": {"region_prefix": VILLAGE}},
        {"region_code": OTHER_VILLAGE_SAME_TOWN},
        False,
    ),
    ("network", {"matchers": {"networks": ["12345", "chengguan"]}}, {}, True),
    ("other network", {"matchers": {"networks": ["12345"]}}, {}, False),
    ("text word", {"matchers": {"text": ["施工", "围挡"]}}, {}, True),
    ("no text word", {"matchers": {"text": ["演唱会"]}}, {}, False),
    (
        "inside the radius",
        {"matchers": {"near": {"lat": SITE[0], "lon": SITE[1] + 0.002, "radius_m": 300}}},
        {},
        True,
    ),
    (
        "outside the radius",
        {"matchers": {"near": {"lat": SITE[0], "lon": SITE[1] + 0.005, "radius_m": 300}}},
        {},
        False,
    ),
    (
        "radius needs a location",
        {"matchers": {"near": {"lat": SITE[0], "lon": SITE[1], "radius_m": 300}}},
        {"location": None, "grid_code": "500103001003001"},
        False,
    ),
    (
        "every matcher must hold",
        {"matchers": {"categories": ["SJ03"], "networks": ["12345"]}},
        {},
        False,
    ),
]


@pytest.mark.parametrize(
    ("silence_fields", "event_fields", "expected"),
    [row[1:] for row in MATCHER_TABLE],
    ids=[row[0] for row in MATCHER_TABLE],
)
def test_matchers(
    regions: RegionGraph,
    silence_fields: dict[str, Any],
    event_fields: dict[str, Any],
    expected: bool,
) -> None:
    event = ev(**event_fields)
    category = event.category or ""
    assert silence_matches(silence(**silence_fields), event, category, regions.chain) is expected


def test_a_silence_needs_a_matcher() -> None:
    with pytest.raises(ValueError, match="at least one matcher"):
        silence(matchers={})


def test_window_must_be_forward() -> None:
    with pytest.raises(ValueError, match="ends_at must not be before starts_at"):
        silence(ends_at=EARLY)


def test_a_revision_takes_effect_after_the_lead_by_record_time(regions: RegionGraph) -> None:
    """Decided by the input record's time: a replay finds the same revision in force."""
    published = T0.timestamp()
    book = SilenceBook([(silence(), published)])
    event = ev()
    assert book.match(event, "SJ0301", published + SILENCE_LEAD_S - 0.001, regions.chain) is None
    assert book.match(event, "SJ0301", published + SILENCE_LEAD_S, regions.chain) is not None
    # Expired an hour later: records after the expiry's lead are no longer silenced,
    # records before it still are, however late the worker reads the expiry.
    expired = silence(ends_at=(T0 + timedelta(minutes=30)).isoformat(), revision=1)
    book.put(expired, published + 3600)
    assert book.match(event, "SJ0301", published + 3600, regions.chain) is not None
    assert book.match(event, "SJ0301", published + 3600 + SILENCE_LEAD_S, regions.chain) is None
    assert book.get("works-1") == expired
    book.delete("works-1", published + 7200)
    assert book.in_force(published + 7200 + SILENCE_LEAD_S) == []


def test_oldest_silence_wins(regions: RegionGraph) -> None:
    older = silence(silence_id="b-older", created_at=(T0 - timedelta(days=2)).isoformat())
    newer = silence(silence_id="a-newer")
    book = SilenceBook([(newer, 0.0), (older, 0.0)])
    found = book.match(ev(), "SJ0301", T0.timestamp(), regions.chain)
    assert found is not None and found.silence_id == "b-older"
    assert [s.silence_id for s in book.latest()] == ["b-older", "a-newer"]


# ------------------------------------------------------------------- engine
@pytest.fixture
def engine() -> Engine:
    engine = load_engine(Settings())
    engine.silences = SilenceBook([(silence(), 0.0)])
    return engine


Rows = dict[str, RegionState]


def report(engine: Engine, rows: Rows, event: GridEvent, now: float) -> Outcome:
    """A report as the worker runs it: its village decides; a report under a silence held
    by a centre above the village is then applied in that centre's row (the pipeline
    sends it there on the commands topic, keyed by the centre's code)."""
    region = event.region_code
    village = rows.setdefault(region, RegionState(region=region))
    out = engine.apply_event(village, event, now)
    if out.silenced is None:
        return out
    assert out.dispositions == [] and out.changed
    held_by, event, at = out.silenced
    centre = rows.setdefault(held_by.center_code, RegionState(region=held_by.center_code))
    return engine.apply_silenced(centre, event, held_by, at)


def test_matching_reports_join_one_known_matter_case(engine: Engine) -> None:
    rows: Rows = {}
    now = (T0 + timedelta(hours=1)).timestamp()
    first = report(engine, rows, ev("e1"), now)
    (opened,) = first.dispositions
    assert opened.action is DispositionAction.DISPATCH
    assert opened.center_code == TOWN and opened.tier.value == "town"
    assert opened.case_id.startswith(TOWN), "held in the centre's row: feedback goes there"
    assert opened.deadline is None, "a known matter runs no SLA clock"
    assert opened.reason is not None and "works-1" in opened.reason and "施工许可" in opened.reason
    assert [(f.kind, f.silence, f.region) for f in first.facts] == [
        (StepKind.SILENCED, "works-1", VILLAGE)
    ]
    assert first.due == []
    # Another network reports the same works far from the first report: same case.
    later = ev("e2", source_network="12345", location={"lat": 29.57, "lon": 106.58})
    second = report(engine, rows, later, now + 60)
    (joined,) = second.dispositions
    assert joined.action is DispositionAction.MERGE and joined.case_id == opened.case_id
    assert joined.events == ["e1", "e2"]
    assert [(f.kind, f.silence) for f in second.facts] == [(StepKind.SILENCED, "works-1")]
    assert len(rows[TOWN].cases) == 1 and not rows[VILLAGE].cases
    # A replay is a counted no-op, in the village and in the centre's row alike.
    assert report(engine, rows, later, now + 60).duplicate == "event"
    assert engine.apply_silenced(rows[TOWN], later, silence(), now + 60).duplicate == "event"


def test_a_silence_across_villages_is_one_case(engine: Engine) -> None:
    """Issue 16: a town-wide silence made one known-matter case per village."""
    rows: Rows = {}
    now = (T0 + timedelta(hours=1)).timestamp()
    first = report(engine, rows, ev("e1"), now).dispositions[0]
    other = ev("e2", region_code=OTHER_VILLAGE_SAME_TOWN)
    second = report(engine, rows, other, now + 60)
    (joined,) = second.dispositions
    assert joined.case_id == first.case_id and joined.events == ["e1", "e2"]
    assert second.facts[0].region == OTHER_VILLAGE_SAME_TOWN
    assert [len(rows[r].cases) for r in (VILLAGE, OTHER_VILLAGE_SAME_TOWN, TOWN)] == [0, 0, 1]
    # The other village remembers the report: its duplicate is a no-op there.
    assert report(engine, rows, other, now + 90).duplicate == "event"


def test_a_village_centres_silence_stays_in_its_village(engine: Engine) -> None:
    assert engine.silences is not None
    engine.silences = SilenceBook([(silence(silence_id="v-1", center_code=VILLAGE), 0.0)])
    state = RegionState(region=VILLAGE)
    out = engine.apply_event(state, ev("e1"), (T0 + timedelta(hours=1)).timestamp())
    assert out.silenced is None and out.facts[0].kind is StepKind.SILENCED
    assert out.dispositions[0].case_id.startswith(VILLAGE) and len(state.cases) == 1


def test_known_matter_never_escalates_and_takes_no_ordinary_reports(engine: Engine) -> None:
    rows: Rows = {}
    now = (T0 + timedelta(hours=1)).timestamp()
    case_id = report(engine, rows, ev("e1"), now).dispositions[0].case_id
    state = rows[TOWN]
    case = state.cases[case_id]
    assert case.next_due() is None
    assert engine.apply_tick(state, case_id, now + 30 * 86400).dispositions == []
    # Accepting it starts no resolve clock either.
    from schemas import Feedback

    accept = Feedback.model_validate(
        {
            "feedback_id": "f1",
            "case_id": case_id,
            "center_code": TOWN,
            "action": "accept",
            "at": T0.isoformat(),
        }
    )
    out = engine.apply_feedback(state, accept, now + 10)
    assert out.reject is None and case.status is CaseStatus.ACCEPTED and case.deadline is None
    # A report that the silence does not cover, at the same spot: a case of its own.
    garbage = ev("e3", category="SJ0102", title="垃圾堆积")
    opened = report(engine, rows, garbage, now + 20)
    assert opened.dispositions[0].case_id != case_id
    assert opened.facts[0].kind is StepKind.OPENED


def test_a_closed_known_matter_is_followed_by_a_new_one(engine: Engine) -> None:
    rows: Rows = {}
    now = (T0 + timedelta(hours=1)).timestamp()
    first = report(engine, rows, ev("e1"), now).dispositions[0].case_id
    rows[TOWN].cases[first].status = CaseStatus.CLOSED
    second = report(engine, rows, ev("e2"), now + 60).dispositions[0]
    assert second.case_id != first and second.action is DispositionAction.DISPATCH


def test_no_silence_in_force_opens_a_case(engine: Engine) -> None:
    late = ev("e1", reported_at=LATE)
    out = report(engine, {}, late, (T0 + timedelta(days=31)).timestamp())
    assert out.facts[0].kind is StepKind.OPENED


# ------------------------------------------------------------------ changes
def test_extend_and_expire_make_revisions() -> None:
    from gridflow.core.silences import SilenceChangeError, expired, extended, silence_state

    s = silence()
    now = T0 + timedelta(days=1)
    assert silence_state(s, now) == "active"
    longer = extended(s, T0 + timedelta(days=40), "李四", now)
    assert (longer.revision, longer.change, longer.changed_by) == (1, "extended", "李四")
    with pytest.raises(SilenceChangeError) as caught:
        extended(longer, T0 + timedelta(days=2), "李四", now)
    assert caught.value.reason == "not_later"
    ended = expired(longer, "李四", now)
    assert (ended.ends_at, ended.revision, silence_state(ended, now)) == (now, 2, "expired")
    with pytest.raises(SilenceChangeError) as caught:
        expired(ended, "李四", now)
    assert caught.value.reason == "silence_expired"
    # Expired before it started: an empty window that silences nothing.
    early = expired(s, "李四", T0 - timedelta(days=1))
    assert early.starts_at == early.ends_at


def test_extend_and_expire_as_asked_for() -> None:
    """The CLI's and the API's one way to extend and expire (with the reason noted)."""
    from gridflow.core.silences import SilenceChangeError, expiry_of, extension_of

    s = silence()
    now = T0 + timedelta(days=1)
    by_length = extension_of(s, by="李四", at=now, duration=timedelta(days=7), comment="许可延期")
    assert by_length.ends_at == s.ends_at + timedelta(days=7)
    assert by_length.comment == f"{s.comment}; 许可延期"
    until = T0 + timedelta(days=60)
    assert extension_of(s, by="李四", at=now, until=until).ends_at == until
    for both_or_none in ({}, {"until": until, "duration": timedelta(days=1)}):
        with pytest.raises(SilenceChangeError) as caught:
            extension_of(s, by="李四", at=now, **both_or_none)  # type: ignore[arg-type]
        assert caught.value.reason == "schema"
    ended = expiry_of(s, by="李四", at=now, comment="施工已完成")
    assert (ended.ends_at, ended.change, ended.comment) == (
        now,
        "expired",
        f"{s.comment}; 施工已完成",
    )
