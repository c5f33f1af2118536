"""12345: the hotline network, its own codes, and time limits set by the request type.

Published limits (12345 hotline rules, DOMAIN.md): urgent the same day; 求助 3 working
days; 投诉 13 working days. 举报 is handled as 投诉; 咨询, 建议, 表扬 are project defaults.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridflow.config import Settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.engine import Engine
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.region_state import RegionState
from gridflow.core.rules import RouteFacts, RuleSet
from gridflow.core.sla import stage_deadline
from gridflow.reference import load_engine
from schemas import GridEvent
from schemas.common import REQUEST_TYPES, Severity

SH = ZoneInfo("Asia/Shanghai")
RULES = BUNDLED_RULES
VILLAGE = "500103001003"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def facts(category: str, request_type: str | None, severity: Severity) -> RouteFacts:
    return RouteFacts(
        category=category,
        kind="event",
        network="12345",
        severity=severity,
        region_code=VILLAGE,
        local_time=time(10),
        request_type=request_type,
    )


@pytest.mark.parametrize(
    ("request_type", "severity", "policy"),
    [
        ("咨询", Severity.LOW, "hotline_consult"),
        ("求助", Severity.NORMAL, "hotline_help"),
        ("投诉", Severity.NORMAL, "hotline_complaint"),
        ("举报", Severity.NORMAL, "hotline_report"),
        ("建议", Severity.LOW, "hotline_suggestion"),
        ("表扬", Severity.LOW, "hotline_praise"),
        ("投诉", Severity.HIGH, "hotline_urgent"),  # 紧急诉求, whatever the type
        (None, Severity.HIGH, "hotline_urgent"),
        (None, Severity.NORMAL, "garbage_exposed"),  # no type: the routes decide
    ],
)
def test_the_request_type_sets_the_policy(
    engine: Engine, request_type: str | None, severity: Severity, policy: str
) -> None:
    decision = engine.rules.route(facts("SJ0102", request_type, severity))
    assert decision.policy == policy
    # 12345 工单 go to the 街道/乡镇; a high one one tier up, as every high case.
    assert decision.tier.value == ("county" if severity is Severity.HIGH else "town")


def test_an_emergency_keeps_its_wall_clock_policy(engine: Engine) -> None:
    decision = engine.rules.route(facts("SJ0401", "求助", Severity.CRITICAL))
    assert decision.policy == "emergency"


def test_other_networks_ignore_request_types(engine: Engine) -> None:
    decision = engine.rules.route(
        facts("SJ0102", "投诉", Severity.NORMAL)._replace(network="chengguan")
    )
    assert decision.policy != "hotline_complaint"


@pytest.mark.parametrize(
    ("policy", "due", "why"),
    [
        ("hotline_help", datetime(2026, 11, 26, 18, tzinfo=SH), "3 working days: Tue-Thu"),
        ("hotline_complaint", datetime(2026, 12, 10, 18, tzinfo=SH), "13 working days"),
        ("hotline_urgent", datetime(2026, 11, 24, 10, tzinfo=SH), "24 h on the wall clock"),
    ],
)
def test_hotline_limits(engine: Engine, policy: str, due: datetime, why: str) -> None:
    rules = engine.rules
    chosen = rules.policies[policy]
    reported = datetime(2026, 11, 23, 10, tzinfo=SH)  # a Monday
    assert stage_deadline(rules.calendar_for(chosen), chosen, "resolve", reported) == due, why


def test_hotline_codes_map_to_the_catalogue() -> None:
    catalogue = Catalogue.default()
    assert "12345" in catalogue.networks
    assert catalogue.resolve("12345", "0201").code == "SJ0102"  # type: ignore[union-attr]
    assert catalogue.resolve("12345", "0101").name == "政策咨询"  # type: ignore[union-attr]


def test_a_12345_case_records_the_request_type(engine: Engine) -> None:
    event = GridEvent.model_validate(
        {
            "event_id": "rx-1",
            "source_network": "12345",
            "reported_at": "2026-11-23T10:00:00+08:00",
            "region_code": VILLAGE,
            "category": "0201",
            "request_type": "投诉",
            "title": "小区门口垃圾三天没人清运",
        }
    )
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, event, event.reported_at.timestamp())
    [dispatch] = [d for d in out.dispositions if d.action == "dispatch"]
    assert dispatch.request_type == "投诉"
    [case] = state.cases.values()
    assert case.request_type == "投诉" and case.policy == "hotline_complaint"
    assert type(case).from_dict(case.to_dict()).request_type == "投诉"


def test_request_types_are_the_six_of_the_hotline() -> None:
    assert REQUEST_TYPES == ("咨询", "求助", "投诉", "举报", "建议", "表扬")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("      咨询: hotline_consult", "      询问: hotline_consult"),
            "unknown request type '询问'",
        ),
        (
            ("      表扬: hotline_praise", "      表扬: hotline_thanks"),
            "'hotline_thanks', which is not defined",
        ),
    ],
)
def test_bad_request_types_are_refused(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    for f in RULES.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    text = (tmp_path / "networks.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    (tmp_path / "networks.yaml").write_text(text.replace(*edit), encoding="utf-8")
    with pytest.raises(ConfigLoadError, match=message):
        RuleSet.load(tmp_path)
