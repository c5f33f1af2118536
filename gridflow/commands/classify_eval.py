"""``gridflow classify-eval``: precision, recall and F1 of the text classifier per 大类.

Runs the keyword classifier over a labelled JSON-lines file (default: the evaluation set
installed with the bundled rules, ``routing_rules/classification_eval.jsonl``, which the
bundled keywords were tuned against) and prints one row per 大类 plus overall accuracy,
for the 大类 and for the exact 小类 code.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from gridflow.commands.labelled_lines import read_labelled
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier

#: The labelled set shipped beside the bundled keywords.
DEFAULT_EVAL = BUNDLED_RULES / "classification_eval.jsonl"


class Sample(BaseModel):
    """One labelled report: its text, true unified code and 大类 (default: the code's
    first four characters), and its split."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    category: str
    major: str
    split: str = ""

    @model_validator(mode="before")
    @classmethod
    def _major_of_category(cls, data: Any) -> Any:
        if isinstance(data, dict) and "major" not in data and isinstance(data.get("category"), str):
            return {**data, "major": data["category"][:4]}
        return data


@dataclass(frozen=True, slots=True)
class MajorScore:
    """Precision, recall and F1 of one 大类 (``support`` = true samples of it)."""

    major: str
    name: str
    support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of classifying a labelled set."""

    samples: int
    major_accuracy: float
    code_accuracy: float
    per_major: tuple[MajorScore, ...]
    macro_f1: float
    errors: tuple[tuple[Sample, str], ...]


def read_samples(path: str | Path) -> list[Sample]:
    """Read a JSON-lines evaluation file; ``ValueError`` names the bad line."""
    return [sample for _, sample in read_labelled(path, Sample, "a labelled sample")]


def evaluate(
    samples: Iterable[Sample], classifier: TextClassifier, catalogue: Catalogue
) -> Evaluation:
    """Classify every sample and score the predicted 大类 against the labelled one."""
    items = list(samples)
    true_positive: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    exact = 0
    errors: list[tuple[Sample, str]] = []
    for sample in items:
        code = classifier.classify(sample.text).code
        major = code[:4]
        predicted[major] += 1
        actual[sample.major] += 1
        if major == sample.major:
            true_positive[major] += 1
        if code == sample.category:
            exact += 1
        else:
            errors.append((sample, code))
    names = catalogue.majors()
    order = {major: index for index, major in enumerate(names)}
    rows = []
    for major in sorted(set(actual) | set(predicted), key=lambda m: (order.get(m, len(order)), m)):
        precision = true_positive[major] / predicted[major] if predicted[major] else 0.0
        recall = true_positive[major] / actual[major] if actual[major] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(MajorScore(major, names.get(major, "?"), actual[major], precision, recall, f1))
    supported = [row for row in rows if row.support]
    total = len(items)
    return Evaluation(
        samples=total,
        major_accuracy=sum(true_positive.values()) / total if total else 0.0,
        code_accuracy=exact / total if total else 0.0,
        per_major=tuple(rows),
        macro_f1=sum(row.f1 for row in supported) / len(supported) if supported else 0.0,
        errors=tuple(errors),
    )


def format_table(result: Evaluation, title: str) -> str:
    """A Markdown table of per-大类 scores followed by the overall figures."""
    lines = [
        f"### {title} ({result.samples} samples)",
        "",
        "| 大类 | name | n | precision | recall | F1 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result.per_major:
        lines.append(
            f"| {row.major} | {row.name} | {row.support} | {row.precision:.2f} | "
            f"{row.recall:.2f} | {row.f1:.2f} |"
        )
    lines += [
        "",
        f"大类 accuracy {result.major_accuracy:.3f}, macro-F1 {result.macro_f1:.3f}, "
        f"exact 小类 accuracy {result.code_accuracy:.3f}",
    ]
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``classify-eval`` subcommand."""
    p = sub.add_parser(
        "classify-eval",
        help="score the text classifier on a labelled set (per-大类 precision/recall/F1)",
        description="Classify every line of a labelled JSON-lines file "
        '({"text": ..., "category": "SJ0102", "major": "SJ01", "split": "tune"}) and print '
        "per-大类 precision, recall and F1, and overall accuracy.",
    )
    p.add_argument(
        "--file",
        type=Path,
        default=DEFAULT_EVAL,
        help="labelled JSON lines (default: the set installed with the bundled rules)",
    )
    p.add_argument(
        "--split",
        default="each",
        help="which samples: 'each' (every split, then all; default), 'all', or a split "
        "name such as 'tune' or 'holdout'",
    )
    p.add_argument("--keywords", type=Path, help="keywords.yaml (default: the bundled rules)")
    p.add_argument("--errors", action="store_true", help="also list misclassified samples")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the evaluation tables; 2 when the file cannot be read."""
    try:
        samples = read_samples(args.file)
    except (OSError, ValueError) as exc:
        print(f"gridflow classify-eval: {exc}", file=sys.stderr)
        return 2
    catalogue = Catalogue.default()
    classifier = (
        TextClassifier.load(args.keywords, catalogue) if args.keywords else TextClassifier.default()
    )
    groups: Sequence[tuple[str, list[Sample]]]
    if args.split == "all":
        groups = [("all", samples)]
    elif args.split == "each":
        # The split keywords were tuned on first, then the held-out one.
        splits = sorted(
            {sample.split for sample in samples if sample.split},
            key=lambda name: ({"tune": 0, "holdout": 1}.get(name, 2), name),
        )
        groups = [(name, [s for s in samples if s.split == name]) for name in splits]
        groups = [*groups, ("all", samples)] if len(splits) > 1 else [("all", samples)]
    else:
        groups = [(args.split, [s for s in samples if s.split == args.split])]
        if not groups[0][1]:
            print(
                f"gridflow classify-eval: no samples with split {args.split!r} in {args.file}",
                file=sys.stderr,
            )
            return 2
    for name, items in groups:
        result = evaluate(items, classifier, catalogue)
        print(format_table(result, f"split: {name}"))
        if args.errors:
            print()
            for sample, code in result.errors:
                print(f"  {sample.category} → {code}  {sample.text}")
        print()
    return 0
