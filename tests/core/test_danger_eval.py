"""Measured: critical incidents, hazards and urgent matters on a labelled evaluation set.

routing_rules/danger_eval.jsonl holds reports written for this evaluation, apart from the
classifier's tuning data (routing_rules/classification_eval.jsonl): long narratives,
camera alerts, Chongqing dialect, hazards, emergencies phrased without the obvious
words, and everyday reports with tempting words (火锅, 烧烤, 消防演练). Each is labelled
``critical``, ``hazard``, ``urgent`` or ``routine``; ``tune`` reports were looked at while
writing the lexicon (tune rounds 12-14, written in session 10, only train the learned
second opinion: the lexicon was not worked on them), ``holdout`` reports were written in rounds, each scored before its
misses were looked at (docs/classification.md, "Measured", gives every round's first
score). Holdout rounds 1-4, 6 and 7 have all been worked on since (round 6, written
blind, was worked on in session 8; round 7, written blind, in session 8's danger4 work);
their figures say what the rules cover, not how they do on new text. The blind figure
for new text is round 9's first score (BLIND_FIRST_SCORES). ``gridflow danger-eval`` prints the figures; the definitions are in
``gridflow/commands/danger_eval.py``. The floors per part are the rules' alone
(``--no-model``); the shipped learned second opinion (``danger_model.jsonl``) was
trained on every part, so its own floors are near 1 and say nothing about new text.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import orjson
import pytest

from gridflow.commands import danger_eval
from gridflow.commands.danger_eval import TARGETS, Assessor, Figures, Report, score
from gridflow.core.bundled import BUNDLED_RULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return danger_eval.read_reports(danger_eval.DEFAULT_EVAL)


#: Tune rounds written as training data for the learned second opinion (sessions 10, 11
#: and 12, by other authors): the lexicon was not worked on them (but for twelve hazard
#: markers taken from rounds 28-31 in session 11), so the rules' tune floors are kept for
#: the rounds it was worked on ("tune, worked on"), and these rounds have their own (the
#: rules' first score on them, TRAINING_FIRST_SCORES).
TRAINING_ONLY = (12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 28, 29, 30, 31, 39, 40, 41)
WORKED_ON_TUNE = "tune, worked on"


def _figures(reports: list[Report], assessor: Assessor) -> dict[str, Figures]:
    outcomes = {report.line: assessor.outcome(report) for report in reports}
    figures = {
        name: score(outcomes[report.line] for report in members)
        for name, members in danger_eval.groups(reports)
    }
    figures[WORKED_ON_TUNE] = score(
        outcomes[report.line]
        for report in reports
        if report.split == "tune" and report.round not in TRAINING_ONLY
    )
    return figures


@pytest.fixture(scope="module")
def figures(reports: list[Report]) -> dict[str, Figures]:
    # The rules alone (danger-eval --no-model): the floors below were measured for them,
    # and keep them from leaning on the learned model.
    return _figures(reports, Assessor(model=False))


@pytest.fixture(scope="module")
def shipped(reports: list[Report]) -> dict[str, Figures]:
    # The rules with the learned second opinion (routing_rules/danger_model.jsonl).
    return _figures(reports, Assessor())


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
    tuned = {orjson.loads(line)["text"] for line in tuning.splitlines() if line.strip()}
    # A report copied whole or cut from the tuning data; boilerplate titles of a few
    # characters (round 23: "现场", "咨询") occur inside many texts and are not copies.
    assert not any(
        report.text in tuned or (len(report.text) >= 8 and report.text in tuning)
        for report in reports
    )


#: Holdout rounds whose misses were worked on after their one scoring and that meet the
#: issue's targets (round 6, written blind, was worked on in session 8). Round 7 was
#: worked on in session 8 too but stays below the targets: its own floors are below.
WORKED_ON = (1, 2, 3, 4, 6)


def _worked_on(reports: list[Report]) -> Figures:
    assessor = Assessor(model=False)
    return score(
        assessor.outcome(report)
        for report in reports
        if report.split == "holdout" and report.round in WORKED_ON
    )


def test_the_rounds_worked_on_meet_the_issue_targets(reports: list[Report]) -> None:
    # Rounds 1-4 and 6: each scored once, then its misses worked on (docs/
    # classification.md), so these figures say the lexicon covers what it has seen, not
    # how it does on new text (that is round 7's first score, below).
    worked_on = _worked_on(reports)
    wrong = [outcome.describe() for outcome in worked_on.misses]
    assert worked_on.critical_recall >= TARGETS.critical_recall, wrong
    assert worked_on.critical_precision >= TARGETS.critical_precision, wrong
    assert worked_on.hazard_recall >= TARGETS.hazard_recall, wrong
    assert worked_on.hazards_as_critical <= TARGETS.hazards_as_critical, wrong
    assert worked_on.meets()


# Blind rounds worked on since their first score: development data now, no longer a
# measure of new text. Floors just under where the work left each (critical recall,
# critical precision, hazards as hazards, urgent on a wall clock; none routed as
# critical).
# * Round 6 (first score: 0.850 / 0.820 / 0.661 / 5 routed critical / 0.691): its misses,
#   by class, led to the condition rule (a structure's bad state without an event is a
#   hazard) and the effect patterns (a blast's sound, a failing dike, water coming in, a
#   body's look, a vehicle into a crowd).
# * Round 7 (first score in BLIND_FIRST_SCORES; worked on to 0.953 / 0.877 / 0.896 / 0 /
#   0.603): events told as happening here override a hazard reading (events_now),
#   incidents elsewhere or earlier make a hazard (elsewhere), not-real markers lower a
#   critical category default, camera alert types read as critical, emergencies told by
#   what is seen (a boat over, a pit's gas, fumes by a heater, a glow, a knife held on a
#   hostage) and more worn structures (钢筋, 预制板, 角铁, 起毛, 糟了).
WORKED_ON_FLOORS: dict[str, tuple[float, float, float, float]] = {
    "holdout round 6": (0.98, 0.86, 0.96, 0.68),
    "holdout round 7": (0.94, 0.86, 0.88, 0.59),
}


@pytest.mark.parametrize("name", sorted(WORKED_ON_FLOORS))
def test_a_round_worked_on_in_session_8_stays_where_it_was_brought(
    figures: dict[str, Figures], name: str
) -> None:
    worked = figures[name]
    recall, precision, hazards, urgent = WORKED_ON_FLOORS[name]
    assert worked.critical_recall >= recall
    assert worked.critical_precision >= precision
    assert worked.hazard_recall >= hazards
    assert worked.hazards_as_critical == 0
    assert worked.urgent_on_wall_clock >= urgent


# The blind rounds' first scores: each written by another author who read none of the
# rules, and scored ONCE by the integrator after merging (docs/classification.md, "Round
# 7" and "Round 9"). Round 7 was worked on since (the test above), so its first score is
# only the lowest it may ever fall to; round 9 has not been read and is the figure for
# new text. Floors just under each first score.
BLIND_FIRST_SCORES: dict[str, dict[str, float]] = {
    # 2026-12-05, session 8's danger3 rules: 356 Chinese reports (the author's 13 English
    # Open311 lines were left out before scoring: the lexicon reads Chinese).
    "holdout round 7": {
        "critical_recall": 0.740,
        "critical_precision": 0.740,
        "hazard_recall": 0.708,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.603,
    },
    # 2026-12-05, session 8's final rules (danger4): 347 reports.
    "holdout round 9": {
        "critical_recall": 0.803,
        "critical_precision": 0.816,
        "hazard_recall": 0.771,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.656,
    },  # 2026-12-05, session 9's rules, scored once (rules alone; with the learned second
    # opinion, not yet trained on it: 0.872 / 0.807 / 0.758 / 1 / 0.557): 344 reports.
    "holdout round 11": {
        "critical_recall": 0.832,
        "critical_precision": 0.812,
        "hazard_recall": 0.600,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.541,
    },
    # 2026-12-05, session 10's rules, scored once each (rules alone; with the table
    # trained through round 22 and not on them: 0.929 / 0.825 / 0.865 / 5 and 0.992 /
    # 0.817 / 0.876 / 2): 344 and 345 reports, two authors writing blind.
    "holdout round 15": {
        "critical_recall": 0.835,
        "critical_precision": 0.791,
        "hazard_recall": 0.656,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.738,
    },
    "holdout round 16": {
        "critical_recall": 0.833,
        "critical_precision": 0.772,
        "hazard_recall": 0.598,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.770,
    },
    # 2026-12-05, session 11's rules (unchanged from session 10's), scored once each (rules
    # alone; with the table trained through round 23 and not on them: 0.992 / 0.783 /
    # 0.825 / 6 and 0.976 / 0.801 / 0.875 / 5): 352 and 343 reports, two authors writing
    # blind (villages and small towns; a big city).
    "holdout round 24": {
        "critical_recall": 0.906,
        "critical_precision": 0.762,
        "hazard_recall": 0.536,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.629,
    },
    "holdout round 25": {
        "critical_recall": 0.831,
        "critical_precision": 0.763,
        "hazard_recall": 0.615,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.656,
    },
    # 2026-12-05, session 11: six more authors writing blind, each round scored once when
    # written (rules alone; session 11's table, not trained on them: 0.984 / 0.826 /
    # 0.852 / 16 over the six). Rounds 26, 27, 32 and 33 were scored on session 10's
    # rules, 34 and 35 on session 11's; round 32's two lines that were already in the set
    # were left out when it joined it (session 12). Their misses were read in session 12,
    # so they are development data now, and these scores are floors, not new text.
    "holdout round 26": {
        "critical_recall": 0.787,
        "critical_precision": 0.806,
        "hazard_recall": 0.677,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.610,
    },
    "holdout round 27": {
        "critical_recall": 0.875,
        "critical_precision": 0.727,
        "hazard_recall": 0.561,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.726,
    },
    "holdout round 32": {
        "critical_recall": 0.828,
        "critical_precision": 0.766,
        "hazard_recall": 0.505,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 33": {
        "critical_recall": 0.858,
        "critical_precision": 0.852,
        "hazard_recall": 0.620,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.651,
    },
    "holdout round 34": {
        "critical_recall": 0.879,
        "critical_precision": 0.752,
        "hazard_recall": 0.588,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 35": {
        "critical_recall": 0.860,
        "critical_precision": 0.782,
        "hazard_recall": 0.616,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.517,
    },
    # 2026-12-05, session 12: blind rounds 36-38, scored once with session 12's rules
    # (/work/coord/s12 in that session), joined the set in session 13.
    "holdout round 36": {
        "critical_recall": 0.841,
        "critical_precision": 0.797,
        "hazard_recall": 0.646,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 37": {
        "critical_recall": 0.825,
        "critical_precision": 0.800,
        "hazard_recall": 0.690,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.690,
    },
    "holdout round 38": {
        "critical_recall": 0.849,
        "critical_precision": 0.759,
        "hazard_recall": 0.547,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.705,
    },
    # 2026-12-05, session 12: blind rounds 42-44 (written after every change of that
    # session), scored once, joined the set in session 13.
    "holdout round 42": {
        "critical_recall": 0.890,
        "critical_precision": 0.819,
        "hazard_recall": 0.625,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 43": {
        "critical_recall": 0.849,
        "critical_precision": 0.799,
        "hazard_recall": 0.606,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 44": {
        "critical_recall": 0.829,
        "critical_precision": 0.797,
        "hazard_recall": 0.542,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.533,
    },
    # 2026-12-05, session 13: blind rounds 45-53, each scored once with session 13's
    # rules (/work/coord/s13 in that session), joined the set at that session's end.
    "holdout round 45": {
        "critical_recall": 0.835,
        "critical_precision": 0.763,
        "hazard_recall": 0.546,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.574,
    },
    "holdout round 46": {
        "critical_recall": 0.778,
        "critical_precision": 0.766,
        "hazard_recall": 0.583,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 47": {
        "critical_recall": 0.873,
        "critical_precision": 0.786,
        "hazard_recall": 0.622,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.581,
    },
    "holdout round 48": {
        "critical_recall": 0.810,
        "critical_precision": 0.803,
        "hazard_recall": 0.646,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.689,
    },
    "holdout round 49": {
        "critical_recall": 0.817,
        "critical_precision": 0.824,
        "hazard_recall": 0.543,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 50": {
        "critical_recall": 0.754,
        "critical_precision": 0.748,
        "hazard_recall": 0.481,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.515,
    },
    "holdout round 51": {
        "critical_recall": 0.688,
        "critical_precision": 0.694,
        "hazard_recall": 0.340,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.559,
    },
    "holdout round 52": {
        "critical_recall": 0.883,
        "critical_precision": 0.837,
        "hazard_recall": 0.615,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.525,
    },
    "holdout round 53": {
        "critical_recall": 0.865,
        "critical_precision": 0.858,
        "hazard_recall": 0.735,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.516,
    },
    # 2026-12-06, session 14: blind rounds 57-62 (2,100 reports by six more authors),
    # each scored once with session 13's rules and table (with the table: 0.975 / 0.886 /
    # 0.918 / 9 over the six), joined the set the same day.
    "holdout round 57": {
        "critical_recall": 0.800,
        "critical_precision": 0.840,
        "hazard_recall": 0.680,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 58": {
        "critical_recall": 0.840,
        "critical_precision": 0.875,
        "hazard_recall": 0.640,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 59": {
        "critical_recall": 0.800,
        "critical_precision": 0.820,
        "hazard_recall": 0.760,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 60": {
        "critical_recall": 0.864,
        "critical_precision": 0.885,
        "hazard_recall": 0.720,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 61": {
        "critical_recall": 0.840,
        "critical_precision": 0.890,
        "hazard_recall": 0.650,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 62": {
        "critical_recall": 0.856,
        "critical_precision": 0.805,
        "hazard_recall": 0.590,
        "hazards_as_critical": 12,
        "urgent_on_wall_clock": 0.617,
    },
    # 2026-12-06, session 14: blind rounds 63-65 (1,050 reports by three more authors),
    # each scored once with session 14's rules and table (with the table: 0.992 / 0.903 /
    # 0.910 / 3 over the three), kept in tools/danger_blind/ and joined the set in session
    # 15.
    "holdout round 63": {
        "critical_recall": 0.848,
        "critical_precision": 0.848,
        "hazard_recall": 0.610,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 64": {
        "critical_recall": 0.888,
        "critical_precision": 0.888,
        "hazard_recall": 0.660,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 65": {
        "critical_recall": 0.816,
        "critical_precision": 0.850,
        "hazard_recall": 0.650,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.600,
    },
    # 2026-12-06, session 15: blind rounds 66-71 (2,119 reports by six more authors),
    # each scored once with the rules and table of 722002a (with the table: 0.980 / 0.881
    # / 0.937 / 11 over the six; session 14's table 0.987 / 0.866 / 0.913 / 9), kept in
    # tools/danger_blind/ and joined the set the same day.
    "holdout round 66": {
        "critical_recall": 0.806,
        "critical_precision": 0.748,
        "hazard_recall": 0.667,
        "hazards_as_critical": 15,
        "urgent_on_wall_clock": 0.574,
    },
    "holdout round 67": {
        "critical_recall": 0.883,
        "critical_precision": 0.869,
        "hazard_recall": 0.752,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 68": {
        "critical_recall": 0.832,
        "critical_precision": 0.776,
        "hazard_recall": 0.700,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 69": {
        "critical_recall": 0.808,
        "critical_precision": 0.894,
        "hazard_recall": 0.560,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.517,
    },
    "holdout round 70": {
        "critical_recall": 0.840,
        "critical_precision": 0.833,
        "hazard_recall": 0.720,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 71": {
        "critical_recall": 0.840,
        "critical_precision": 0.875,
        "hazard_recall": 0.720,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.633,
    },
    # 2026-12-06, session 15: blind rounds 72-77 (2,101 reports by six more authors),
    # each scored once with the rules and table of 2355858 (with the table: 0.987 / 0.886
    # / 0.952 / 3 over the six), kept in tools/danger_blind/ and joined the set in session 16.
    "holdout round 72": {
        "critical_recall": 0.825,
        "critical_precision": 0.825,
        "hazard_recall": 0.650,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 73": {
        "critical_recall": 0.808,
        "critical_precision": 0.918,
        "hazard_recall": 0.590,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 74": {
        "critical_recall": 0.824,
        "critical_precision": 0.780,
        "hazard_recall": 0.600,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 75": {
        "critical_recall": 0.808,
        "critical_precision": 0.856,
        "hazard_recall": 0.670,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 76": {
        "critical_recall": 0.824,
        "critical_precision": 0.888,
        "hazard_recall": 0.640,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 77": {
        "critical_recall": 0.864,
        "critical_precision": 0.844,
        "hazard_recall": 0.640,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.600,
    },
    # 2026-12-06, session 16: blind rounds 78-95 (6,300 reports by eighteen more authors),
    # scored once with 8e07a03's rules alone before any line was read (rules and table:
    # 0.985 / 0.887 / 0.939 / 7 over 78-89, 0.992 / 0.886 / 0.958 / 4 over 90-95), kept in
    # tools/danger_blind/ and joined the set in session 17.
    "holdout round 78": {
        "critical_recall": 0.800,
        "critical_precision": 0.833,
        "hazard_recall": 0.590,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 79": {
        "critical_recall": 0.808,
        "critical_precision": 0.902,
        "hazard_recall": 0.720,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.550,
    },
    "holdout round 80": {
        "critical_recall": 0.872,
        "critical_precision": 0.852,
        "hazard_recall": 0.690,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 81": {
        "critical_recall": 0.832,
        "critical_precision": 0.832,
        "hazard_recall": 0.670,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 82": {
        "critical_recall": 0.800,
        "critical_precision": 0.862,
        "hazard_recall": 0.640,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 83": {
        "critical_recall": 0.832,
        "critical_precision": 0.860,
        "hazard_recall": 0.630,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 84": {
        "critical_recall": 0.888,
        "critical_precision": 0.860,
        "hazard_recall": 0.620,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 85": {
        "critical_recall": 0.800,
        "critical_precision": 0.885,
        "hazard_recall": 0.670,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 86": {
        "critical_recall": 0.856,
        "critical_precision": 0.899,
        "hazard_recall": 0.670,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 87": {
        "critical_recall": 0.840,
        "critical_precision": 0.868,
        "hazard_recall": 0.570,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.450,
    },
    "holdout round 88": {
        "critical_recall": 0.864,
        "critical_precision": 0.837,
        "hazard_recall": 0.640,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 89": {
        "critical_recall": 0.872,
        "critical_precision": 0.832,
        "hazard_recall": 0.700,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 90": {
        "critical_recall": 0.840,
        "critical_precision": 0.868,
        "hazard_recall": 0.630,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 91": {
        "critical_recall": 0.792,
        "critical_precision": 0.825,
        "hazard_recall": 0.670,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 92": {
        "critical_recall": 0.848,
        "critical_precision": 0.815,
        "hazard_recall": 0.610,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 93": {
        "critical_recall": 0.824,
        "critical_precision": 0.844,
        "hazard_recall": 0.610,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 94": {
        "critical_recall": 0.808,
        "critical_precision": 0.835,
        "hazard_recall": 0.680,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 95": {
        "critical_recall": 0.920,
        "critical_precision": 0.858,
        "hazard_recall": 0.620,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.550,
    },
    # 2026-12-06, session 17: blind rounds 96-107 (4,200 reports by twelve more authors),
    # scored once with a1c97ac's rules alone before any line was read (rules and table:
    # 0.983 / 0.880 / 0.920 / 7), kept in tools/danger_blind/ and joined the set in
    # session 18 (round 99 without its one line that repeated a report of the set).
    "holdout round 96": {
        "critical_recall": 0.824,
        "critical_precision": 0.888,
        "hazard_recall": 0.670,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.450,
    },
    "holdout round 97": {
        "critical_recall": 0.912,
        "critical_precision": 0.857,
        "hazard_recall": 0.680,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 98": {
        "critical_recall": 0.832,
        "critical_precision": 0.788,
        "hazard_recall": 0.590,
        "hazards_as_critical": 13,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 99": {
        "critical_recall": 0.856,
        "critical_precision": 0.849,
        "hazard_recall": 0.600,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 100": {
        "critical_recall": 0.784,
        "critical_precision": 0.817,
        "hazard_recall": 0.570,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 101": {
        "critical_recall": 0.880,
        "critical_precision": 0.840,
        "hazard_recall": 0.580,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 102": {
        "critical_recall": 0.816,
        "critical_precision": 0.829,
        "hazard_recall": 0.700,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 103": {
        "critical_recall": 0.928,
        "critical_precision": 0.899,
        "hazard_recall": 0.680,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 104": {
        "critical_recall": 0.752,
        "critical_precision": 0.862,
        "hazard_recall": 0.570,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 105": {
        "critical_recall": 0.864,
        "critical_precision": 0.831,
        "hazard_recall": 0.620,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 106": {
        "critical_recall": 0.800,
        "critical_precision": 0.806,
        "hazard_recall": 0.590,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 107": {
        "critical_recall": 0.840,
        "critical_precision": 0.820,
        "hazard_recall": 0.630,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.533,
    },
    # 2026-12-06, session 18: blind rounds 108-119 (4,202 reports by twelve more authors),
    # scored once with 96e21d5's rules alone before any line was read (rules and table:
    # 0.992 / 0.887 / 0.936 / 7), kept in tools/danger_blind/ and joined the set in
    # session 19 (round 110 without its one line that repeated another of its own).
    "holdout round 108": {
        "critical_recall": 0.848,
        "critical_precision": 0.862,
        "hazard_recall": 0.690,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 109": {
        "critical_recall": 0.784,
        "critical_precision": 0.899,
        "hazard_recall": 0.570,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.433,
    },
    "holdout round 110": {
        "critical_recall": 0.816,
        "critical_precision": 0.843,
        "hazard_recall": 0.620,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.593,
    },
    "holdout round 111": {
        "critical_recall": 0.864,
        "critical_precision": 0.878,
        "hazard_recall": 0.690,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 112": {
        "critical_recall": 0.824,
        "critical_precision": 0.912,
        "hazard_recall": 0.700,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 113": {
        "critical_recall": 0.768,
        "critical_precision": 0.865,
        "hazard_recall": 0.700,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.467,
    },
    "holdout round 114": {
        "critical_recall": 0.808,
        "critical_precision": 0.815,
        "hazard_recall": 0.653,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.597,
    },
    "holdout round 115": {
        "critical_recall": 0.896,
        "critical_precision": 0.911,
        "hazard_recall": 0.830,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 116": {
        "critical_recall": 0.904,
        "critical_precision": 0.876,
        "hazard_recall": 0.640,
        "hazards_as_critical": 1,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 117": {
        "critical_recall": 0.864,
        "critical_precision": 0.745,
        "hazard_recall": 0.650,
        "hazards_as_critical": 12,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 118": {
        "critical_recall": 0.824,
        "critical_precision": 0.873,
        "hazard_recall": 0.650,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 119": {
        "critical_recall": 0.928,
        "critical_precision": 0.892,
        "hazard_recall": 0.670,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.617,
    },
    # 2026-12-06, session 19: blind rounds 121-132 (4,205 reports by twelve more authors),
    # scored once with 6da72b0's rules alone before any line was read (rules and table:
    # 0.991 / 0.894 / 0.963 / 6), kept in tools/danger_blind/ and joined the set in
    # session 20 (round 125 without its one line the set already had).
    "holdout round 121": {
        "critical_recall": 0.864,
        "critical_precision": 0.900,
        "hazard_recall": 0.700,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.500,
    },
    "holdout round 122": {
        "critical_recall": 0.888,
        "critical_precision": 0.902,
        "hazard_recall": 0.820,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 123": {
        "critical_recall": 0.840,
        "critical_precision": 0.868,
        "hazard_recall": 0.700,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 124": {
        "critical_recall": 0.856,
        "critical_precision": 0.863,
        "hazard_recall": 0.650,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.556,
    },
    "holdout round 125": {
        "critical_recall": 0.872,
        "critical_precision": 0.879,
        "hazard_recall": 0.730,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 126": {
        "critical_recall": 0.864,
        "critical_precision": 0.750,
        "hazard_recall": 0.600,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 127": {
        "critical_recall": 0.896,
        "critical_precision": 0.842,
        "hazard_recall": 0.750,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 128": {
        "critical_recall": 0.896,
        "critical_precision": 0.926,
        "hazard_recall": 0.790,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 129": {
        "critical_recall": 0.912,
        "critical_precision": 0.891,
        "hazard_recall": 0.750,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 130": {
        "critical_recall": 0.824,
        "critical_precision": 0.824,
        "hazard_recall": 0.590,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 131": {
        "critical_recall": 0.792,
        "critical_precision": 0.811,
        "hazard_recall": 0.570,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 132": {
        "critical_recall": 0.856,
        "critical_precision": 0.915,
        "hazard_recall": 0.700,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.517,
    },
    # 2026-12-06, session 20: blind rounds 133-144 (4,202 reports by twelve more authors),
    # scored once with 492a901's rules alone before any line was read (rules and table:
    # 0.993 / 0.870 / 0.911 / 6), kept in tools/danger_blind/ and joined the set in
    # session 21 (rounds 133, 139 and 142 without their one line the set already had).
    "holdout round 133": {
        "critical_recall": 0.840,
        "critical_precision": 0.847,
        "hazard_recall": 0.610,
        "hazards_as_critical": 1,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 134": {
        "critical_recall": 0.921,
        "critical_precision": 0.859,
        "hazard_recall": 0.694,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.550,
    },
    "holdout round 135": {
        "critical_recall": 0.872,
        "critical_precision": 0.879,
        "hazard_recall": 0.680,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 136": {
        "critical_recall": 0.840,
        "critical_precision": 0.814,
        "hazard_recall": 0.650,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 137": {
        "critical_recall": 0.880,
        "critical_precision": 0.880,
        "hazard_recall": 0.710,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 138": {
        "critical_recall": 0.808,
        "critical_precision": 0.863,
        "hazard_recall": 0.720,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 139": {
        "critical_recall": 0.880,
        "critical_precision": 0.909,
        "hazard_recall": 0.660,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 140": {
        "critical_recall": 0.824,
        "critical_precision": 0.888,
        "hazard_recall": 0.650,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.550,
    },
    "holdout round 141": {
        "critical_recall": 0.864,
        "critical_precision": 0.923,
        "hazard_recall": 0.700,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 142": {
        "critical_recall": 0.800,
        "critical_precision": 0.893,
        "hazard_recall": 0.650,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 143": {
        "critical_recall": 0.832,
        "critical_precision": 0.839,
        "hazard_recall": 0.620,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.435,
    },
    "holdout round 144": {
        "critical_recall": 0.832,
        "critical_precision": 0.852,
        "hazard_recall": 0.630,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.517,
    },
    # 2026-12-07, session 21: blind rounds 145-156 (4,200 reports by twelve more authors),
    # scored once with 53ada28's rules alone before any line was read (rules and table:
    # 0.991 / 0.887 / 0.936 / 10), kept in tools/danger_blind/ and joined the set in
    # session 22 (no line the set already had).
    "holdout round 145": {
        "critical_recall": 0.856,
        "critical_precision": 0.817,
        "hazard_recall": 0.760,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 146": {
        "critical_recall": 0.864,
        "critical_precision": 0.837,
        "hazard_recall": 0.690,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.867,
    },
    "holdout round 147": {
        "critical_recall": 0.776,
        "critical_precision": 0.815,
        "hazard_recall": 0.740,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 148": {
        "critical_recall": 0.800,
        "critical_precision": 0.840,
        "hazard_recall": 0.610,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 149": {
        "critical_recall": 0.880,
        "critical_precision": 0.887,
        "hazard_recall": 0.720,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.600,
    },
    "holdout round 150": {
        "critical_recall": 0.904,
        "critical_precision": 0.831,
        "hazard_recall": 0.690,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 151": {
        "critical_recall": 0.824,
        "critical_precision": 0.873,
        "hazard_recall": 0.670,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 152": {
        "critical_recall": 0.920,
        "critical_precision": 0.891,
        "hazard_recall": 0.620,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 153": {
        "critical_recall": 0.872,
        "critical_precision": 0.872,
        "hazard_recall": 0.680,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 154": {
        "critical_recall": 0.872,
        "critical_precision": 0.893,
        "hazard_recall": 0.770,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 155": {
        "critical_recall": 0.856,
        "critical_precision": 0.863,
        "hazard_recall": 0.740,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 156": {
        "critical_recall": 0.832,
        "critical_precision": 0.881,
        "hazard_recall": 0.670,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.683,
    },
    # 2026-12-07, session 22: blind rounds 157-168 (4,200 reports by twelve more authors),
    # scored once with c98a205's rules alone before any line was read (c98a205's rules
    # with 53ada28's table: 0.987 / 0.912 / 0.952 / 5), joined the set the same session
    # (round 167 without its one line the set already had).
    "holdout round 157": {
        "critical_recall": 0.824,
        "critical_precision": 0.904,
        "hazard_recall": 0.730,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 158": {
        "critical_recall": 0.840,
        "critical_precision": 0.905,
        "hazard_recall": 0.670,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 159": {
        "critical_recall": 0.880,
        "critical_precision": 0.894,
        "hazard_recall": 0.700,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 160": {
        "critical_recall": 0.896,
        "critical_precision": 0.862,
        "hazard_recall": 0.720,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 161": {
        "critical_recall": 0.856,
        "critical_precision": 0.870,
        "hazard_recall": 0.720,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 162": {
        "critical_recall": 0.840,
        "critical_precision": 0.854,
        "hazard_recall": 0.620,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 163": {
        "critical_recall": 0.888,
        "critical_precision": 0.874,
        "hazard_recall": 0.730,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 164": {
        "critical_recall": 0.824,
        "critical_precision": 0.817,
        "hazard_recall": 0.700,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 165": {
        "critical_recall": 0.840,
        "critical_precision": 0.882,
        "hazard_recall": 0.670,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 166": {
        "critical_recall": 0.768,
        "critical_precision": 0.842,
        "hazard_recall": 0.840,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 167": {
        "critical_recall": 0.872,
        "critical_precision": 0.916,
        "hazard_recall": 0.690,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 168": {
        "critical_recall": 0.808,
        "critical_precision": 0.902,
        "hazard_recall": 0.710,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.667,
    },
    # 2026-12-07, session 22: blind rounds 169-180 (4,200 reports by twelve more authors),
    # scored once with 00fccc2's rules alone before any line was read (00fccc2's rules and
    # table: 0.991 / 0.904 / 0.962 / 7); joined the set in session 23.
    "holdout round 169": {
        "critical_recall": 0.848,
        "critical_precision": 0.869,
        "hazard_recall": 0.630,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 170": {
        "critical_recall": 0.800,
        "critical_precision": 0.877,
        "hazard_recall": 0.730,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 171": {
        "critical_recall": 0.896,
        "critical_precision": 0.889,
        "hazard_recall": 0.700,
        "hazards_as_critical": 1,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 172": {
        "critical_recall": 0.888,
        "critical_precision": 0.867,
        "hazard_recall": 0.700,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 173": {
        "critical_recall": 0.848,
        "critical_precision": 0.876,
        "hazard_recall": 0.740,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 174": {
        "critical_recall": 0.848,
        "critical_precision": 0.848,
        "hazard_recall": 0.740,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 175": {
        "critical_recall": 0.832,
        "critical_precision": 0.881,
        "hazard_recall": 0.630,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 176": {
        "critical_recall": 0.896,
        "critical_precision": 0.911,
        "hazard_recall": 0.730,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 177": {
        "critical_recall": 0.864,
        "critical_precision": 0.818,
        "hazard_recall": 0.690,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 178": {
        "critical_recall": 0.848,
        "critical_precision": 0.809,
        "hazard_recall": 0.710,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 179": {
        "critical_recall": 0.896,
        "critical_precision": 0.842,
        "hazard_recall": 0.750,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 180": {
        "critical_recall": 0.776,
        "critical_precision": 0.843,
        "hazard_recall": 0.720,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.767,
    },
    # 2026-12-07, session 23: blind rounds 181-192 (4,200 reports by twelve more authors),
    # scored once with e0e072d's rules alone before any line was read (e0e072d's rules and
    # table: 0.996 / 0.909 / 0.963 / 6); joined the set in session 24.
    "holdout round 181": {
        "critical_recall": 0.856,
        "critical_precision": 0.863,
        "hazard_recall": 0.630,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 182": {
        "critical_recall": 0.808,
        "critical_precision": 0.871,
        "hazard_recall": 0.740,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 183": {
        "critical_recall": 0.864,
        "critical_precision": 0.818,
        "hazard_recall": 0.670,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 184": {
        "critical_recall": 0.848,
        "critical_precision": 0.855,
        "hazard_recall": 0.690,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 185": {
        "critical_recall": 0.904,
        "critical_precision": 0.850,
        "hazard_recall": 0.770,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.800,
    },
    "holdout round 186": {
        "critical_recall": 0.792,
        "critical_precision": 0.868,
        "hazard_recall": 0.680,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 187": {
        "critical_recall": 0.928,
        "critical_precision": 0.879,
        "hazard_recall": 0.770,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 188": {
        "critical_recall": 0.824,
        "critical_precision": 0.851,
        "hazard_recall": 0.750,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 189": {
        "critical_recall": 0.864,
        "critical_precision": 0.893,
        "hazard_recall": 0.770,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 190": {
        "critical_recall": 0.896,
        "critical_precision": 0.882,
        "hazard_recall": 0.800,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 191": {
        "critical_recall": 0.888,
        "critical_precision": 0.867,
        "hazard_recall": 0.760,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.767,
    },
    "holdout round 192": {
        "critical_recall": 0.912,
        "critical_precision": 0.912,
        "hazard_recall": 0.620,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.667,
    },
    # 2026-12-07, session 24: blind rounds 193-204 (4,200 reports by twelve more authors),
    # scored once with 9505617's rules alone before any line was read (9505617's rules and
    # table: 0.994 / 0.914 / 0.964 / 6); joined the set in session 25 (round 199 less one
    # routine text the set already held).
    "holdout round 193": {
        "critical_recall": 0.848,
        "critical_precision": 0.891,
        "hazard_recall": 0.650,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 194": {
        "critical_recall": 0.816,
        "critical_precision": 0.879,
        "hazard_recall": 0.690,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 195": {
        "critical_recall": 0.888,
        "critical_precision": 0.902,
        "hazard_recall": 0.750,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 196": {
        "critical_recall": 0.888,
        "critical_precision": 0.933,
        "hazard_recall": 0.740,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 197": {
        "critical_recall": 0.856,
        "critical_precision": 0.877,
        "hazard_recall": 0.710,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 198": {
        "critical_recall": 0.856,
        "critical_precision": 0.799,
        "hazard_recall": 0.660,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.767,
    },
    "holdout round 199": {
        "critical_recall": 0.864,
        "critical_precision": 0.871,
        "hazard_recall": 0.770,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 200": {
        "critical_recall": 0.800,
        "critical_precision": 0.855,
        "hazard_recall": 0.710,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 201": {
        "critical_recall": 0.800,
        "critical_precision": 0.877,
        "hazard_recall": 0.650,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 202": {
        "critical_recall": 0.872,
        "critical_precision": 0.858,
        "hazard_recall": 0.690,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 203": {
        "critical_recall": 0.832,
        "critical_precision": 0.897,
        "hazard_recall": 0.790,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 204": {
        "critical_recall": 0.912,
        "critical_precision": 0.832,
        "hazard_recall": 0.600,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.733,
    },
    # 2026-12-07, session 24: blind rounds 205-216, scored once with 305e995's rules alone
    # before any line was read (305e995's rules, 9505617's table: 0.995 / 0.923 / 0.968 /
    # 4); joined the set in session 25.
    "holdout round 205": {
        "critical_recall": 0.872,
        "critical_precision": 0.901,
        "hazard_recall": 0.560,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 206": {
        "critical_recall": 0.880,
        "critical_precision": 0.917,
        "hazard_recall": 0.830,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 207": {
        "critical_recall": 0.792,
        "critical_precision": 0.868,
        "hazard_recall": 0.680,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 208": {
        "critical_recall": 0.792,
        "critical_precision": 0.853,
        "hazard_recall": 0.750,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 209": {
        "critical_recall": 0.888,
        "critical_precision": 0.881,
        "hazard_recall": 0.670,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 210": {
        "critical_recall": 0.848,
        "critical_precision": 0.914,
        "hazard_recall": 0.710,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 211": {
        "critical_recall": 0.840,
        "critical_precision": 0.890,
        "hazard_recall": 0.780,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 212": {
        "critical_recall": 0.800,
        "critical_precision": 0.870,
        "hazard_recall": 0.700,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.817,
    },
    "holdout round 213": {
        "critical_recall": 0.832,
        "critical_precision": 0.904,
        "hazard_recall": 0.670,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 214": {
        "critical_recall": 0.840,
        "critical_precision": 0.868,
        "hazard_recall": 0.700,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 215": {
        "critical_recall": 0.824,
        "critical_precision": 0.831,
        "hazard_recall": 0.760,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.767,
    },
    "holdout round 216": {
        "critical_recall": 0.880,
        "critical_precision": 0.859,
        "hazard_recall": 0.680,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.650,
    },
    # 2026-12-07, session 25: blind rounds 217-228 (4,200 reports by twelve more authors),
    # scored once with 32752b3's rules alone before any line was read (32752b3's rules and
    # table: 0.995 / 0.908 / 0.977 / 6); joined the set in session 26 (rounds 225 and 226
    # less one text each the set already held).
    "holdout round 217": {
        "critical_recall": 0.864,
        "critical_precision": 0.871,
        "hazard_recall": 0.790,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 218": {
        "critical_recall": 0.760,
        "critical_precision": 0.856,
        "hazard_recall": 0.660,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 219": {
        "critical_recall": 0.880,
        "critical_precision": 0.866,
        "hazard_recall": 0.700,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 220": {
        "critical_recall": 0.864,
        "critical_precision": 0.788,
        "hazard_recall": 0.650,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 221": {
        "critical_recall": 0.816,
        "critical_precision": 0.829,
        "hazard_recall": 0.680,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 222": {
        "critical_recall": 0.880,
        "critical_precision": 0.859,
        "hazard_recall": 0.670,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 223": {
        "critical_recall": 0.872,
        "critical_precision": 0.872,
        "hazard_recall": 0.750,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 224": {
        "critical_recall": 0.808,
        "critical_precision": 0.828,
        "hazard_recall": 0.720,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.833,
    },
    "holdout round 225": {
        "critical_recall": 0.864,
        "critical_precision": 0.831,
        "hazard_recall": 0.710,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 226": {
        "critical_recall": 0.848,
        "critical_precision": 0.906,
        "hazard_recall": 0.770,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.500,
    },
    "holdout round 227": {
        "critical_recall": 0.880,
        "critical_precision": 0.827,
        "hazard_recall": 0.650,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 228": {
        "critical_recall": 0.832,
        "critical_precision": 0.889,
        "hazard_recall": 0.670,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.700,
    },
    # 2026-12-07, session 25: blind rounds 229-240, scored once with cd1333e's rules alone
    # before any line was read (cd1333e's rules and table: 0.995 / 0.914 / 0.972 / 2);
    # joined the set in session 26.
    "holdout round 229": {
        "critical_recall": 0.864,
        "critical_precision": 0.824,
        "hazard_recall": 0.690,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 230": {
        "critical_recall": 0.848,
        "critical_precision": 0.898,
        "hazard_recall": 0.750,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 231": {
        "critical_recall": 0.904,
        "critical_precision": 0.919,
        "hazard_recall": 0.740,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 232": {
        "critical_recall": 0.904,
        "critical_precision": 0.883,
        "hazard_recall": 0.630,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.550,
    },
    "holdout round 233": {
        "critical_recall": 0.864,
        "critical_precision": 0.806,
        "hazard_recall": 0.620,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 234": {
        "critical_recall": 0.824,
        "critical_precision": 0.824,
        "hazard_recall": 0.720,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 235": {
        "critical_recall": 0.864,
        "critical_precision": 0.878,
        "hazard_recall": 0.790,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.867,
    },
    "holdout round 236": {
        "critical_recall": 0.840,
        "critical_precision": 0.802,
        "hazard_recall": 0.700,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 237": {
        "critical_recall": 0.880,
        "critical_precision": 0.909,
        "hazard_recall": 0.620,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 238": {
        "critical_recall": 0.872,
        "critical_precision": 0.872,
        "hazard_recall": 0.740,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 239": {
        "critical_recall": 0.848,
        "critical_precision": 0.876,
        "hazard_recall": 0.630,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 240": {
        "critical_recall": 0.816,
        "critical_precision": 0.887,
        "hazard_recall": 0.690,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.617,
    },
    # 2026-12-07, session 26: blind rounds 241-252 (4,200 reports by twelve more authors),
    # scored once with 4acd6da's rules alone before any line was read (4acd6da's rules and
    # table: 0.996 / 0.923 / 0.979 / 2); joined the set in session 27.
    "holdout round 241": {
        "critical_recall": 0.896,
        "critical_precision": 0.862,
        "hazard_recall": 0.790,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 242": {
        "critical_recall": 0.840,
        "critical_precision": 0.890,
        "hazard_recall": 0.650,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 243": {
        "critical_recall": 0.840,
        "critical_precision": 0.861,
        "hazard_recall": 0.640,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 244": {
        "critical_recall": 0.896,
        "critical_precision": 0.824,
        "hazard_recall": 0.690,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 245": {
        "critical_recall": 0.896,
        "critical_precision": 0.896,
        "hazard_recall": 0.780,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 246": {
        "critical_recall": 0.872,
        "critical_precision": 0.932,
        "hazard_recall": 0.730,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 247": {
        "critical_recall": 0.840,
        "critical_precision": 0.882,
        "hazard_recall": 0.720,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 248": {
        "critical_recall": 0.856,
        "critical_precision": 0.907,
        "hazard_recall": 0.790,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 249": {
        "critical_recall": 0.856,
        "critical_precision": 0.829,
        "hazard_recall": 0.720,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 250": {
        "critical_recall": 0.816,
        "critical_precision": 0.850,
        "hazard_recall": 0.740,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 251": {
        "critical_recall": 0.880,
        "critical_precision": 0.894,
        "hazard_recall": 0.770,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 252": {
        "critical_recall": 0.824,
        "critical_precision": 0.880,
        "hazard_recall": 0.720,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.550,
    },
    # 2026-12-07, session 26: blind rounds 253-264, scored once with ee3c593's rules alone
    # before any line was read (ee3c593's rules and 4acd6da's table: 0.997 / 0.909 / 0.978
    # / 1); joined the set in session 27.
    "holdout round 253": {
        "critical_recall": 0.888,
        "critical_precision": 0.835,
        "hazard_recall": 0.780,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.767,
    },
    "holdout round 254": {
        "critical_recall": 0.864,
        "critical_precision": 0.812,
        "hazard_recall": 0.720,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.767,
    },
    "holdout round 255": {
        "critical_recall": 0.904,
        "critical_precision": 0.926,
        "hazard_recall": 0.770,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 256": {
        "critical_recall": 0.816,
        "critical_precision": 0.911,
        "hazard_recall": 0.760,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 257": {
        "critical_recall": 0.848,
        "critical_precision": 0.855,
        "hazard_recall": 0.760,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.633,
    },
    "holdout round 258": {
        "critical_recall": 0.792,
        "critical_precision": 0.884,
        "hazard_recall": 0.620,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 259": {
        "critical_recall": 0.904,
        "critical_precision": 0.850,
        "hazard_recall": 0.760,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 260": {
        "critical_recall": 0.928,
        "critical_precision": 0.885,
        "hazard_recall": 0.730,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 261": {
        "critical_recall": 0.848,
        "critical_precision": 0.862,
        "hazard_recall": 0.760,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 262": {
        "critical_recall": 0.848,
        "critical_precision": 0.828,
        "hazard_recall": 0.710,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 263": {
        "critical_recall": 0.872,
        "critical_precision": 0.916,
        "hazard_recall": 0.720,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.583,
    },
    "holdout round 264": {
        "critical_recall": 0.880,
        "critical_precision": 0.859,
        "hazard_recall": 0.700,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.700,
    },
    # 2026-12-07, session 27: blind rounds 265-276 (4,200 reports by twelve more authors),
    # scored once with 86e921c's rules alone before any line was read (86e921c's rules and
    # table: 0.997 / 0.907 / 0.968 / 4); joined the set in session 28 (round 265 less one
    # routine text the set already held).
    "holdout round 265": {
        "critical_recall": 0.848,
        "critical_precision": 0.848,
        "hazard_recall": 0.820,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 266": {
        "critical_recall": 0.888,
        "critical_precision": 0.874,
        "hazard_recall": 0.710,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 267": {
        "critical_recall": 0.832,
        "critical_precision": 0.812,
        "hazard_recall": 0.700,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 268": {
        "critical_recall": 0.896,
        "critical_precision": 0.806,
        "hazard_recall": 0.610,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 269": {
        "critical_recall": 0.856,
        "critical_precision": 0.884,
        "hazard_recall": 0.770,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 270": {
        "critical_recall": 0.888,
        "critical_precision": 0.888,
        "hazard_recall": 0.680,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 271": {
        "critical_recall": 0.872,
        "critical_precision": 0.879,
        "hazard_recall": 0.670,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 272": {
        "critical_recall": 0.896,
        "critical_precision": 0.882,
        "hazard_recall": 0.730,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 273": {
        "critical_recall": 0.904,
        "critical_precision": 0.919,
        "hazard_recall": 0.630,
        "hazards_as_critical": 1,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 274": {
        "critical_recall": 0.832,
        "critical_precision": 0.812,
        "hazard_recall": 0.610,
        "hazards_as_critical": 12,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 275": {
        "critical_recall": 0.840,
        "critical_precision": 0.905,
        "hazard_recall": 0.730,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 276": {
        "critical_recall": 0.832,
        "critical_precision": 0.860,
        "hazard_recall": 0.740,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.650,
    },
    # 2026-12-07, session 28: blind rounds 277-288 (4,200 reports by twelve more authors),
    # scored once with 026c9ee's rules alone before any line was read (026c9ee's rules and
    # table: 0.996 / 0.917 / 0.982 / 1); joined the set in session 29.
    "holdout round 277": {
        "critical_recall": 0.888,
        "critical_precision": 0.828,
        "hazard_recall": 0.690,
        "hazards_as_critical": 12,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 278": {
        "critical_recall": 0.888,
        "critical_precision": 0.867,
        "hazard_recall": 0.750,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 279": {
        "critical_recall": 0.840,
        "critical_precision": 0.847,
        "hazard_recall": 0.660,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 280": {
        "critical_recall": 0.888,
        "critical_precision": 0.910,
        "hazard_recall": 0.780,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 281": {
        "critical_recall": 0.872,
        "critical_precision": 0.916,
        "hazard_recall": 0.690,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 282": {
        "critical_recall": 0.792,
        "critical_precision": 0.900,
        "hazard_recall": 0.790,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 283": {
        "critical_recall": 0.856,
        "critical_precision": 0.843,
        "hazard_recall": 0.750,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 284": {
        "critical_recall": 0.880,
        "critical_precision": 0.887,
        "hazard_recall": 0.740,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 285": {
        "critical_recall": 0.800,
        "critical_precision": 0.847,
        "hazard_recall": 0.780,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.850,
    },
    "holdout round 286": {
        "critical_recall": 0.872,
        "critical_precision": 0.865,
        "hazard_recall": 0.700,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 287": {
        "critical_recall": 0.880,
        "critical_precision": 0.873,
        "hazard_recall": 0.710,
        "hazards_as_critical": 2,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 288": {
        "critical_recall": 0.824,
        "critical_precision": 0.851,
        "hazard_recall": 0.740,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.667,
    },
    # 2026-12-08, session 29: blind rounds 289-300 (4,200 reports by twelve more authors),
    # scored once with d9fd398's rules alone before any line was read (d9fd398's rules and
    # table: 0.993 / 0.924 / 0.985 / 1); joined the set in session 30.
    "holdout round 289": {
        "critical_recall": 0.864,
        "critical_precision": 0.864,
        "hazard_recall": 0.710,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.733,
    },
    "holdout round 290": {
        "critical_recall": 0.888,
        "critical_precision": 0.881,
        "hazard_recall": 0.700,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.617,
    },
    "holdout round 291": {
        "critical_recall": 0.856,
        "critical_precision": 0.793,
        "hazard_recall": 0.670,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.750,
    },
    "holdout round 292": {
        "critical_recall": 0.848,
        "critical_precision": 0.883,
        "hazard_recall": 0.770,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 293": {
        "critical_recall": 0.840,
        "critical_precision": 0.861,
        "hazard_recall": 0.760,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.783,
    },
    "holdout round 294": {
        "critical_recall": 0.872,
        "critical_precision": 0.886,
        "hazard_recall": 0.750,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.533,
    },
    "holdout round 295": {
        "critical_recall": 0.856,
        "critical_precision": 0.870,
        "hazard_recall": 0.680,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 296": {
        "critical_recall": 0.880,
        "critical_precision": 0.894,
        "hazard_recall": 0.720,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 297": {
        "critical_recall": 0.864,
        "critical_precision": 0.850,
        "hazard_recall": 0.720,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 298": {
        "critical_recall": 0.848,
        "critical_precision": 0.841,
        "hazard_recall": 0.680,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 299": {
        "critical_recall": 0.856,
        "critical_precision": 0.877,
        "hazard_recall": 0.690,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.667,
    },
    "holdout round 300": {
        "critical_recall": 0.864,
        "critical_precision": 0.871,
        "hazard_recall": 0.700,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.683,
    },
    # 2026-12-08, session 30: blind rounds 301-312 (4,200 reports by twelve more authors),
    # scored once with 2b86830's rules alone before any line was read (2b86830's rules and
    # table: 0.993 / 0.918 / 0.977 / 5); joined the set in session 31.
    "holdout round 301": {
        "critical_recall": 0.856,
        "critical_precision": 0.856,
        "hazard_recall": 0.640,
        "hazards_as_critical": 9,
        "urgent_on_wall_clock": 0.683,
    },
    "holdout round 302": {
        "critical_recall": 0.856,
        "critical_precision": 0.892,
        "hazard_recall": 0.690,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 303": {
        "critical_recall": 0.776,
        "critical_precision": 0.866,
        "hazard_recall": 0.700,
        "hazards_as_critical": 3,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 304": {
        "critical_recall": 0.808,
        "critical_precision": 0.835,
        "hazard_recall": 0.730,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.700,
    },
    "holdout round 305": {
        "critical_recall": 0.832,
        "critical_precision": 0.867,
        "hazard_recall": 0.750,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 306": {
        "critical_recall": 0.832,
        "critical_precision": 0.825,
        "hazard_recall": 0.730,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.800,
    },
    "holdout round 307": {
        "critical_recall": 0.856,
        "critical_precision": 0.870,
        "hazard_recall": 0.660,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 308": {
        "critical_recall": 0.872,
        "critical_precision": 0.872,
        "hazard_recall": 0.710,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.567,
    },
    "holdout round 309": {
        "critical_recall": 0.816,
        "critical_precision": 0.872,
        "hazard_recall": 0.730,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 310": {
        "critical_recall": 0.760,
        "critical_precision": 0.826,
        "hazard_recall": 0.680,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.650,
    },
    "holdout round 311": {
        "critical_recall": 0.880,
        "critical_precision": 0.859,
        "hazard_recall": 0.700,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.717,
    },
    "holdout round 312": {
        "critical_recall": 0.872,
        "critical_precision": 0.865,
        "hazard_recall": 0.730,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.667,
    },
}


@pytest.mark.parametrize("name", sorted(BLIND_FIRST_SCORES))
def test_a_blind_round_never_falls_below_its_first_score(
    figures: dict[str, Figures], name: str
) -> None:
    _never_below(figures[name], BLIND_FIRST_SCORES[name])


def _never_below(part: Figures, first: dict[str, float]) -> None:
    """A part's rules-alone figures against its first score, a hundredth of slack."""
    assert part.critical_recall >= first["critical_recall"] - 0.01
    assert part.critical_precision >= first["critical_precision"] - 0.01
    assert part.hazard_recall >= first["hazard_recall"] - 0.01
    assert part.hazards_as_critical <= first["hazards_as_critical"]
    assert part.urgent_on_wall_clock >= first["urgent_on_wall_clock"] - 0.01


