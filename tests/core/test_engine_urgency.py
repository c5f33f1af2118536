"""Urgency on a live case: a later, worse report or many reports re-route it at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import GridEvent

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"
CITY = "500000000000"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Chongqing
NOW = T0.timestamp()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def report(event_id: str, network: str = "chengguan", **kw: object) -> GridEvent:
    doc: dict[str, object] = {
        "event_id": event_id,
        "source_network": network,
        "reported_at": T0.isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": 29.556, "lon": 106.571},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    doc.update(kw)
    return GridEvent.model_validate(doc)


def test_a_later_critical_report_moves_the_case_to_the_county_and_informs_the_area(
    engine: Engine,
) -> None:
    state = RegionState(VILLAGE)
    engine.apply_event(state, report("e1"), NOW)
    [case] = state.cases.values()
    assert (case.tier, case.policy) == ("village", "garbage_exposed")
    worse = report(
        "e2",
        network="zongzhi",
        severity="critical",
        reporter={"id": "w1", "role": "grid_worker"},
    )
    out = engine.apply_event(state, worse, NOW + 600)
    actions = [(d.action, d.tier, d.center_code) for d in out.dispositions]
    assert actions[0][0] == "merge"
    assert ("escalate", "county", COUNTY) in actions
    informed = {(tier, centre) for action, tier, centre in actions if action == "state"}
    assert informed == {("city", CITY), ("town", TOWN), ("village", VILLAGE)}
    assert (case.tier, case.holder, case.priority, case.policy) == (
        "county",
        COUNTY,
        "critical",
        "emergency",
    )
    # The accept stage restarts on the emergency clock: 30 minutes from the merge.
    assert case.deadline == NOW + 600 + 30 * 60


def test_a_report_that_is_no_worse_changes_nothing_but_the_merge(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    engine.apply_event(state, report("e1"), NOW)
    out = engine.apply_event(state, report("e2", network="zongzhi"), NOW + 60)
    assert [d.action for d in out.dispositions] == ["merge"]
    [case] = state.cases.values()
    assert case.tier == "village"


def test_reports_from_three_networks_make_a_case_high_and_lift_it_a_tier(
    engine: Engine,
) -> None:
    state = RegionState(VILLAGE)
    engine.apply_event(state, report("e1"), NOW)
    engine.apply_event(state, report("e2", network="zongzhi"), NOW + 60)
    out = engine.apply_event(
        state, report("e3", network="video_ai", category="garbage_overflow"), NOW + 120
    )
    [case] = state.cases.values()
    assert case.priority == "high"
    assert ("escalate", "town") in [(d.action, d.tier) for d in out.dispositions]
    assert (case.tier, case.policy) == ("town", "high_hours")
