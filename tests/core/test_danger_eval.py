"""Measured: critical incidents, hazards and urgent matters on a labelled evaluation set.

routing_rules/danger_eval.jsonl holds reports written for this evaluation, apart from the
classifier's tuning data (routing_rules/classification_eval.jsonl): long narratives,
camera alerts, Chongqing dialect, hazards, emergencies phrased without the obvious
words, and everyday reports with tempting words (火锅, 烧烤, 消防演练). Each is labelled
``critical``, ``hazard``, ``urgent`` or ``routine``; ``tune`` reports were looked at while
writing the lexicon, ``holdout`` reports were written in rounds, each scored before its
misses were looked at (docs/classification.md, "Measured", gives every round's first
score). ``gridflow danger-eval`` prints the figures; the definitions are in
``gridflow/commands/danger_eval.py``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pytest

from gridflow.commands import danger_eval
from gridflow.commands.danger_eval import TARGETS, Assessor, Figures, Report, score
from gridflow.core.bundled import BUNDLED_RULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return danger_eval.read_reports(danger_eval.DEFAULT_EVAL)


@pytest.fixture(scope="module")
def figures(reports: list[Report]) -> dict[str, Figures]:
    assessor = Assessor()
    outcomes = {report.line: assessor.outcome(report) for report in reports}
    return {
        name: score(outcomes[report.line] for report in members)
        for name, members in danger_eval.groups(reports)
    }


def test_the_set_is_large_varied_and_apart_from_the_tuning_data(reports: list[Report]) -> None:
    holdout = [report for report in reports if report.split == "holdout"]
    assert len(holdout) >= 300
    assert {report.split for report in reports} == {"tune", "holdout"}
    assert Counter(report.label for report in holdout).keys() == set(danger_eval.LABELS)
    # Enough critical reports for a recall of 0.95 to mean something (a miss is < 1 %).
    assert sum(report.label == "critical" for report in holdout) >= 100
    assert sum(report.network == "video_ai" for report in holdout) >= 10
    assert len({report.text for report in reports}) == len(reports)
    tuning = (ROOT / "routing_rules" / "classification_eval.jsonl").read_text(encoding="utf-8")
    assert not any(report.text in tuning for report in reports)


def _worked_on(reports: list[Report]) -> Figures:
    assessor = Assessor()
    return score(
        assessor.outcome(report)
        for report in reports
        if report.split == "holdout" and report.round in (1, 2, 3, 4)
    )


def test_the_rounds_worked_on_meet_the_issue_targets(reports: list[Report]) -> None:
    # Rounds 1-4: each scored once, then its misses worked on (docs/classification.md), so
    # these figures say the lexicon covers what it has seen, not how it does on new text.
    worked_on = _worked_on(reports)
    wrong = [outcome.describe() for outcome in worked_on.misses]
    assert worked_on.critical_recall >= TARGETS.critical_recall, wrong
    assert worked_on.critical_precision >= TARGETS.critical_precision, wrong
    assert worked_on.hazard_recall >= TARGETS.hazard_recall, wrong
    assert worked_on.hazards_as_critical <= TARGETS.hazards_as_critical, wrong
    assert worked_on.meets()


def test_the_blind_round_keeps_its_first_score_and_misses_the_targets(
    figures: dict[str, Figures],
) -> None:
    # Round 6 was written blind (its author read neither the lexicon nor the keywords) and
    # scored once, after the compositional patterns were frozen: that first score is the
    # honest figure for new text, and it is below the issue's targets. Its misses are left
    # as they are (not worked on), so the floors sit just under the first score and the
    # whole holdout's verdict stays "NOT met" until a change generalises.
    fresh = figures["holdout round 6"]
    assert fresh.critical_recall >= 0.84
    assert fresh.critical_precision >= 0.80
    assert fresh.hazard_recall >= 0.65
    assert fresh.hazards_as_critical <= 5
    assert fresh.urgent_on_wall_clock >= 0.68
    assert not figures["holdout"].meets()


@pytest.mark.parametrize(
    "name", ["tune", "holdout round 1", "holdout round 2", "holdout round 3", "holdout round 4"]
)
def test_each_part_stays_near_its_measured_figures(figures: dict[str, Figures], name: str) -> None:
    # Floors a little below docs/classification.md's figures, so that a lexicon change
    # that loses one part while winning another shows here.
    part = figures[name]
    assert part.critical_recall >= 0.94
    assert part.critical_precision >= 0.9
    assert part.hazard_recall >= 0.95


def test_urgent_matters_run_on_a_wall_clock(figures: dict[str, Figures]) -> None:
    # Urgent matters are read from the text (danger.yaml urgent), whichever sibling the
    # keywords chose. The target (0.9) was worked for on the tune reports; the holdout,
    # scored once at the end, sets a floor just under its figure (0.642).
    assert figures["tune"].urgent_on_wall_clock >= 0.9
    assert figures["holdout"].urgent_on_wall_clock >= 0.6


def test_the_command_prints_every_part_and_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    danger_eval.register(parser.add_subparsers())
    args = parser.parse_args(["danger-eval", "--misses"])
    # Exit 1: the blind round 6 keeps the whole holdout under the targets.
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "| holdout round 2 | 143 | 73 |" in out
    assert "| holdout round 6 | 268 | 107 |" in out
    assert "| holdout |" in out and "| all |" in out
    assert "holdout: targets NOT met" in out
    assert "tune: " in out  # the wrong decisions, per part


def test_the_command_reports_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "eval.jsonl"
    bad.write_text(
        '{"text": "着火了", "label": "fire", "network": "zongzhi", "split": "tune"}\n',
        encoding="utf-8",
    )
    args = argparse.Namespace(file=bad, rules=BUNDLED_RULES, misses=False)
    assert danger_eval.run(args) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: not a labelled report (label: Input should be 'critical'" in err
    assert err.count("\n") == 1


def test_a_set_that_misses_the_targets_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A critical report no cue catches, held out: recall 0.
    missed = tmp_path / "eval.jsonl"
    missed.write_text(
        '{"text": "小区门口的快递柜坏了", "label": "critical", "network": "zongzhi", '
        '"split": "holdout"}\n',
        encoding="utf-8",
    )
    args = argparse.Namespace(file=missed, rules=BUNDLED_RULES, misses=True)
    assert danger_eval.run(args) == 1
    assert "holdout: targets NOT met" in capsys.readouterr().out