@pytest.mark.parametrize(
    "name",
    [
        WORKED_ON_TUNE,
        "tune round 5",
        "tune round 8",
        "tune round 10",
        "holdout round 1",
        "holdout round 2",
        "holdout round 3",
        "holdout round 4",
    ],
)
def test_each_part_stays_near_its_measured_figures(figures: dict[str, Figures], name: str) -> None:
    # Floors a little below docs/classification.md's figures, so that a lexicon change
    # that loses one part while winning another shows here.
    part = figures[name]
    assert part.critical_recall >= 0.94
    assert part.critical_precision >= 0.9
    assert part.hazard_recall >= 0.95
    assert part.hazards_as_critical <= (1 if name == WORKED_ON_TUNE else 0)


# The rules alone on the training rounds, scored once before they were added to the set
# (2026-12-05, session 10's rules; docs/classification.md, "Tune rounds 12, 13 and 14"):
# text the lexicon had not seen, like a blind round's first score. Floors just under.
TRAINING_FIRST_SCORES: dict[str, dict[str, float]] = {
    "tune round 12": {
        "critical_recall": 0.850,
        "critical_precision": 0.777,
        "hazard_recall": 0.510,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.629,
    },
    "tune round 13": {
        "critical_recall": 0.829,
        "critical_precision": 0.800,
        "hazard_recall": 0.667,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.618,
    },
    "tune round 14": {
        "critical_recall": 0.787,
        "critical_precision": 0.719,
        "hazard_recall": 0.381,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.554,
    },
    "tune round 17": {
        "critical_recall": 0.835,
        "critical_precision": 0.741,
        "hazard_recall": 0.542,
        "hazards_as_critical": 11,
        "urgent_on_wall_clock": 0.603,
    },
    "tune round 18": {
        "critical_recall": 0.811,
        "critical_precision": 0.798,
        "hazard_recall": 0.604,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.516,
    },
    # Urgent on a wall clock read 0.607 (37 of 61) scored alone and 0.590 (36) in the full
    # suite until session 11: one jieba dictionary was shared by every keyword list of
    # the process, so a test that loaded other keywords changed how later ones segmented.
    # Each rules bundle now segments with its own keywords (classify.keyword_dictionary).
    "tune round 19": {
        "critical_recall": 0.770,
        "critical_precision": 0.789,
        "hazard_recall": 0.475,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.607,
    },
    "tune round 20": {
        "critical_recall": 0.831,
        "critical_precision": 0.683,
        "hazard_recall": 0.620,
        "hazards_as_critical": 19,
        "urgent_on_wall_clock": 0.395,
    },
    "tune round 21": {
        "critical_recall": 0.831,
        "critical_precision": 0.771,
        "hazard_recall": 0.580,
        "hazards_as_critical": 8,
        "urgent_on_wall_clock": 0.641,
    },
    "tune round 22": {
        "critical_recall": 0.896,
        "critical_precision": 0.774,
        "hazard_recall": 0.634,
        "hazards_as_critical": 6,
        "urgent_on_wall_clock": 0.613,
    },
    # Session 11: hazards told with the words of the event they fear, beside their
    # incident twins (28); inspection findings (29); camera and sensor alarms (30);
    # incidents under way told with the risk they carry (有爆炸危险), beside their hazard
    # twins (31).
    "tune round 28": {
        "critical_recall": 0.901,
        "critical_precision": 0.758,
        "hazard_recall": 0.728,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.688,
    },
    "tune round 29": {
        "critical_recall": 0.860,
        "critical_precision": 0.782,
        "hazard_recall": 0.613,
        "hazards_as_critical": 5,
        "urgent_on_wall_clock": 0.705,
    },
    "tune round 30": {
        "critical_recall": 0.820,
        "critical_precision": 0.739,
        "hazard_recall": 0.505,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.613,
    },
    "tune round 31": {
        "critical_recall": 0.691,
        "critical_precision": 0.766,
        "hazard_recall": 0.748,
        "hazards_as_critical": 4,
        "urgent_on_wall_clock": 0.613,
    },
    # Session 12: bare conditions told as hazards (39), machine alerts (40), the border
    # between hazard and incident told with the same words (41); the rules' first score.
    "tune round 39": {
        "critical_recall": 0.841,
        "critical_precision": 0.785,
        "hazard_recall": 0.395,
        "hazards_as_critical": 10,
        "urgent_on_wall_clock": 0.516,
    },
    "tune round 40": {
        "critical_recall": 0.803,
        "critical_precision": 0.748,
        "hazard_recall": 0.570,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.647,
    },
    "tune round 41": {
        "critical_recall": 0.849,
        "critical_precision": 0.738,
        "hazard_recall": 0.688,
        "hazards_as_critical": 7,
        "urgent_on_wall_clock": 0.689,
    },
}


