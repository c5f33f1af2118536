"""``gridflow rules diff``: replay the simulator's recorded events through two bundles.

A sample edit shows exactly the decisions it meant to move, and nothing else; an edit
that changes no decision shows no change (exit 0) although the rules version moves.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gridflow.cli import main
from gridflow.commands.rules_diff import read_records
from gridflow.config import load_settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.replay import replay
from gridflow.reference import load_engine

EVENTS = 800
SEED = 11


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's events (duplicates and malformed records included), on a file."""
    out = tmp_path_factory.mktemp("rec") / "events.jsonl"
    code = main(["simulate", "--count", str(EVENTS), "--seed", str(SEED), "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def baseline(recording: Path) -> dict[str, Any]:
    """What the shipped rules decide for the recording, case by case."""
    engine = load_engine(load_settings(rules=BUNDLED_RULES, sla_scale=1.0))
    return replay(engine, read_records(recording)).cases


def edited(tmp_path: Path, file: str, edit: Callable[[str], str]) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    path = rules / file
    before = path.read_text(encoding="utf-8")
    after = edit(before)
    assert after != before, "the sample edit did not apply"
    path.write_text(after, encoding="utf-8")
    return rules


def diff(
    capsys: pytest.CaptureFixture[str], new: Path, events: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(
        ["rules", "diff", str(BUNDLED_RULES), str(new), "--events", str(events), "--json", *extra]
    )
    return code, json.loads(capsys.readouterr().out)


def groups(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(g["field"], g["change"], g["count"]) for g in doc["groups"]]


def test_a_department_moved_for_one_category_changes_only_those_cases(
    tmp_path: Path, recording: Path, baseline: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    rules = edited(
        tmp_path,
        "catalogue.yaml",
        lambda text: text.replace(
            "BJ0204: {name: 公交站亭, department: 交通局",
            "BJ0204: {name: 公交站亭, department: 公交集团",
        ),
    )
    moved = sorted(c.case_id for c in baseline.values() if c.category == "BJ0204")
    assert moved, "the recording has no 公交站亭 case: pick another seed"

    code, doc = diff(capsys, rules, recording)

    assert code == 1
    assert groups(doc) == [("department", "交通局 → 公交集团", len(moved))]
    assert [c["id"] for c in doc["groups"][0]["cases"]] == moved
    assert doc["old"]["rules_version"] != doc["new"]["rules_version"]


def test_a_shortened_deadline_moves_only_that_policys_deadlines(
    tmp_path: Path, recording: Path, baseline: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    def shorten(text: str) -> str:
        at = text.index("accept: 30m", text.index("  garbage_exposed:"))
        return text[:at] + "accept: 20m" + text[at + len("accept: 30m") :]

    rules = edited(tmp_path, "policies.yaml", shorten)
    timed = sorted(c.case_id for c in baseline.values() if c.policy == "garbage_exposed")
    assert timed, "the recording has no garbage_exposed case: pick another seed"

    code, doc = diff(capsys, rules, recording)

    assert code == 1
    assert groups(doc) == [("accept_by", "earlier (policy garbage_exposed)", len(timed))]
    assert [c["id"] for c in doc["groups"][0]["cases"]] == timed


def test_an_edit_that_changes_no_decision_shows_no_change(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = edited(tmp_path, "routes.yaml", lambda text: text + "\n# 注释: no decision changes\n")

    code, doc = diff(capsys, rules, recording)

    assert code == 0
    assert doc["groups"] == [] and doc["changes"] == 0
    assert doc["events"] > 0 and doc["old"]["cases"] == doc["new"]["cases"] > 0
    # The hash covers the bytes: the version moves although no decision does.
    assert doc["old"]["rules_version"] != doc["new"]["rules_version"]


def test_the_text_form_counts_the_changes_with_examples(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = edited(
        tmp_path,
        "catalogue.yaml",
        lambda text: text.replace("department: 交通局}", "department: 公交集团}"),
    )
    code = main(["rules", "diff", str(BUNDLED_RULES), str(rules), "--events", str(recording)])
    out = capsys.readouterr().out
    assert code == 1
    assert "处置部门 department" in out and "交通局 → 公交集团" in out
    assert "changed decisions" in out


def test_errors_are_one_line_and_exit_2(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = edited(tmp_path, "routes.yaml", lambda text: text.replace("policy:", "polcy:", 1))
    cases: list[tuple[list[str], str]] = [
        (["--events", str(tmp_path / "missing.jsonl")], "missing.jsonl: cannot read"),
        (["--events", str(recording), "--from", "yesterday"], "--from 'yesterday'"),
    ]
    for extra, expected in cases:
        code = main(["rules", "diff", str(BUNDLED_RULES), str(BUNDLED_RULES), *extra])
        err = capsys.readouterr().err
        assert code == 2 and expected in err and err.count("\n") == 1, err
    code = main(["rules", "diff", str(BUNDLED_RULES), str(broken), "--events", str(recording)])
    err = capsys.readouterr().err
    assert code == 2 and "routes.yaml:" in err and err.count("\n") == 1, err
