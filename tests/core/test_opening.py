"""How a case opens: one plan (tier, centre, department, policy, deadlines) for the engine
and for ``gridflow rules test``.

Golden plans for a table of reports, then the engine checked against the planner on a
few hundred simulated reports: what the worker dispatches is what the planner says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.opening import assess_report, plan_case
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from gridflow.simulator.events import generate
from schemas import GridEvent

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def event(
    at: str, title: str, category: str | None = None, network: str = "chengguan"
) -> GridEvent:
    doc: dict[str, Any] = {
        "event_id": "e1",
        "source_network": network,
        "reported_at": at,
        "region_code": VILLAGE,
        "title": title,
    }
    if category:
        doc["category"] = category
    return GridEvent.model_validate(doc)


#: (name, report, received (None: at reported_at), SLA scale,
#:  expected (category, tier, centre, department, policy, priority, informed, accept by))
GOLDEN = [
    (
        "暴露垃圾 on a Wednesday morning: the village, 30 working minutes",
        event("2026-11-25T10:00:00+08:00", "菜市场旁垃圾堆积无人清运", "SJ0102"),
        None,
        1.0,
        ("SJ0102", "village", VILLAGE, "城管局", "garbage_exposed", "normal", (), "2026-11-25T10:30:00+08:00"),
    ),
    (
        "deadlines count from when the worker receives the report, not when it was made",
        event("2026-11-25T10:00:00+08:00", "菜市场旁垃圾堆积无人清运", "SJ0102"),
        "2026-11-25T11:50:00+08:00",
        1.0,
        ("SJ0102", "village", VILLAGE, "城管局", "garbage_exposed", "normal", (), "2026-11-25T14:20:00+08:00"),
    ),
    (
        "received on a Friday evening: 环卫 works every day, so Saturday morning",
        event("2026-11-27T17:50:00+08:00", "小区门口垃圾满了", "SJ0102"),
        None,
        1.0,
        ("SJ0102", "village", VILLAGE, "城管局", "garbage_exposed", "normal", (), "2026-11-28T09:20:00+08:00"),
    ),
    (
        "a drill's scale compresses the interval from the start",
        event("2026-11-25T10:00:00+08:00", "菜市场旁垃圾堆积无人清运", "SJ0102"),
        None,
        0.1,
        ("SJ0102", "village", VILLAGE, "城管局", "garbage_exposed", "normal", (), "2026-11-25T10:03:00+08:00"),
    ),
    (
        "a fire in the text: critical, the county, the city and the area's centres informed, wall clock",
        event("2026-11-25T10:00:00+08:00", "居民楼起火有人被困", network="zongzhi"),
        None,
        1.0,
        ("SJ0401", "county", COUNTY, "消防救援支队", "emergency", "critical", (("city", "500000000000"), ("town", TOWN), ("village", "500103001003")), "2026-11-25T10:30:00+08:00"),
    ),
    (
        "a labour dispute: the town and the 12345 complaint limit",
        event("2026-11-25T10:00:00+08:00", "老板拖欠工资", "ZZ0103", "zongzhi"),
        None,
        1.0,
        ("ZZ0103", "town", TOWN, "人力社保局", "hotline_complaint", "normal", (), "2026-11-25T18:00:00+08:00"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "report", "received", "scale", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN]
)
def test_golden_plans(
    engine: Engine,
    name: str,
    report: GridEvent,
    received: str | None,
    scale: float,
    expected: tuple[Any, ...],
) -> None:
    assessment = assess_report(report, engine.catalogue, engine.classifier, engine.severity_rules)
    start = datetime.fromisoformat(received) if received else report.reported_at
    plan = plan_case(report, assessment, engine.rules, engine.regions, start.timestamp(), scale)
    got = (
        assessment.category.code,
        plan.tier.value,
        plan.centre,
        plan.department,
        plan.policy,
        plan.priority.value,
        tuple((tier.value, centre) for tier, centre in plan.informed),
        plan.accept_by,
    )
    assert got[:-1] == expected[:-1]
    assert got[-1] == datetime.fromisoformat(expected[-1]).timestamp()


def simulated(count: int) -> list[GridEvent]:
    out: list[GridEvent] = []
    for record in generate(count, seed=5, duplicate_rate=0.0, malformed_rate=0.0):
        doc = orjson.loads(record.value)
        out += [GridEvent.model_validate(d) for d in (doc if isinstance(doc, list) else [doc])]
    return out


def test_the_engine_dispatches_what_the_planner_plans(engine: Engine) -> None:
    """Every case the engine opens has the planner's tier, centre, policy and deadline."""
    reports = simulated(300)
    assert len(reports) >= 300
    for n, report in enumerate(reports):
        # received some minutes after it was made, as a worker with a backlog would
        received = report.reported_at.timestamp() + 60.0 * (n % 50)
        out = engine.apply_event(RegionState(report.region_code), report, received)
        dispatch = out.dispositions[0]
        assessment = assess_report(
            report, engine.catalogue, engine.classifier, engine.severity_rules
        )
        plan = plan_case(report, assessment, engine.rules, engine.regions, received)
        informed = [(d.tier.value, d.center_code) for d in out.dispositions[1:]]
        assert (
            dispatch.tier,
            dispatch.center_code,
            dispatch.department,
            dispatch.rule,
            dispatch.priority,
            dispatch.deadline.timestamp() if dispatch.deadline else None,
            informed,
        ) == (
            plan.tier,
            plan.centre,
            plan.department,
            plan.decision.rule,
            plan.priority,
            plan.accept_by,
            [(tier.value, centre) for tier, centre in plan.informed],
        ), report.event_id
