"""Replaying recorded records through a bundle, and comparing two bundles' decisions.

Feedback in a recording is replayed with the events; a rule change that moves a case to
another centre turns that centre's feedback into a refusal, and the diff says so.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from gridflow.config import load_settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.engine import Engine
from gridflow.core.replay import Record, replay
from gridflow.core.rules_diff import diff_replays, group_changes
from gridflow.reference import load_engine

TZ = ZoneInfo("Asia/Shanghai")
EVENT = {
    "event_id": "CG-1",
    "source_network": "chengguan",
    "reported_at": "2026-11-25T10:00:00+08:00",
    "region_code": "500103001003",
    "title": "菜市场旁垃圾堆积无人清运",
    "category": "SJ0102",
}


def engine(rules: Path) -> Engine:
    return load_engine(load_settings(rules=rules, sla_scale=1.0))


def records(*docs: object) -> list[Record]:
    return [Record(i + 1, orjson.dumps(doc)) for i, doc in enumerate(docs)]


def accept(case_id: str, centre: str) -> dict[str, str]:
    return {
        "feedback_id": "fb-1",
        "case_id": case_id,
        "center_code": centre,
        "action": "accept",
        "at": "2026-11-25T10:10:00+08:00",
    }


def test_feedback_in_the_recording_drives_the_case(tmp_path: Path) -> None:
    bundled = engine(BUNDLED_RULES)
    (case,) = replay(bundled, records(EVENT)).cases.values()
    assert (case.tier, case.state) == ("village", "dispatched")

    result = replay(bundled, records(EVENT, accept(case.case_id, case.centre)))

    assert result.events == 1 and result.feedback == 1 and result.refused == {}
    assert result.cases[case.case_id].state == "accepted"


def test_timers_fire_up_to_until_and_escalate() -> None:
    bundled = engine(BUNDLED_RULES)
    # Days after the accept deadline (the morning after the report's working day).
    until = datetime.fromisoformat("2026-11-28T18:00:00+08:00").timestamp()

    (case,) = replay(bundled, records(EVENT), until=until).cases.values()

    assert [tier for tier, _ in case.escalations] == ["town", "county", "city"]
    assert all(case.accept_by is not None and at >= case.accept_by for _, at in case.escalations)


def test_a_case_moved_to_another_tier_refuses_the_old_centres_feedback(tmp_path: Path) -> None:
    bundled = engine(BUNDLED_RULES)
    (case,) = replay(bundled, records(EVENT)).cases.values()
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    routes = rules / "routes.yaml"
    routes.write_text(
        routes.read_text(encoding="utf-8").replace("  tier: village", "  tier: town", 1),
        encoding="utf-8",
    )
    recording = records(EVENT, accept(case.case_id, case.centre))

    old, new = replay(bundled, recording), replay(engine(rules), recording)
    groups = {
        (g.field, g.group): [c.subject for c in g.changes]
        for g in group_changes(diff_replays(old, new, TZ))
    }

    assert groups.keys() == {
        ("tier", "village → town"),
        ("centre", f"{case.centre} → {new.cases[case.case_id].centre}"),
        ("state", "accepted → dispatched"),
        # Never accepted with the new rules: no resolve stage, no resolve deadline.
        ("resolve_by", "gone (policy garbage_exposed)"),
        ("refused", "accepted → wrong_center"),
        # 核查 moves with the holder: the county above the town checks it now.
        ("verifier", "500103001000 → 500103000000"),
    }
    assert groups[("refused", "accepted → wrong_center")] == ["fb-1"]
