"""``gridflow danger-eval``: are critical incidents caught, and hazards kept apart from them?

Runs every report of a labelled JSON-lines file (default: ``routing_rules/danger_eval.jsonl``,
installed with the bundled rules) through what a worker does with a new report
(:func:`~gridflow.core.opening.assess_report`, then :func:`~gridflow.core.opening.plan_case`
with the bundled rules, on a Wednesday at 10:00 in Chongqing) and scores it against its label:

* ``critical``: someone is in danger now; ``hazard`` (隐患): something may happen;
  ``urgent``: hours, not days (电梯困人, fights, 肇事肇祸, people out of contact, open
  holes); ``routine``: everything else.
* **flagged critical**: assessed ``critical``, or sent to triage (险情待核实: an unplaced
  report with a danger cue goes to the town's duty room on a 10-minute wall clock, faster
  than the emergency policy's 30-minute accept);
* **flagged hazard**: the assessment says hazard;
* **routed as a critical incident**: ``critical`` priority or the ``emergency`` policy.

The issue's targets (:data:`TARGETS`) hold on the holdout reports; ``make test`` asserts
them (``tests/core/test_danger_eval.py``). docs/classification.md reports the figures and
how the set was written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from gridflow.commands.labelled_lines import read_labelled
from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier
from gridflow.core.danger import DangerLexicon
from gridflow.core.danger_model import DangerModel
from gridflow.core.opening import assess_report, on_the_clock_by_category, plan_case
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RuleSet
from schemas import GridEvent
from schemas.common import Severity

#: The labelled set shipped beside the bundled lexicon.
DEFAULT_EVAL = BUNDLED_RULES / "danger_eval.jsonl"
Label = Literal["critical", "hazard", "urgent", "routine"]
LABELS: tuple[str, ...] = get_args(Label)
#: When every report is made: a Wednesday, 10:00 in Chongqing (office hours, no holiday).
WHEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
#: A village of 渝中区 (the set's reports are not about one place; routing needs one).
REGION = "500103001003"


@dataclass(frozen=True, slots=True)
class Targets:
    """Issue 12's targets for the holdout reports."""

    critical_recall: float = 0.95
    critical_precision: float = 0.8
    hazard_recall: float = 0.9
    hazards_as_critical: int = 0


TARGETS = Targets()


class Report(BaseModel):
    """One labelled report (``round`` 1 is the set's first writing, 2 the second)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    label: Label
    network: str
    category: str | None = None
    split: str
    round: int = 1
    #: where the report stands in its file (set by :func:`read_reports`, not a key of it).
    line: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the worker did with one report."""

    report: Report
    category: str
    severity: Severity
    hazard: bool
    policy: str
    flagged_critical: bool
    routed_critical: bool
    wall_clock: bool
    #: what the learned second opinion changed (``Assessment.opinion``), if anything.
    opinion: str | None = None
    #: the classifier placed the report from its text (``Assessment.classified_by``), not
    #: the sender's own code: only such a critical reading is checked on P(critical) alone.
    text_placed: bool = True
    #: read high in an incident category the routes run on the emergency clock without a
    #: critical reading (``opening.on_the_clock_by_category``): the model's ``doubt``
    #: sends such a report to the duty room first.
    clock_by_category: bool = False

    @property
    def wrong(self) -> bool:
        """Flagged critical or hazard other than its label says, or a hazard run as critical."""
        label = self.report.label
        return (
            (label == "critical") != self.flagged_critical
            or (label == "hazard") != self.hazard
            or (label == "hazard" and self.routed_critical)
        )

    def describe(self) -> str:
        """One line: label, text and what was decided."""
        marks = " hazard" if self.hazard else ""
        marks += " routed-critical" if self.routed_critical else ""
        marks += f" (model: {self.opinion})" if self.opinion else ""
        return (
            f"{self.report.label}: {self.report.text} -> {self.category} "
            f"{self.severity.value} {self.policy}{marks}"
        )


@dataclass(frozen=True, slots=True)
class Figures:
    """The scores of a group of reports."""

    reports: int
    critical: int
    critical_recall: float
    #: recall of assessed ``critical`` alone (triage not counted).
    strict_recall: float
    critical_precision: float
    hazards: int
    hazard_recall: float
    hazards_as_critical: int
    urgent_on_wall_clock: float
    misses: tuple[Outcome, ...]

    def meets(self, targets: Targets = TARGETS) -> bool:
        """Are the issue's targets met?"""
        return (
            self.critical_recall >= targets.critical_recall
            and self.critical_precision >= targets.critical_precision
            and self.hazard_recall >= targets.hazard_recall
            and self.hazards_as_critical <= targets.hazards_as_critical
        )


