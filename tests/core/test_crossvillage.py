"""Merges across village lines (跨村合并): the town stage's decision and the two case steps.

One incident reported under two neighbouring villages opens a case in each; the town stage
absorbs the newer into the older when they are compatible, near and close in time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gridflow.config import Settings
from gridflow.core.case import CaseStatus
from gridflow.core.crossvillage import Joined, OpenedCase, TownState, decide
from gridflow.core.engine import Engine
from gridflow.core.facts import StepKind
from gridflow.core.inhibition import InhibitRule, InhibitRules
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import DispositionAction, Feedback, GridEvent, RejectReason

TOWN = "500103001000"
V1, V2 = "500103001003", "500103001006"  # 华一坡, 临华路: two communities of 七星岗街道
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC).timestamp()
LAT, LON = 29.556, 106.571
#: About 0.000009 degrees of latitude per metre.
M = 1 / 111_195


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def limits(code: str) -> tuple[float, float] | None:
    table = {"SJ0102": (250.0, 7200.0), "SJ0103": (250.0, 7200.0), "BJ0101": (50.0, 7200.0)}
    return table.get(code) or (None if code.startswith("XX") else (250.0, 7200.0))


def compatible(a: str, b: str) -> bool:
    return a == b or a[:4] == b[:4]


def opened(
    case_id: str,
    region: str,
    *,
    metres: float = 0.0,
    category: str = "SJ0102",
    after_s: float = 0.0,
) -> OpenedCase:
    return OpenedCase(case_id, region, category, LAT + metres * M, LON, T0 + after_s, T0 + after_s)


FIRST = opened("A", V1)

# (what the second case is, absorbed into the first?)
CASES = [
    (
        "same category, other village, 80 m, 10 min later",
        opened("B", V2, metres=80, after_s=600),
        True,
    ),
    (
        "same 大类 (SJ01), other village, 200 m",
        opened("B", V2, metres=200, category="SJ0103"),
        True,
    ),
    ("same village (the first stage's business)", opened("B", V1, metres=10), False),
    ("too far: 300 m beyond the 250 m radius", opened("B", V2, metres=300), False),
    (
        "too late: 2 h 1 min after, beyond the window",
        opened("B", V2, metres=10, after_s=7260),
        False,
    ),
    (
        "incompatible category (ZZ0405 火灾隐患 beside 垃圾)",
        opened("B", V2, metres=10, category="ZZ0405"),
        False,
    ),
    (
        "the new case's radius decides (井盖 50 m)",
        opened("B", V2, metres=80, category="BJ0101"),
        False,
    ),
]


@pytest.mark.parametrize(("second", "absorbed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_second_case_is_absorbed_only_when_compatible_near_and_in_time(
    second: OpenedCase, absorbed: bool
) -> None:
    state = TownState(TOWN)
    assert (
        decide(state, FIRST, T0, limits=limits, compatible=compatible, retention_s=86400).absorb
        is None
    )
    decision = decide(
        state, second, second.opened_at, limits=limits, compatible=compatible, retention_s=86400
    )
    if absorbed:
        assert decision.absorb is not None
        assert decision.absorb.survivor == FIRST and decision.absorb.absorbed == second
        assert second.case_id not in state.candidates  # absorbed cases never survive: no chains
    else:
        assert decision.absorb is None
        assert second.case_id in state.candidates  # a case of its own, a candidate too


def test_the_nearest_candidate_wins_then_the_oldest() -> None:
    state = TownState(TOWN)
    for case in (
        opened("far", V1, metres=150),
        opened("near", V1, metres=40, after_s=5),
        opened("near-too", V1, metres=40, after_s=9),
    ):
        decide(state, case, case.opened_at, limits=limits, compatible=compatible, retention_s=86400)
    decision = decide(
        state,
        opened("new", V2, after_s=20),
        T0 + 20,
        limits=limits,
        compatible=compatible,
        retention_s=86400,
    )
    assert decision.absorb is not None and decision.absorb.survivor.case_id == "near"
    assert decision.absorb.distance_m == pytest.approx(40, abs=0.5)


def test_a_replayed_announcement_decides_nothing_again() -> None:
    state = TownState(TOWN)
    decide(state, FIRST, T0, limits=limits, compatible=compatible, retention_s=86400)
    second = opened("B", V2, metres=50)
    first_time = decide(state, second, T0, limits=limits, compatible=compatible, retention_s=86400)
    again = decide(state, second, T0, limits=limits, compatible=compatible, retention_s=86400)
    assert first_time.absorb is not None
    assert again.duplicate and again.absorb is None


def test_candidates_expire_after_their_window_and_the_row_survives_the_changelog() -> None:
    state = TownState(TOWN)
    decide(state, FIRST, T0, limits=limits, compatible=compatible, retention_s=3600)
    assert TownState.from_bytes(state.to_bytes()) == state
    late = opened("late", V2, after_s=7300)
    decide(state, late, late.opened_at, limits=limits, compatible=compatible, retention_s=3600)
    assert set(state.candidates) == {"late"}  # A's window closed; it is no candidate any more
    decide(
        state,
        opened("x", V2, metres=500, after_s=9000),
        T0 + 99999,
        limits=limits,
        compatible=compatible,
        retention_s=3600,
    )
    assert "A" not in state.seen  # decided ids are remembered for the retention only


def test_an_unknown_category_is_remembered_but_never_matched() -> None:
    state = TownState(TOWN)
    decide(state, FIRST, T0, limits=limits, compatible=compatible, retention_s=86400)
    decision = decide(
        state,
        opened("odd", V2, category="XX0000"),
        T0,
        limits=limits,
        compatible=compatible,
        retention_s=86400,
    )
    assert decision.absorb is None and "odd" in state.seen and "odd" not in state.candidates


# ------------------------------------------------------------- the two case steps
def _event(
    event_id: str, region: str, network: str, lat: float, severity: str | None = None
) -> GridEvent:
    doc: dict[str, object] = {
        "event_id": event_id,
        "source_network": network,
        "reported_at": datetime.fromtimestamp(T0, UTC).isoformat(),
        "region_code": region,
        "location": {"lat": lat, "lon": LON},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    if severity:
        doc["severity"] = severity
    return GridEvent.model_validate(doc)


def _two_cases(engine: Engine) -> tuple[RegionState, RegionState, str, str]:
    s1, s2 = RegionState(V1), RegionState(V2)
    engine.apply_event(s1, _event("e1", V1, "chengguan", LAT), T0)
    engine.apply_event(s2, _event("e2", V2, "zongzhi", LAT + 60 * M), T0 + 30)
    (survivor,) = s1.cases
    (absorbed,) = s2.cases
    return s1, s2, survivor, absorbed


def test_absorb_closes_the_case_as_merged_and_join_lists_both_villages(engine: Engine) -> None:
    s1, s2, survivor, absorbed = _two_cases(engine)
    out, joined = engine.apply_absorb(s2, absorbed, survivor, T0 + 31)
    assert joined is not None and joined.events == ("e2",)
    case = s2.cases[absorbed]
    assert case.status is CaseStatus.MERGED and not case.is_open and case.next_due() is None
    (disp,) = out.dispositions
    assert disp.disposition_id == f"{absorbed}/merged_into/{survivor}"
    assert disp.state == "merged" and disp.merged_into == survivor
    assert out.facts[0].kind is StepKind.ABSORBED

    joined_out = engine.apply_join(s1, survivor, Joined.from_doc(joined.to_doc()), T0 + 32)
    merged = s1.cases[survivor]
    assert merged.events == ["e1", "e2"] and merged.networks == ["chengguan", "zongzhi"]
    assert merged.villages() == [V1, V2]
    disp = joined_out.dispositions[0]
    assert disp.action is DispositionAction.MERGE
    assert disp.disposition_id == f"{survivor}/xmerge/{absorbed}"
    assert disp.villages == [V1, V2] and disp.merged_cases == [absorbed]
    assert disp.events == ["e1", "e2"]
    assert joined_out.facts[0].kind is StepKind.JOINED


def test_replayed_absorb_and_join_are_counted_no_ops(engine: Engine) -> None:
    s1, s2, survivor, absorbed = _two_cases(engine)
    _, joined = engine.apply_absorb(s2, absorbed, survivor, T0 + 31)
    assert joined is not None
    engine.apply_join(s1, survivor, joined, T0 + 32)
    again, nothing = engine.apply_absorb(s2, absorbed, survivor, T0 + 40)
    assert again.duplicate == "absorb" and not again.dispositions and nothing is None
    rejoin = engine.apply_join(s1, survivor, joined, T0 + 41)
    assert rejoin.duplicate == "join" and not rejoin.dispositions
    assert s1.cases[survivor].events == ["e1", "e2"]
    # Both survive the changelog as they are.
    assert RegionState.from_bytes(s1.to_bytes()).cases[survivor].merged_cases == [absorbed]
    assert RegionState.from_bytes(s2.to_bytes()).cases[absorbed].merged_into == survivor


def test_a_case_its_centre_finished_meanwhile_keeps_its_state_but_is_linked(
    engine: Engine,
) -> None:
    _s1, s2, survivor, absorbed = _two_cases(engine)
    engine.apply_feedback(
        s2,
        Feedback.model_validate(
            {
                "feedback_id": "f1",
                "case_id": absorbed,
                "center_code": V2,
                "action": "cancel",
                "at": datetime.fromtimestamp(T0, UTC).isoformat(),
            }
        ),
        T0 + 31,
    )
    out, joined = engine.apply_absorb(s2, absorbed, survivor, T0 + 32)
    assert joined is not None and joined.events == ("e2",)
    case = s2.cases[absorbed]
    assert case.status is CaseStatus.CANCELLED and case.merged_into == survivor
    (disp,) = out.dispositions
    assert disp.state == "cancelled" and disp.merged_into == survivor
    assert disp.reason is not None and "already cancelled" in disp.reason


def test_a_merged_case_takes_no_feedback(engine: Engine) -> None:
    _s1, s2, survivor, absorbed = _two_cases(engine)
    engine.apply_absorb(s2, absorbed, survivor, T0 + 31)
    out = engine.apply_feedback(
        s2,
        Feedback.model_validate(
            {
                "feedback_id": "f2",
                "case_id": absorbed,
                "center_code": V2,
                "action": "accept",
                "at": datetime.fromtimestamp(T0, UTC).isoformat(),
            }
        ),
        T0 + 40,
    )
    assert out.reject is not None and out.reject[0] is RejectReason.INVALID_TRANSITION


def test_a_worse_absorbed_case_raises_and_reroutes_the_survivor(engine: Engine) -> None:
    s1, s2, survivor, absorbed = _two_cases(engine)
    _, joined = engine.apply_absorb(s2, absorbed, survivor, T0 + 31)
    assert joined is not None
    out = engine.apply_join(s1, survivor, replace(joined, priority="critical"), T0 + 32)
    case = s1.cases[survivor]
    assert case.priority == "critical"
    assert any(d.action is DispositionAction.ESCALATE for d in out.dispositions)


def test_join_for_an_unknown_survivor_is_refused_with_the_reason(engine: Engine) -> None:
    _s1, s2, survivor, absorbed = _two_cases(engine)
    _, joined = engine.apply_absorb(s2, absorbed, survivor, T0 + 31)
    assert joined is not None
    out = engine.apply_join(RegionState(V1), survivor, joined, T0 + 32)
    assert out.reject is not None and out.reject[0] is RejectReason.UNKNOWN_CASE


def test_a_report_near_an_absorbed_case_joins_that_case_s_survivor() -> None:
    # A (V1) took B (V2) over; C (V2's other neighbour V3) is nearest to B, but another
    # candidate D (V1) is nearer to C than A is: C still belongs with A (through B).
    v3 = "500103001011"
    state = TownState(TOWN)
    a = opened("A", V1, metres=0)
    d = opened("D", V1, metres=420, after_s=1)
    b = opened("B", V2, metres=200, after_s=2)
    c = opened("C", v3, metres=230, after_s=3)
    for case in (a, d):
        decide(state, case, case.opened_at, limits=limits, compatible=compatible, retention_s=9e4)
    first = decide(state, b, b.opened_at, limits=limits, compatible=compatible, retention_s=9e4)
    assert first.absorb is not None and first.absorb.survivor.case_id == "A"
    second = decide(state, c, c.opened_at, limits=limits, compatible=compatible, retention_s=9e4)
    assert second.absorb is not None and second.absorb.survivor.case_id == "A"
    assert second.absorb.distance_m == pytest.approx(30, abs=0.5)  # measured from B
    assert TownState.from_bytes(state.to_bytes()) == state


def test_a_row_reloaded_before_every_announcement_decides_the_same() -> None:
    # What a replay does: it starts from the stored row, without the in-memory shortcuts.
    import random

    rng = random.Random(5)
    villages = (V1, V2, "500103001011")
    cases = [
        opened(
            f"c{i}",
            rng.choice(villages),
            metres=rng.uniform(0, 600),
            category=rng.choice(("SJ0102", "SJ0103", "BJ0101")),
            after_s=i * rng.uniform(0, 900),
        )
        for i in range(120)
    ]
    kept, reloaded = TownState(TOWN), TownState(TOWN)
    for case in cases:
        a = decide(kept, case, case.opened_at, limits=limits, compatible=compatible, retention_s=60)
        reloaded = TownState.from_bytes(reloaded.to_bytes())
        b = decide(
            reloaded, case, case.opened_at, limits=limits, compatible=compatible, retention_s=60
        )
        assert a == b
        assert kept == reloaded


def test_a_town_row_is_written_as_its_documents_whatever_was_serialised_before() -> None:
    # Each candidate's JSON is made once and reused (the row is rewritten after every
    # batch); the row's bytes must stay what the documents themselves encode to.
    import orjson

    state = TownState(TOWN)
    for case in (
        opened("A", V1),
        opened("B", V2, metres=100, after_s=1),
        opened("C", V1, metres=900),
    ):
        decide(state, case, case.opened_at, limits=limits, compatible=compatible, retention_s=60)
    plain = orjson.dumps(
        {
            "t": state.town,
            "c": [c.to_doc() for c in state.candidates.values()],
            "s": state.seen,
            "a": [[c.to_doc(), survivor] for c, survivor in state.absorbed.values()],
        }
    )
    assert state.absorbed and state.to_bytes() == plain
    assert state.to_bytes() == plain  # the remembered JSON, second time round
    assert TownState.from_bytes(plain) == state


def _nearest_by_walking_every_place(state: TownState, case: OpenedCase) -> str | None:
    # The decision as a walk over every candidate and absorbed place (before the
    # latitude index): nearest compatible place of another village, then oldest, then id.
    from gridflow.core.geo import haversine_m

    known = limits(case.category)
    if known is None:
        return None
    radius, window = known
    best: tuple[float, float, str] | None = None
    places = [(c, c) for c in state.candidates.values()]
    places += [
        (p, state.candidates[s]) for p, s in state.absorbed.values() if s in state.candidates
    ]
    for place, target in places:
        if target.region == case.region or abs(place.reported_at - case.reported_at) > window:
            continue
        if not compatible(place.category, case.category):
            continue
        distance = haversine_m(case.lat, case.lon, place.lat, place.lon)
        if distance <= radius:
            rank = (distance, target.opened_at, target.case_id)
            best = rank if best is None or rank < best else best
    return best[2] if best else None


def test_a_dense_town_decides_as_a_walk_over_every_place_would() -> None:
    # Hundreds of candidates in one town, many on the same latitude, expiring as the
    # clock moves: the latitude index must offer every place the walk would consider.
    import random

    rng = random.Random(9)
    villages = (V1, V2, "500103001011")
    state = TownState(TOWN)
    absorbed = 0
    for i in range(600):
        metres = rng.choice((0.0, 120.0, 250.0)) if i % 4 == 0 else rng.uniform(-900, 900)
        case = opened(
            f"c{i:03d}",
            rng.choice(villages),
            metres=metres,
            category=rng.choice(("SJ0102", "SJ0103", "BJ0101")),
            after_s=i * 30.0,
        )._replace(lon=LON + rng.uniform(-0.003, 0.003))
        state.expire(case.opened_at, limits)
        expected = _nearest_by_walking_every_place(state, case)
        got = decide(
            state, case, case.opened_at, limits=limits, compatible=compatible, retention_s=60
        )
        assert (got.absorb.survivor.case_id if got.absorb else None) == expected
        absorbed += got.absorb is not None
    assert absorbed > 50 and len(state.candidates) > 50


# ------------------------------------------------- inhibition across village lines
FIRE_RULE = InhibitRule("火灾现场", ("SJ0401",), ("SJ0504",), radius_m=500.0, window_s=21600.0)
RULES = InhibitRules([FIRE_RULE])


def fire(case_id: str = "F", region: str = V1, priority: str = "critical") -> OpenedCase:
    return opened(case_id, region, category="SJ0401")._replace(priority=priority)


def cars(
    case_id: str = "C", region: str = V2, *, metres: float = 300, after_s: float = 600
) -> OpenedCase:
    return opened(case_id, region, category="SJ0504", metres=metres, after_s=after_s)


# (what the target case is, the fire's priority, inhibited by the fire?)
INHIBIT_CASES = [
    ("other village, 300 m, 10 min after the fire", cars(), "critical", True),
    ("other village, 5 h after: the fire inhibits past its 1 h merge window",
     cars(after_s=5 * 3600), "critical", True),
    ("same village: the village stage's business", cars(region=V1), "critical", False),
    ("600 m: beyond the rule's 500 m", cars(metres=600), "critical", False),
    ("7 h after: beyond the rule's 6 h", cars(after_s=7 * 3600), "critical", False),
    ("before the fire was reported", cars(after_s=-60), "critical", False),
    ("a fire below the rule's source_priority", cars(), "high", False),
    ("not a target of the rule", cars()._replace(category="SJ0102"), "critical", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("target", "priority", "inhibited"),
    [c[1:] for c in INHIBIT_CASES],
    ids=[c[0] for c in INHIBIT_CASES],
)
def test_an_open_critical_case_inhibits_targets_of_other_villages_in_its_town(
    target: OpenedCase, priority: str, inhibited: bool
) -> None:
    state = TownState(TOWN)
    kw = {"limits": limits, "compatible": compatible, "retention_s": 3600.0, "inhibit": RULES}
    source = fire(priority=priority)
    assert decide(state, source, T0, **kw).absorb is None  # type: ignore[arg-type]
    decision = decide(state, target, target.opened_at, **kw)  # type: ignore[arg-type]
    if not inhibited:
        assert decision.absorb is None
        return
    assert decision.absorb is not None
    assert (decision.absorb.survivor.case_id, decision.absorb.rule) == ("F", "火灾现场")
    assert target.case_id not in state.candidates, "an inhibited case is no candidate"
    # Replayed, the announcement is a no-op; the row survives its changelog round trip.
    assert decide(state, target, target.opened_at, **kw).duplicate  # type: ignore[arg-type]
    again = TownState.from_bytes(state.to_bytes())
    assert again.sources == state.sources and again.seen == state.seen


def test_a_source_is_forgotten_after_its_window_and_old_announcements_still_read() -> None:
    state = TownState(TOWN)
    kw = {"limits": limits, "compatible": compatible, "retention_s": 60.0, "inhibit": RULES}
    decide(state, fire(), T0, **kw)  # type: ignore[arg-type]
    assert "F" in state.sources
    late = cars(after_s=21600 + 120)
    assert decide(state, late, late.opened_at, **kw).absorb is None  # type: ignore[arg-type]
    assert not state.sources and "F" not in state.candidates
    # An announcement written before the priority was carried (7 fields) still reads.
    old = OpenedCase.from_doc(opened("X", V1).to_doc())
    assert old.priority == "" and len(old.to_doc()) == 7


def test_an_inhibited_absorb_and_join_name_the_rule(engine: Engine) -> None:
    v2 = RegionState(region=V2)
    out = engine.apply_event(v2, car_report(), T0 + 600)
    (case_id,) = v2.cases
    outcome, joined = engine.apply_absorb(v2, case_id, "F-1", T0 + 601, inhibit_rule="火灾现场")
    (absorbed,) = outcome.dispositions
    assert absorbed.merged_into == "F-1" and absorbed.reason and "抑制" in absorbed.reason
    assert outcome.facts[0].inhibit_rule == "火灾现场"
    assert joined is not None and isinstance(joined, Joined) and out.dispositions
    v1 = RegionState(region=V1)
    fire_case = engine.apply_event(v1, fire_report(), T0).dispositions[0].case_id
    join = engine.apply_join(v1, fire_case, joined, T0 + 602, inhibit_rule="火灾现场")
    (merged,) = [d for d in join.dispositions if d.action is DispositionAction.MERGE]
    assert merged.reason and "火灾现场" in merged.reason and "抑制" in merged.reason
    assert (join.facts[0].kind, join.facts[0].inhibit_rule) == (StepKind.JOINED, "火灾现场")


def car_report() -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": "cars-1",
            "source_network": "chengguan",
            "reported_at": datetime.fromtimestamp(T0 + 600, UTC).isoformat(),
            "region_code": V2,
            "location": {"lat": LAT + 300 * M, "lon": LON},
            "title": "消防车旁车辆乱停",
            "category": "SJ0504",
        }
    )


def fire_report() -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": "fire-1",
            "source_network": "yingji",
            "reported_at": datetime.fromtimestamp(T0, UTC).isoformat(),
            "region_code": V1,
            "location": {"lat": LAT, "lon": LON},
            "title": "居民楼起火",
            "category": "SJ0401",
        }
    )


def test_a_town_row_keeps_its_bytes_through_adds_and_expiries() -> None:
    # The candidates' and seen ids' JSON is kept entry by entry and joined on each write;
    # through announcements, expiries and a reload the row stays what its documents
    # encode to.
    import orjson

    def plain(state: TownState) -> bytes:
        doc: dict[str, object] = {
            "t": state.town,
            "c": [c.to_doc() for c in state.candidates.values()],
            "s": state.seen,
            "a": [[c.to_doc(), survivor] for c, survivor in state.absorbed.values()],
        }
        if state.sources:
            doc["i"] = [[c.to_doc(), until] for c, until in state.sources.values()]
        return orjson.dumps(doc)

    state = TownState(TOWN)
    assert state.to_bytes() == plain(state) == b'{"t":"500103001000","c":[],"s":{},"a":[]}'
    for i in range(40):
        region = V1 if i % 2 else V2
        case = opened(f"C{i:02d}", region, metres=37.0 * i, after_s=600.0 * i)
        decide(state, case, case.opened_at, limits=limits, compatible=compatible, retention_s=60)
        if i % 3 == 0:
            state = TownState.from_bytes(state.to_bytes())  # a recovered row
        assert state.to_bytes() == plain(state), i
    # Past every window and retention: the row empties as its documents do.
    state.expire(T0 + 600.0 * 40 + 7200.0 + 120.0, limits)
    assert state.empty and state.to_bytes() == plain(state)
