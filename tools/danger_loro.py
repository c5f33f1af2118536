"""Would a learned model help the danger rules on text they have not seen? Leave one round out.

The danger lexicon (routing_rules/danger.yaml) is tuned on what it has seen, and each blind
round read far below the rounds worked on. A char n-gram logistic regression (critical or
not), trained offline, is the cheapest second opinion: this tool measures it the only
honest way the labelled set allows, **leave one round out** — for each part of
routing_rules/danger_eval.jsonl (a split and its round), train on every other part and
score the held one — and prints, per part:

* the rules alone (`gridflow danger-eval`'s decisions with ``--rules``),
* the model alone (flagged critical when P(critical) >= ``--threshold``),
* rules + model: flagged critical when the rules say so, or when the model does and the
  rules do not read a hazard (the combination a runtime second opinion would use).

The rules' figures on a part are honest only for rules not tuned on it: score the rules
as they stood before a round was looked at with ``--rules`` (an older checkout's
routing_rules/). docs/classification.md ("A learned second opinion") quotes the figures
and why the model was not shipped then (the shipped model, its gate and the gated
leave-one-round-out table are ``tools/danger_model.py``'s: ``--loro-only``). Needs
scikit-learn (not a runtime dependency)::

    .venv/bin/pip install -e '.[test,danger-model]'
    .venv/bin/python -m tools.danger_loro
    .venv/bin/python -m tools.danger_loro --rules /path/to/old/routing_rules --threshold 0.6
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gridflow.commands import danger_eval
from gridflow.commands.danger_eval import Assessor, Report
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.classify import normalise


def _part(report: Report) -> str:
    return f"{report.split} round {report.round}"


def _figures(labels: Sequence[str], critical: Sequence[bool], hazard: Sequence[bool]) -> str:
    wanted = [flag for label, flag in zip(labels, critical, strict=True) if label == "critical"]
    flagged = [label for label, flag in zip(labels, critical, strict=True) if flag]
    hazards_as_critical = sum(
        flag and not kept
        for label, flag, kept in zip(labels, critical, hazard, strict=True)
        if label == "hazard"
    )
    recall = sum(wanted) / len(wanted) if wanted else 1.0
    precision = flagged.count("critical") / len(flagged) if flagged else 1.0
    return f"{recall:.3f} | {precision:.3f} | {hazards_as_critical}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.danger_loro",
        description="Leave-one-round-out figures of a char n-gram model beside the danger rules.",
    )
    parser.add_argument("--file", type=Path, default=danger_eval.DEFAULT_EVAL)
    parser.add_argument("--rules", type=Path, default=BUNDLED_RULES, help="rules directory")
    parser.add_argument("--threshold", type=float, default=0.7, help="P(critical) to flag")
    parser.add_argument("--C", type=float, default=4.0, help="inverse regularisation")
    args = parser.parse_args(argv)
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
    except ImportError:
        print("danger_loro: needs scikit-learn: pip install -e '.[danger-model]'", file=sys.stderr)
        return 2
    reports = danger_eval.read_reports(args.file)
    assessor = Assessor(args.rules)
    outcomes = [assessor.outcome(report) for report in reports]
    parts = sorted({_part(r) for r in reports}, key=lambda p: (p.split()[0] != "holdout", p))
    print(
        "| part | n | critical | rules: recall | precision | hazards as critical "
        "| model: recall | precision | hazards as critical "
        "| rules + model: recall | precision | hazards as critical |"
    )
    print("|---|---:|---:|" + "---:|" * 9)
    for part in parts:
        train = [r for r in reports if _part(r) != part]
        held = [i for i, r in enumerate(reports) if _part(r) == part]
        model = make_pipeline(
            TfidfVectorizer(
                analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalise
            ),
            LogisticRegression(C=args.C, max_iter=3000, class_weight="balanced"),
        )
        model.fit([r.text for r in train], [r.label == "critical" for r in train])
        chance = model.predict_proba([reports[i].text for i in held])[:, 1]
        labels = [reports[i].label for i in held]
        rules_critical = [outcomes[i].flagged_critical for i in held]
        rules_hazard = [outcomes[i].hazard for i in held]
        model_critical = [bool(p >= args.threshold) for p in chance]
        both = [
            rule or (said and not kept)
            for rule, said, kept in zip(rules_critical, model_critical, rules_hazard, strict=True)
        ]
        print(
            f"| {part} | {len(held)} | {labels.count('critical')} "
            f"| {_figures(labels, rules_critical, rules_hazard)} "
            f"| {_figures(labels, model_critical, [False] * len(held))} "
            f"| {_figures(labels, both, rules_hazard)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