def read_reports(path: str | Path) -> list[Report]:
    """Read a labelled JSON-lines file; ``ValueError`` names the bad line."""
    rows = read_labelled(path, Report, "a labelled report")
    return [report.model_copy(update={"line": number}) for number, report in rows]


class Assessor:
    """The worker's assessment and routing with one set of rules, reused across reports."""

    def __init__(
        self, rules_dir: Path = BUNDLED_RULES, *, model: DangerModel | bool = True
    ) -> None:
        """Load the catalogue, classifier, lexicon, routes and divisions of ``rules_dir``.

        ``model``: ``True`` gates on the directory's learned second opinion
        (``danger_model.jsonl``) when it has one, ``False`` scores the rules alone, a
        :class:`DangerModel` gates on that one (``tools/danger_model.py``'s held-out models).
        """
        if rules_dir == BUNDLED_RULES:
            self.catalogue = Catalogue.default()
            self.classifier = TextClassifier.default()
            self.lexicon = DangerLexicon.default()
        else:
            self.catalogue = Catalogue.load(
                rules_dir / "catalogue.yaml", rules_dir / "networks.yaml"
            )
            self.classifier = TextClassifier.load(rules_dir / "keywords.yaml", self.catalogue)
            self.lexicon = DangerLexicon.load_beside(rules_dir / "danger.yaml", self.catalogue)
        if model is not True:
            self.lexicon = self.lexicon.with_model(model or None)
        self.rules = RuleSet.load(rules_dir, self.catalogue)
        self.regions = RegionGraph.load_csv(rules_dir / DIVISIONS_FILE)

    def outcome(self, report: Report) -> Outcome:
        """Assess and route one report as a worker would, at :data:`WHEN`."""
        raw: dict[str, object] = {
            "event_id": f"eval-{report.line}",
            "source_network": report.network,
            "reported_at": WHEN,
            "region_code": REGION,
            "title": report.text,
        }
        if report.category is not None:
            raw["category"] = report.category
        event = GridEvent.model_validate(raw)
        found = assess_report(event, self.catalogue, self.classifier, None, self.lexicon)
        plan = plan_case(event, found, self.rules, self.regions, WHEN.timestamp())
        return Outcome(
            report=report,
            category=found.category.code,
            severity=found.severity,
            hazard=found.hazard,
            policy=plan.policy,
            flagged_critical=found.severity is Severity.CRITICAL
            or found.category.code == self.lexicon.triage,
            routed_critical=plan.priority is Severity.CRITICAL or plan.policy == "emergency",
            wall_clock=self.rules.policies[plan.policy].clock == "wall",
            opinion=found.opinion,
            text_placed=found.classified_by is not None,
            clock_by_category=on_the_clock_by_category(found, self.lexicon),
        )


def score(outcomes: Iterable[Outcome]) -> Figures:
    """Recall, precision and the hazard figures of a group of outcomes."""
    items = list(outcomes)

    def share(flags: Sequence[bool]) -> float:
        return sum(flags) / len(flags) if flags else 1.0

    critical = [o for o in items if o.report.label == "critical"]
    hazards = [o for o in items if o.report.label == "hazard"]
    flagged = [o for o in items if o.flagged_critical]
    return Figures(
        reports=len(items),
        critical=len(critical),
        critical_recall=share([o.flagged_critical for o in critical]),
        strict_recall=share([o.severity is Severity.CRITICAL for o in critical]),
        critical_precision=share([o.report.label == "critical" for o in flagged]),
        hazards=len(hazards),
        hazard_recall=share([o.hazard for o in hazards]),
        hazards_as_critical=sum(o.routed_critical for o in hazards),
        urgent_on_wall_clock=share([o.wall_clock for o in items if o.report.label == "urgent"]),
        misses=tuple(o for o in items if o.wrong),
    )


