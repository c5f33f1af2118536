"""Measured: critical incidents, hazards and urgent matters on a labelled evaluation set.

routing_rules/danger_eval.jsonl holds reports written for this evaluation, apart from the
classifier's tuning data (routing_rules/classification_eval.jsonl): long narratives,
camera alerts, Chongqing dialect, hazards, emergencies phrased without the obvious
words, and everyday reports with tempting words (火锅, 烧烤, 消防演练). Each is labelled
``critical`` (someone is in danger now), ``hazard`` (隐患: may happen), ``urgent``
(needs hours, not days: 电梯困人, fights, 肇事肇祸, people out of contact, open holes)
or ``routine``. Half is ``tune`` (looked at while writing the lexicon), half
``holdout`` (not looked at); the figures are asserted on the holdout half and on the
whole set. docs/classification.md reports them; ``python tests/core/test_danger_eval.py``
prints them.

Definitions (what the worker does with a report, ``assess_report`` + ``plan_case``):

* flagged critical: assessed ``critical``, or sent to triage (险情待核实: unplaced with a
  danger cue, the town's duty room on a 10-minute wall clock, faster than the emergency
  policy's 30-minute accept);
* flagged hazard: the assessment says hazard (modality, or a hazard category not
  assessed critical);
* routed as a critical incident: ``critical`` priority or the ``emergency`` policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier
from gridflow.core.danger import DangerLexicon
from gridflow.core.opening import assess_report, plan_case
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RuleSet
from schemas import GridEvent
from schemas.common import Severity

ROOT = Path(__file__).resolve().parents[2]
EVAL_SET = ROOT / "routing_rules" / "danger_eval.jsonl"
WHEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Chongqing


@dataclass(frozen=True)
class Figures:
    reports: int
    critical_recall: float
    critical_precision: float
    strict_recall: float
    hazard_recall: float
    hazards_as_critical: int
    urgent_on_wall_clock: float
    misses: tuple[str, ...]


def load(split: str | None = None) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if split is None or row["split"] == split]


def measure(rows: list[dict[str, str]]) -> Figures:
    catalogue = Catalogue.default()
    classifier = TextClassifier.default()
    lexicon = DangerLexicon.default()
    rules = RuleSet.load(ROOT / "routing_rules", catalogue)
    regions = RegionGraph.load_csv(
        ROOT / "routing_rules" / "divisions" / "chongqing-divisions-2023.csv"
    )
    flagged_critical: list[bool] = []
    strict: list[bool] = []
    hazard: list[bool] = []
    routed_critical: list[bool] = []
    wall: list[bool] = []
    misses: list[str] = []
    for index, row in enumerate(rows):
        raw: dict[str, object] = {
            "event_id": f"eval-{index}",
            "source_network": row["network"],
            "reported_at": WHEN,
            "region_code": "500103001003",
            "title": row["text"],
        }
        if "category" in row:
            raw["category"] = row["category"]
        event = GridEvent.model_validate(raw)
        found = assess_report(event, catalogue, classifier, None, lexicon)
        plan = plan_case(event, found, rules, regions, WHEN.timestamp())
        triaged = found.category.code == lexicon.triage
        critical = found.severity is Severity.CRITICAL or triaged
        flagged_critical.append(critical)
        strict.append(found.severity is Severity.CRITICAL)
        hazard.append(found.hazard)
        routed_critical.append(plan.priority is Severity.CRITICAL or plan.policy == "emergency")
        wall.append(rules.policies[plan.policy].clock == "wall")
        label = row["label"]
        if (label == "critical") != critical or (label == "hazard") != found.hazard:
            misses.append(
                f"{label}: {row['text']} -> {found.category.code} {found.severity.value}"
                f"{' hazard' if found.hazard else ''}"
            )
    labels = [row["label"] for row in rows]

    def share(flags: list[bool], label: str) -> float:
        picked = [flag for flag, have in zip(flags, labels, strict=True) if have == label]
        return sum(picked) / len(picked)

    flagged = [label for flag, label in zip(flagged_critical, labels, strict=True) if flag]
    return Figures(
        reports=len(rows),
        critical_recall=share(flagged_critical, "critical"),
        critical_precision=flagged.count("critical") / len(flagged),
        strict_recall=share(strict, "critical"),
        hazard_recall=share(hazard, "hazard"),
        hazards_as_critical=sum(
            routed
            for routed, label in zip(routed_critical, labels, strict=True)
            if label == "hazard"
        ),
        urgent_on_wall_clock=share(wall, "urgent"),
        misses=tuple(misses),
    )


def test_the_set_is_large_and_varied() -> None:
    rows = load()
    assert len(rows) >= 300
    labels = {row["label"] for row in rows}
    assert labels == {"critical", "hazard", "urgent", "routine"}
    assert sum(row["network"] == "video_ai" for row in rows) >= 10
    # Apart from the classifier's tuning data.
    tuning = (ROOT / "routing_rules" / "classification_eval.jsonl").read_text(encoding="utf-8")
    assert not any(row["text"] in tuning for row in rows)


#: Floors a little below the measured figures (docs/classification.md, "Danger and
#: hazards"): (critical recall, critical precision, hazards as hazards, hazards routed
#: as critical incidents at most). The issue's targets are recall >= 0.95 with
#: precision >= 0.8, hazards >= 0.9 and no hazard routed as critical; the holdout half
#: measures recall 0.857 and one hazard routed as critical: not met yet, see the doc.
FLOORS = {"holdout": (0.85, 0.9, 0.95, 1), None: (0.9, 0.9, 0.95, 2)}


@pytest.mark.parametrize("split", ["holdout", None], ids=["holdout", "whole set"])
def test_critical_incidents_are_caught_and_hazards_are_not_emergencies(
    split: str | None,
) -> None:
    recall, precision, hazards, as_critical = FLOORS[split]
    figures = measure(load(split))
    assert figures.critical_recall >= recall, figures.misses
    assert figures.critical_precision >= precision, figures.misses
    assert figures.hazard_recall >= hazards, figures.misses
    assert figures.hazards_as_critical <= as_critical, figures.misses


if __name__ == "__main__":
    for name in ("tune", "holdout", None):
        f = measure(load(name))
        print(
            f"{name or 'whole'}: n={f.reports} critical recall {f.critical_recall:.3f} "
            f"(severity critical alone {f.strict_recall:.3f}) precision "
            f"{f.critical_precision:.3f}; hazards as hazards {f.hazard_recall:.3f}; "
            f"hazards routed as critical {f.hazards_as_critical}; urgent on wall clock "
            f"{f.urgent_on_wall_clock:.3f}"
        )
        if name == "tune":
            print("\n".join("  " + miss for miss in f.misses))
