"""rules_version changes when any file that can change a decision changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.core.rules import RuleSet
from gridflow.core.rules_version import DECISION_FILES, decision_files, rules_version


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, folder)
    return folder


def test_every_decision_file_is_hashed() -> None:
    assert set(DECISION_FILES) == {
        "routes.yaml",
        "policies.yaml",
        "calendar.yaml",
        "catalogue.yaml",
        "networks.yaml",
        "keywords.yaml",
        "danger.yaml",
        str(DIVISIONS_FILE),
    }


@pytest.mark.parametrize("name", DECISION_FILES)
def test_changing_any_decision_file_changes_the_version(rules_dir: Path, name: str) -> None:
    before = RuleSet.load(rules_dir).version
    path = rules_dir / name
    # A trailing comment (YAML) or blank line (CSV) changes the bytes, not the meaning:
    # the version follows the files, as the operator deployed them.
    path.write_bytes(path.read_bytes() + (b"\n" if name.endswith(".csv") else b"# changed\n"))
    assert RuleSet.load(rules_dir).version != before


def test_a_department_changed_in_the_catalogue_changes_the_version(rules_dir: Path) -> None:
    before = RuleSet.load(rules_dir).version
    catalogue = rules_dir / "catalogue.yaml"
    text = catalogue.read_text(encoding="utf-8")
    assert "department: " in text
    head, _, tail = text.partition("department: ")
    catalogue.write_text(head + "department: 另一个部门  # " + tail, encoding="utf-8")
    assert RuleSet.load(rules_dir).version != before


def test_the_same_files_give_the_same_version(rules_dir: Path) -> None:
    assert RuleSet.load(rules_dir).version == RuleSet.load(BUNDLED_RULES).version


def test_a_division_file_from_elsewhere_is_the_one_hashed(rules_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "divisions.csv"
    shutil.copy(BUNDLED_RULES / DIVISIONS_FILE, other)
    same = RuleSet.load(rules_dir, divisions=other).version
    assert same == RuleSet.load(rules_dir).version
    other.write_bytes(other.read_bytes() + b"\n")
    assert RuleSet.load(rules_dir, divisions=other).version != same


def test_files_a_directory_leaves_out_are_the_bundled_ones(tmp_path: Path) -> None:
    folder = tmp_path / "minimal"
    folder.mkdir()
    for name in ("routes.yaml", "policies.yaml", "calendar.yaml"):
        shutil.copy(BUNDLED_RULES / name, folder / name)
    files = decision_files(folder)
    assert files["catalogue.yaml"] == BUNDLED_RULES / "catalogue.yaml"
    assert files[str(DIVISIONS_FILE)] == BUNDLED_RULES / DIVISIONS_FILE
    # Inhibit rules and the danger model have no bundled fallback: a directory without
    # them inhibits nothing and gates on no model, so its version is the bundled files'
    # without them.
    assert "inhibit.yaml" not in files and "danger_model.jsonl" not in files
    bundled = decision_files(BUNDLED_RULES)
    assert bundled.pop("inhibit.yaml") == BUNDLED_RULES / "inhibit.yaml"
    assert bundled.pop("danger_model.jsonl") == BUNDLED_RULES / "danger_model.jsonl"
    assert rules_version(files) == rules_version(bundled)
