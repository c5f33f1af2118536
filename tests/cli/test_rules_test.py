"""``gridflow rules test``: the worker's own plan for an event, and a file of expectations.

The shipped rules come with routing_rules/tests/routes.yaml: it must hold, as
``amtool config routes test --verify-receivers`` holds for Alertmanager's routes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from gridflow.config import Settings
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import GridEvent

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "routing_rules" / "tests" / "routes.yaml"
EVENT = {
    "event_id": "x",
    "source_network": "chengguan",
    "reported_at": "2026-11-25T10:00:00+08:00",
    "region_code": "500103001003",
    "title": "菜市场旁垃圾堆积无人清运",
    "category": "SJ0102",
}


def gridflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_the_shipped_rules_route_as_their_test_file_expects() -> None:
    result = gridflow("rules", "test", "--cases", str(SHIPPED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_a_difference_is_printed_and_exits_1(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: right\n"
        f"    event: {json.dumps(EVENT, ensure_ascii=False)}\n"
        "    expect: {tier: village, accept_by: '2026-11-25T02:30:00Z'}\n"
        "  - name: wrong\n"
        f"    event: {json.dumps(EVENT, ensure_ascii=False)}\n"
        "    received: '2026-11-25T10:05:00+08:00'\n"
        "    expect: {tier: town, accept_by: '2026-11-25T10:30:00+08:00', inform: [city]}\n",
        encoding="utf-8",
    )
    result = gridflow("rules", "test", "--cases", str(cases))
    assert result.returncode == 1, result.stderr
    assert "ok    right" in result.stdout
    assert f"FAIL  wrong ({cases}:5)" in result.stdout
    assert "tier: expected town, got village" in result.stdout
    assert "accept_by: expected 2026-11-25T10:30:00+08:00, got 2026-11-25T10:35:00+08:00" in (
        result.stdout
    )
    assert "inform: expected ['city'], got []" in result.stdout
    assert "2 cases, 1 failed" in result.stdout


def test_a_bad_case_file_is_one_line_with_its_line_and_exit_2(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: typo\n"
        f"    event: {json.dumps(EVENT, ensure_ascii=False)}\n"
        "    expect: {tierr: town}\n",
        encoding="utf-8",
    )
    result = gridflow("rules", "test", "--cases", str(cases))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"{cases}:4: unknown field 'tierr' in expect (did you mean 'tier'?); valid: "
        "category, severity, rule, tier, center_code, department, policy, priority, inform, "
        "accept_by, resolve_by"
    ]


def test_it_prints_the_accept_deadline_the_worker_emits(tmp_path: Path) -> None:
    """Received later than reported: both count from the time the worker receives it."""
    event = tmp_path / "e.json"
    event.write_text(json.dumps(EVENT, ensure_ascii=False), encoding="utf-8")
    received = "2026-11-25T11:50:00+08:00"
    result = gridflow("rules", "test", "--event", str(event), "--received", received, "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    engine = load_engine(Settings())
    out = engine.apply_event(
        RegionState(EVENT["region_code"]),
        GridEvent.model_validate(EVENT),
        datetime.fromisoformat(received).timestamp(),
    )
    [dispatch] = out.dispositions
    assert dispatch.deadline is not None
    assert datetime.fromisoformat(printed["sla"]["accept_by"]) == dispatch.deadline
    decision = printed["decision"]
    assert (decision["tier"], decision["center_code"], decision["department"]) == (
        dispatch.tier,
        dispatch.center_code,
        dispatch.department,
    )
    assert decision["priority"] == dispatch.priority


def test_a_bad_received_time_is_one_line_and_exit_2(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text(json.dumps(EVENT, ensure_ascii=False), encoding="utf-8")
    result = gridflow("rules", "test", "--event", str(event), "--received", "11:50")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "--received '11:50': not an ISO 8601 time with an offset"
    ]