def groups(reports: Sequence[Report]) -> list[tuple[str, list[Report]]]:
    """The set's parts as reported: tune, each holdout round, the holdout, everything."""
    parts: list[tuple[str, list[Report]]] = []
    tune = [r for r in reports if r.split == "tune"]
    holdout = [r for r in reports if r.split == "holdout"]
    if tune:
        parts.append(("tune", tune))
        # The tune rounds written for one change each (5: the patterns; 8: conditions and
        # effects), so a change's own reports show apart from the rest.
        parts.extend(
            (f"tune round {number}", [r for r in tune if r.round == number])
            for number in sorted({r.round for r in tune})
            if number >= 5
        )
    rounds = sorted({r.round for r in holdout})
    if len(rounds) > 1:
        for number in rounds:
            parts.append((f"holdout round {number}", [r for r in holdout if r.round == number]))
    if holdout:
        parts.append(("holdout", holdout))
    parts.append(("all", list(reports)))
    return parts


def format_table(named: Sequence[tuple[str, Figures]]) -> str:
    """A Markdown table, one row per group."""
    lines = [
        "| reports | n | critical | critical recall | (severity critical alone) "
        "| critical precision | hazards | hazards as hazards | hazards routed as critical "
        "| urgent on a wall clock |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in named:
        lines.append(
            f"| {name} | {f.reports} | {f.critical} | {f.critical_recall:.3f} | "
            f"{f.strict_recall:.3f} | {f.critical_precision:.3f} | {f.hazards} | "
            f"{f.hazard_recall:.3f} | {f.hazards_as_critical} | {f.urgent_on_wall_clock:.3f} |"
        )
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``danger-eval`` subcommand."""
    p = sub.add_parser(
        "danger-eval",
        help="score critical-incident and hazard detection on a labelled set",
        description="Assess and route every line of a labelled JSON-lines file as a worker\n"
        'would ({"text": ..., "label": "critical|hazard|urgent|routine", "network":\n'
        '"zongzhi", "split": "tune|holdout", "round": 2}) and print critical recall and\n'
        "precision, hazards kept as hazards (隐患) and hazards routed as critical\n"
        "incidents (立案 as 特急), per split and holdout round. Exit 1 when the holdout\n"
        "misses the issue's targets (recall >= 0.95, precision >= 0.8, hazards >= 0.9,\n"
        "no hazard routed as critical), 2 when the file or rules cannot be read.",
        epilog="examples:\n  gridflow danger-eval              the bundled set and rules\n"
        "  gridflow danger-eval --misses     also list each wrong decision\n"
        "  gridflow danger-eval --no-model   the rules alone, without the learned model\n"
        "  gridflow danger-eval --rules ./my_rules --file my_eval.jsonl\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--file",
        type=Path,
        default=DEFAULT_EVAL,
        help="labelled JSON lines (default: the set installed with the bundled rules)",
    )
    p.add_argument(
        "--rules",
        type=Path,
        default=BUNDLED_RULES,
        help="rules directory (catalogue, keywords, danger lexicon, routes; default: bundled)",
    )
    p.add_argument("--misses", action="store_true", help="also list the wrong decisions")
    p.add_argument(
        "--no-model",
        dest="model",
        action="store_false",
        help="the rules alone: leave out the learned second opinion (danger_model.jsonl)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table; 2 when the file cannot be read, 1 when the holdout misses a target."""
    try:
        reports = read_reports(args.file)
        assessor = Assessor(args.rules, model=args.model)
    except (OSError, ValueError) as exc:
        print(f"gridflow danger-eval: {exc}", file=sys.stderr)
        return 2
    outcomes = {report.line: assessor.outcome(report) for report in reports}
    named = [(name, score(outcomes[r.line] for r in members)) for name, members in groups(reports)]
    print(format_table(named))
    if args.misses:
        # Each part once: the pooled holdout and "all" repeat the parts above them.
        rounds = any(name.startswith("holdout round") for name, _ in named)
        for name, figures in named:
            if name == "all" or (name == "holdout" and rounds):
                continue
            print(f"\n{name}: {len(figures.misses)} wrong")
            for outcome in figures.misses:
                print(f"  {outcome.describe()}")
    holdout = dict(named).get("holdout")
    if holdout is None:
        return 0
    met = holdout.meets()
    print(
        f"\nholdout: targets {'met' if met else 'NOT met'} (critical recall >= "
        f"{TARGETS.critical_recall}, precision >= {TARGETS.critical_precision}, hazards as "
        f"hazards >= {TARGETS.hazard_recall}, hazards routed as critical <= "
        f"{TARGETS.hazards_as_critical})"
    )
    return 0 if met else 1