@pytest.mark.parametrize("name", sorted(TRAINING_FIRST_SCORES))
def test_a_training_round_never_falls_below_the_rules_first_score(
    figures: dict[str, Figures], name: str
) -> None:
    _never_below(figures[name], TRAINING_FIRST_SCORES[name])


# The shipped table was trained on every part of the set, so these figures say what it
# has seen, not how it reads new text: that is the leave-one-round-out table
# (docs/classification.md, "The learned second opinion (shipped)") and each blind round's
# first score. The model is asked about every report and vetoes a reading that names an
# event in the text's own words only when very sure (veto_over_event), so even on what it
# saw a few hazards stay critical. Floors just under the figures the shipped table
# reached (2026-12-06, session 14: C = 64, trained with every tune round and blind rounds
# 6-62 after their first score, thresholds chosen by leave one round out over 35
# blind rounds, a doubtful critical reading checked by the duty room first): critical
# recall, critical precision, hazards as hazards, most hazards routed as critical.
SHIPPED_FLOORS: dict[str, tuple[float, float, float, int]] = {
    "tune": (0.99, 0.87, 0.99, 2),
    "tune round 5": (0.99, 0.92, 0.99, 0),
    "tune round 8": (0.99, 0.98, 0.99, 0),
    "tune round 10": (0.99, 0.99, 0.99, 0),
    "tune round 12": (0.99, 0.85, 0.99, 0),
    "tune round 13": (0.99, 0.89, 0.99, 0),
    "tune round 14": (0.98, 0.81, 0.96, 1),
    "tune round 17": (0.99, 0.85, 0.99, 0),
    "tune round 18": (0.99, 0.87, 0.98, 0),
    "tune round 19": (0.99, 0.86, 0.99, 0),
    "tune round 20": (0.99, 0.88, 0.99, 0),
    "tune round 21": (0.99, 0.88, 0.98, 0),
    "tune round 22": (0.99, 0.84, 0.99, 0),
    "tune round 23": (0.99, 0.99, 0.99, 0),
    "tune round 28": (0.99, 0.88, 0.99, 1),
    "tune round 29": (0.99, 0.87, 0.99, 0),
    "tune round 30": (0.99, 0.83, 0.99, 0),
    "tune round 31": (0.98, 0.87, 0.99, 0),
    "tune round 39": (0.99, 0.86, 0.97, 0),
    "tune round 40": (0.99, 0.83, 0.99, 0),
    "tune round 41": (0.99, 0.85, 0.98, 0),
    "tune round 120": (0.99, 0.98, 0.99, 0),
    "holdout round 1": (0.99, 0.96, 0.99, 0),
    "holdout round 2": (0.99, 0.98, 0.99, 0),
    "holdout round 3": (0.99, 0.97, 0.99, 0),
    "holdout round 4": (0.99, 0.95, 0.99, 0),
    "holdout round 6": (0.99, 0.89, 0.99, 0),
    "holdout round 7": (0.99, 0.9, 0.99, 0),
    "holdout round 9": (0.99, 0.86, 0.99, 0),
    "holdout round 11": (0.99, 0.89, 0.99, 0),
    "holdout round 15": (0.99, 0.86, 0.99, 0),
    "holdout round 16": (0.99, 0.86, 0.99, 0),
    "holdout round 24": (0.99, 0.86, 0.97, 0),
    "holdout round 25": (0.99, 0.87, 0.99, 0),
    "holdout round 26": (0.99, 0.89, 0.98, 0),
    "holdout round 27": (0.99, 0.83, 0.98, 0),
    "holdout round 32": (0.99, 0.88, 0.99, 0),
    "holdout round 33": (0.99, 0.91, 0.99, 0),
    "holdout round 34": (0.99, 0.82, 0.98, 1),
    "holdout round 35": (0.99, 0.87, 0.98, 0),
    "holdout round 36": (0.99, 0.88, 0.98, 0),
    "holdout round 37": (0.99, 0.89, 0.99, 0),
    "holdout round 38": (0.99, 0.86, 0.98, 0),
    "holdout round 42": (0.99, 0.86, 0.97, 0),
    "holdout round 43": (0.99, 0.87, 0.98, 1),
    "holdout round 44": (0.99, 0.87, 0.98, 0),
    "holdout round 45": (0.99, 0.88, 0.99, 0),
    "holdout round 46": (0.99, 0.88, 0.99, 0),
    "holdout round 47": (0.99, 0.88, 0.98, 0),
    "holdout round 48": (0.99, 0.89, 0.99, 0),
    "holdout round 49": (0.99, 0.9, 0.99, 0),
    "holdout round 50": (0.99, 0.85, 0.99, 0),
    "holdout round 51": (0.96, 0.81, 0.96, 1),
    "holdout round 52": (0.99, 0.92, 0.99, 0),
    "holdout round 53": (0.99, 0.9, 0.99, 0),
    "holdout round 57": (0.99, 0.93, 0.99, 0),
    "holdout round 58": (0.99, 0.91, 0.99, 0),
    "holdout round 59": (0.99, 0.88, 0.99, 0),
    "holdout round 60": (0.99, 0.96, 0.99, 0),
    "holdout round 61": (0.99, 0.94, 0.99, 0),
    "holdout round 62": (0.99, 0.89, 0.99, 0),
    "holdout round 63": (0.99, 0.95, 0.99, 0),
    "holdout round 64": (0.99, 0.96, 0.99, 0),
    "holdout round 65": (0.99, 0.95, 0.99, 0),
    "holdout round 66": (0.99, 0.86, 0.99, 0),
    "holdout round 67": (0.99, 0.92, 0.99, 0),
    "holdout round 68": (0.99, 0.91, 0.99, 0),
    "holdout round 69": (0.99, 0.93, 0.99, 0),
    "holdout round 70": (0.99, 0.93, 0.99, 0),
    "holdout round 71": (0.99, 0.96, 0.98, 0),
    "holdout round 72": (0.99, 0.92, 0.99, 0),
    "holdout round 73": (0.99, 0.96, 0.99, 0),
    "holdout round 74": (0.99, 0.91, 0.98, 0),
    "holdout round 75": (0.99, 0.91, 0.99, 0),
    "holdout round 76": (0.99, 0.95, 0.99, 0),
    "holdout round 77": (0.99, 0.93, 0.99, 0),
    "holdout round 78": (0.99, 0.96, 0.99, 0),
    "holdout round 79": (0.99, 0.93, 0.99, 1),
    "holdout round 80": (0.99, 0.91, 0.99, 0),
    "holdout round 81": (0.99, 0.92, 0.99, 0),
    "holdout round 82": (0.99, 0.92, 0.99, 0),
    "holdout round 83": (0.99, 0.93, 0.99, 0),
    "holdout round 84": (0.99, 0.93, 0.99, 0),
    "holdout round 85": (0.99, 0.95, 0.99, 0),
    "holdout round 86": (0.99, 0.95, 0.99, 0),
    "holdout round 87": (0.99, 0.92, 0.99, 0),
    "holdout round 88": (0.99, 0.93, 0.99, 0),
    "holdout round 89": (0.99, 0.93, 0.99, 0),
    "holdout round 90": (0.99, 0.93, 0.99, 0),
    "holdout round 91": (0.99, 0.93, 0.99, 0),
    "holdout round 92": (0.99, 0.92, 0.99, 0),
    "holdout round 93": (0.99, 0.92, 0.99, 0),
    "holdout round 94": (0.99, 0.93, 0.99, 0),
    "holdout round 95": (0.99, 0.94, 0.99, 0),
    "holdout round 96": (0.99, 0.95, 0.99, 0),
    "holdout round 97": (0.99, 0.91, 0.99, 0),
    "holdout round 98": (0.99, 0.89, 0.98, 0),
    "holdout round 99": (0.99, 0.92, 0.99, 0),
    "holdout round 100": (0.99, 0.91, 0.99, 0),
    "holdout round 101": (0.99, 0.93, 0.99, 0),
    "holdout round 102": (0.99, 0.91, 0.99, 0),
    "holdout round 103": (0.99, 0.96, 0.99, 0),
    "holdout round 104": (0.99, 0.91, 0.99, 0),
    "holdout round 105": (0.99, 0.92, 0.99, 0),
    "holdout round 106": (0.99, 0.92, 0.99, 0),
    "holdout round 107": (0.99, 0.92, 0.98, 0),
    "holdout round 108": (0.99, 0.94, 0.99, 0),
    "holdout round 109": (0.99, 0.93, 0.99, 0),
    "holdout round 110": (0.99, 0.91, 0.99, 0),
    "holdout round 111": (0.99, 0.94, 0.99, 0),
    "holdout round 112": (0.99, 0.96, 0.99, 0),
    "holdout round 113": (0.99, 0.94, 0.98, 0),
    "holdout round 114": (0.99, 0.91, 0.99, 0),
    "holdout round 115": (0.99, 0.93, 0.99, 0),
    "holdout round 116": (0.99, 0.9, 0.99, 0),
    "holdout round 117": (0.99, 0.85, 0.99, 0),
    "holdout round 118": (0.99, 0.92, 0.98, 0),
    "holdout round 119": (0.99, 0.95, 0.99, 0),
    "holdout round 121": (0.99, 0.94, 0.99, 0),
    "holdout round 122": (0.99, 0.93, 0.99, 0),
    "holdout round 123": (0.99, 0.91, 0.99, 0),
    "holdout round 124": (0.99, 0.92, 0.99, 0),
    "holdout round 125": (0.99, 0.93, 0.99, 0),
    "holdout round 126": (0.99, 0.85, 0.94, 1),
    "holdout round 127": (0.99, 0.9, 0.99, 0),
    "holdout round 128": (0.99, 0.96, 0.99, 0),
    "holdout round 129": (0.99, 0.94, 0.99, 0),
    "holdout round 130": (0.99, 0.92, 0.99, 0),
    "holdout round 131": (0.99, 0.91, 0.99, 0),
    "holdout round 132": (0.99, 0.95, 0.99, 0),
    "holdout round 133": (0.99, 0.91, 0.99, 0),
    "holdout round 134": (0.99, 0.9, 0.99, 0),
    "holdout round 135": (0.99, 0.92, 0.99, 0),
    "holdout round 136": (0.99, 0.89, 0.99, 0),
    "holdout round 137": (0.99, 0.93, 0.99, 0),
    "holdout round 138": (0.99, 0.91, 0.99, 0),
    "holdout round 139": (0.99, 0.96, 0.99, 0),
    "holdout round 140": (0.99, 0.96, 0.99, 0),
    "holdout round 141": (0.99, 0.95, 0.99, 0),
    "holdout round 142": (0.99, 0.94, 0.99, 0),
    "holdout round 143": (0.99, 0.89, 0.97, 0),
    "holdout round 144": (0.99, 0.93, 0.99, 0),
    "holdout round 145": (0.99, 0.89, 0.98, 0),
    "holdout round 146": (0.99, 0.89, 0.99, 0),
    "holdout round 147": (0.99, 0.92, 0.99, 0),
    "holdout round 148": (0.99, 0.93, 0.99, 0),
    "holdout round 149": (0.99, 0.93, 0.99, 0),
    "holdout round 150": (0.99, 0.9, 0.99, 0),
    "holdout round 151": (0.99, 0.93, 0.99, 0),
    "holdout round 152": (0.99, 0.92, 0.99, 0),
    "holdout round 153": (0.99, 0.91, 0.99, 0),
    "holdout round 154": (0.99, 0.93, 0.99, 0),
    "holdout round 155": (0.99, 0.91, 0.99, 0),
    "holdout round 156": (0.99, 0.92, 0.99, 0),
    "holdout round 157": (0.99, 0.94, 0.99, 0),
    "holdout round 158": (0.99, 0.93, 0.99, 0),
    "holdout round 159": (0.99, 0.94, 0.99, 0),
    "holdout round 160": (0.99, 0.93, 0.99, 0),
    "holdout round 161": (0.99, 0.92, 0.99, 0),
    "holdout round 162": (0.99, 0.91, 0.99, 0),
    "holdout round 163": (0.99, 0.92, 0.99, 0),
    "holdout round 164": (0.99, 0.88, 0.99, 0),
    "holdout round 165": (0.99, 0.93, 0.99, 0),
    "holdout round 166": (0.99, 0.91, 0.99, 0),
    "holdout round 167": (0.99, 0.96, 0.99, 0),
    "holdout round 168": (0.99, 0.96, 0.99, 0),
    "holdout round 169": (0.99, 0.92, 0.99, 0),
    "holdout round 170": (0.99, 0.92, 0.99, 0),
    "holdout round 171": (0.99, 0.91, 0.99, 0),
    "holdout round 172": (0.99, 0.94, 0.99, 0),
    "holdout round 173": (0.99, 0.91, 0.99, 0),
    "holdout round 174": (0.99, 0.92, 0.99, 0),
    "holdout round 175": (0.99, 0.92, 0.98, 0),
    "holdout round 176": (0.99, 0.95, 0.99, 0),
    "holdout round 177": (0.99, 0.91, 0.99, 1),
    "holdout round 178": (0.99, 0.88, 0.99, 0),
    "holdout round 179": (0.99, 0.91, 0.99, 0),
    "holdout round 180": (0.99, 0.89, 0.98, 0),
    "holdout round 181": (0.99, 0.9, 0.99, 0),
    "holdout round 182": (0.99, 0.92, 0.98, 0),
    "holdout round 183": (0.99, 0.9, 0.98, 0),
    "holdout round 184": (0.99, 0.91, 0.99, 0),
    "holdout round 185": (0.99, 0.92, 0.99, 0),
    "holdout round 186": (0.99, 0.91, 0.99, 0),
    "holdout round 187": (0.99, 0.93, 0.99, 0),
    "holdout round 188": (0.99, 0.91, 0.99, 0),
    "holdout round 189": (0.99, 0.94, 0.99, 0),
    "holdout round 190": (0.99, 0.92, 0.99, 0),
    "holdout round 191": (0.99, 0.93, 0.99, 0),
    "holdout round 192": (0.99, 0.96, 0.99, 0),
    "holdout round 193": (0.99, 0.94, 0.99, 0),
    "holdout round 194": (0.99, 0.93, 0.99, 0),
    "holdout round 195": (0.99, 0.95, 0.99, 0),
    "holdout round 196": (0.99, 0.98, 0.99, 0),
    "holdout round 197": (0.99, 0.95, 0.98, 0),
    "holdout round 198": (0.99, 0.89, 0.99, 0),
    "holdout round 199": (0.99, 0.92, 0.99, 0),
    "holdout round 200": (0.99, 0.89, 0.99, 0),
    "holdout round 201": (0.99, 0.93, 0.99, 0),
    "holdout round 202": (0.99, 0.9, 0.99, 0),
    "holdout round 203": (0.99, 0.93, 0.99, 0),
    "holdout round 204": (0.99, 0.88, 0.99, 0),
    "holdout round 205": (0.99, 0.93, 0.98, 0),
    "holdout round 206": (0.99, 0.94, 0.99, 0),
    "holdout round 207": (0.99, 0.91, 0.99, 0),
    "holdout round 208": (0.99, 0.92, 0.99, 0),
    "holdout round 209": (0.99, 0.93, 0.99, 0),
    "holdout round 210": (0.99, 0.98, 0.99, 0),
    "holdout round 211": (0.99, 0.94, 0.99, 0),
    "holdout round 212": (0.99, 0.9, 0.99, 0),
    "holdout round 213": (0.99, 0.93, 0.99, 0),
    "holdout round 214": (0.99, 0.93, 0.99, 0),
    "holdout round 215": (0.99, 0.89, 0.99, 0),
    "holdout round 216": (0.99, 0.93, 0.99, 0),
    "holdout round 217": (0.99, 0.92, 0.99, 0),
    "holdout round 218": (0.99, 0.92, 0.99, 0),
    "holdout round 219": (0.99, 0.91, 0.99, 0),
    "holdout round 220": (0.99, 0.88, 0.98, 0),
    "holdout round 221": (0.99, 0.89, 0.99, 0),
    "holdout round 222": (0.99, 0.92, 0.99, 0),
    "holdout round 223": (0.99, 0.93, 0.99, 0),
    "holdout round 224": (0.99, 0.88, 0.99, 0),
    "holdout round 225": (0.99, 0.91, 0.99, 0),
    "holdout round 226": (0.99, 0.95, 0.99, 0),
    "holdout round 227": (0.99, 0.92, 0.99, 0),
    "holdout round 228": (0.99, 0.93, 0.99, 0),
    "holdout round 229": (0.99, 0.89, 0.99, 0),
    "holdout round 230": (0.99, 0.93, 0.99, 0),
    "holdout round 231": (0.99, 0.94, 0.99, 0),
    "holdout round 232": (0.99, 0.94, 0.99, 0),
    "holdout round 233": (0.99, 0.88, 0.99, 0),
    "holdout round 234": (0.99, 0.89, 0.99, 0),
    "holdout round 235": (0.99, 0.95, 0.99, 0),
    "holdout round 236": (0.99, 0.91, 0.99, 0),
    "holdout round 237": (0.99, 0.94, 0.99, 0),
    "holdout round 238": (0.99, 0.93, 0.99, 0),
    "holdout round 239": (0.99, 0.91, 0.99, 0),
    "holdout round 240": (0.99, 0.93, 0.99, 0),
    "holdout round 241": (0.99, 0.93, 0.99, 0),
    "holdout round 242": (0.99, 0.95, 0.99, 0),
    "holdout round 243": (0.99, 0.95, 0.99, 0),
    "holdout round 244": (0.99, 0.88, 0.98, 0),
    "holdout round 245": (0.99, 0.94, 0.99, 0),
    "holdout round 246": (0.99, 0.96, 0.99, 0),
    "holdout round 247": (0.99, 0.94, 0.99, 0),
    "holdout round 248": (0.99, 0.94, 0.99, 0),
    "holdout round 249": (0.99, 0.9, 0.99, 0),
    "holdout round 250": (0.99, 0.91, 0.99, 0),
    "holdout round 251": (0.99, 0.91, 0.99, 0),
    "holdout round 252": (0.99, 0.93, 0.99, 0),
    "holdout round 253": (0.99, 0.88, 0.99, 0),
    "holdout round 254": (0.99, 0.88, 0.99, 0),
    "holdout round 255": (0.99, 0.95, 0.99, 0),
    "holdout round 256": (0.99, 0.96, 0.99, 0),
    "holdout round 257": (0.99, 0.91, 0.99, 0),
    "holdout round 258": (0.99, 0.93, 0.98, 0),
    "holdout round 259": (0.99, 0.89, 0.99, 0),
    "holdout round 260": (0.99, 0.93, 0.99, 0),
    "holdout round 261": (0.99, 0.92, 0.99, 0),
    "holdout round 262": (0.99, 0.89, 0.99, 0),
    "holdout round 263": (0.99, 0.94, 0.98, 0),
    "holdout round 264": (0.99, 0.91, 0.99, 0),
    "holdout round 265": (0.99, 0.91, 0.99, 0),
    "holdout round 266": (0.99, 0.96, 0.99, 0),
    "holdout round 267": (0.99, 0.89, 0.98, 0),
    "holdout round 268": (0.99, 0.89, 0.99, 0),
    "holdout round 269": (0.99, 0.91, 0.99, 0),
    "holdout round 270": (0.99, 0.93, 0.99, 0),
    "holdout round 271": (0.99, 0.92, 0.99, 0),
    "holdout round 272": (0.99, 0.92, 0.99, 0),
    "holdout round 273": (0.99, 0.93, 0.99, 0),
    "holdout round 274": (0.99, 0.9, 0.99, 0),
    "holdout round 275": (0.99, 0.92, 0.99, 0),
    "holdout round 276": (0.99, 0.9, 0.99, 0),
    "holdout round 277": (0.99, 0.91, 0.99, 0),
    "holdout round 278": (0.99, 0.92, 0.99, 0),
    "holdout round 279": (0.99, 0.89, 0.99, 0),
    "holdout round 280": (0.99, 0.95, 0.99, 0),
    "holdout round 281": (0.99, 0.96, 0.99, 0),
    "holdout round 282": (0.99, 0.94, 0.99, 0),
    "holdout round 283": (0.99, 0.89, 0.99, 0),
    "holdout round 284": (0.99, 0.93, 0.99, 0),
    "holdout round 285": (0.99, 0.91, 0.99, 0),
    "holdout round 286": (0.99, 0.91, 0.99, 0),
    "holdout round 287": (0.99, 0.91, 0.99, 0),
    "holdout round 288": (0.98, 0.91, 0.99, 0),
    "holdout round 289": (0.99, 0.92, 0.99, 0),
    "holdout round 290": (0.99, 0.94, 0.99, 0),
    "holdout round 291": (0.99, 0.86, 0.99, 0),
    "holdout round 292": (0.99, 0.93, 0.99, 0),
    "holdout round 293": (0.99, 0.92, 0.99, 0),
    "holdout round 294": (0.99, 0.93, 0.97, 0),
    "holdout round 295": (0.99, 0.93, 0.99, 0),
    "holdout round 296": (0.99, 0.96, 0.99, 0),
    "holdout round 297": (0.99, 0.93, 0.99, 0),
    "holdout round 298": (0.99, 0.91, 0.98, 0),
    "holdout round 299": (0.99, 0.94, 0.99, 0),
    "holdout round 300": (0.99, 0.91, 0.99, 0),
    "holdout round 301": (0.99, 0.93, 0.99, 0),
    "holdout round 302": (0.99, 0.93, 0.98, 0),
    "holdout round 303": (0.99, 0.91, 0.99, 0),
    "holdout round 304": (0.99, 0.92, 0.99, 0),
    "holdout round 305": (0.99, 0.93, 0.99, 0),
    "holdout round 306": (0.99, 0.88, 0.99, 0),
    "holdout round 307": (0.99, 0.93, 0.99, 0),
    "holdout round 308": (0.99, 0.91, 0.99, 0),
    "holdout round 309": (0.99, 0.93, 0.99, 0),
    "holdout round 310": (0.99, 0.91, 0.99, 0),
    "holdout round 311": (0.99, 0.91, 0.99, 0),
    "holdout round 312": (0.99, 0.93, 0.99, 0),
    "holdout": (0.99, 0.92, 0.99, 6),
}


