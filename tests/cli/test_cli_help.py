"""The ``gridflow`` command: every subcommand explains itself, rules are checked strictly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gridflow.cli import build_parser
from gridflow.core.bundled import BUNDLED_RULES

ROOT = Path(__file__).resolve().parents[2]


def gridflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_every_documented_subcommand_exists() -> None:
    assert {
        "demo",
        "worker",
        "broker",
        "topics",
        "simulate",
        "rules",
        "schemas",
        "classify-eval",
    } <= set(subcommands())


@pytest.mark.parametrize("name", subcommands())
def test_each_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([name, "--help"])
    assert exit_.value.code == 0
    assert len(capsys.readouterr().out) > 100


def test_rules_check_passes_on_the_bundled_rules() -> None:
    # As of a day whose next 90 days the bundled holiday data covers (2026's notice).
    result = gridflow("rules", "check", str(BUNDLED_RULES), "--as-of", "2026-09-01")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "official days known until 2026-12-31" in result.stdout


def test_rules_check_fails_when_the_next_90_days_are_not_covered() -> None:
    result = gridflow("rules", "check", str(BUNDLED_RULES), "--as-of", "2026-12-04")
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "calendar.yaml: the official holidays are known only until 2026-12-31" in line
    assert "2027-03-04" in line and "notice_years" in line


def test_rules_check_passes_once_the_notice_is_entered(tmp_path: Path) -> None:
    for f in BUNDLED_RULES.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "divisions").symlink_to(BUNDLED_RULES / "divisions")
    calendar = (tmp_path / "calendar.yaml").read_text(encoding="utf-8")
    (tmp_path / "calendar.yaml").write_text(
        calendar.replace("notice_years: []", "notice_years: [2027]"), encoding="utf-8"
    )
    result = gridflow("rules", "check", str(tmp_path), "--as-of", "2026-12-04")
    assert result.returncode == 0, result.stderr
    assert "official days known until 2027-12-31" in result.stdout


def test_rules_check_names_file_and_line_of_a_bad_rule(tmp_path: Path) -> None:
    for f in BUNDLED_RULES.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "divisions").symlink_to(BUNDLED_RULES / "divisions")
    routes = (tmp_path / "routes.yaml").read_text(encoding="utf-8")
    (tmp_path / "routes.yaml").write_text(
        routes.replace("tier: village", "tier: galaxy", 1), encoding="utf-8"
    )
    result = gridflow("rules", "check", str(tmp_path))
    assert result.returncode == 2
    out = result.stdout + result.stderr
    assert "routes.yaml:" in out and "galaxy" in out


def test_rules_test_takes_a_12345_request_type(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text(
        '{"event_id":"rx","source_network":"12345","reported_at":"2026-12-31T17:45:00+08:00",'
        '"region_code":"500103001003","category":"0201","request_type":"投诉",'
        '"title":"小区门口垃圾三天没人清运"}',
        encoding="utf-8",
    )
    result = gridflow("rules", "test", "--event", str(event), "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["decision"]["policy"] == "hotline_complaint"
    # 13 working days from New Year's Eve: 元旦 2027 and the weekends skipped.
    assert decision["sla"]["resolve_by"].startswith("2027-01-20T18:00")


def test_rules_test_explains_an_event(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text(
        '{"event_id":"x","source_network":"chengguan","reported_at":"2026-11-25T10:00:00+08:00",'
        '"region_code":"500103001003","title":"菜市场旁垃圾堆积无人清运","category":"SJ0102"}',
        encoding="utf-8",
    )
    result = gridflow("rules", "test", "--event", str(event), "--json")
    assert result.returncode == 0, result.stderr
    assert "500103001003" in result.stdout