@pytest.mark.parametrize("name", sorted(SHIPPED_FLOORS))
def test_the_shipped_second_opinion_on_every_part(shipped: dict[str, Figures], name: str) -> None:
    part = shipped[name]
    recall, precision, hazards, routed_critical = SHIPPED_FLOORS[name]
    assert part.critical_recall >= recall
    assert part.critical_precision >= precision
    assert part.hazard_recall >= hazards
    assert part.hazards_as_critical <= routed_critical


def test_urgent_matters_run_on_a_wall_clock(figures: dict[str, Figures]) -> None:
    # Urgent matters are read from the text (danger.yaml urgent), whichever sibling the
    # keywords chose. The target (0.9) was worked for on the tune reports; the holdout,
    # scored once at the end, sets a floor just under its figure (0.642).
    assert figures[WORKED_ON_TUNE].urgent_on_wall_clock >= 0.9
    assert figures["holdout"].urgent_on_wall_clock >= 0.6


def test_the_command_prints_every_part_and_the_verdict(
    shipped: dict[str, Figures], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    danger_eval.register(parser.add_subparsers())
    args = parser.parse_args(["danger-eval", "--misses"])
    # Exit 0 when the whole holdout meets the targets, 1 when not (a blind round added
    # by the integrator may well keep it under them). With the model, as shipped.
    met = shipped["holdout"].meets()
    assert args.func(args) == (0 if met else 1)
    out = capsys.readouterr().out
    assert "| holdout round 2 | 143 | 73 |" in out
    assert "| holdout round 6 | 268 | 107 |" in out
    assert "| tune round 8 | 144 | 57 |" in out
    assert "| tune round 10 | 53 | 30 |" in out
    assert "| holdout |" in out and "| all |" in out
    assert ("holdout: targets met" if met else "holdout: targets NOT met") in out
    assert "tune: " in out  # the wrong decisions, per part


def test_the_command_reports_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "eval.jsonl"
    bad.write_text(
        '{"text": "着火了", "label": "fire", "network": "zongzhi", "split": "tune"}\n',
        encoding="utf-8",
    )
    args = argparse.Namespace(file=bad, rules=BUNDLED_RULES, misses=False, model=True)
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
    args = argparse.Namespace(file=missed, rules=BUNDLED_RULES, misses=True, model=True)
    assert danger_eval.run(args) == 1
    assert "holdout: targets NOT met" in capsys.readouterr().out


def test_no_model_scores_the_rules_alone(
    figures: dict[str, Figures], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    danger_eval.register(parser.add_subparsers())
    args = parser.parse_args(["danger-eval", "--no-model"])
    assert args.func(args) == (0 if figures["holdout"].meets() else 1)
    holdout = figures["holdout"]
    assert (
        f"| holdout | {holdout.reports} | {holdout.critical} | {holdout.critical_recall:.3f} |"
        in (capsys.readouterr().out)
    )
