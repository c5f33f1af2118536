"""The labelled sets of ``classify-eval`` and ``danger-eval``: one reader, bad lines named."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridflow.cli import main
from gridflow.commands import classify_eval, danger_eval

REPORT = '{"text": "楼道着火", "label": "critical", "network": "zongzhi", "split": "tune"}'
SAMPLE = '{"text": "楼道着火", "category": "SJ0401", "split": "tune"}'

#: (command, a good line, a bad line, what the error must say)
BAD_LINES = [
    ("danger-eval", REPORT, "{not json", "not a labelled report ((value): Invalid JSON"),
    ("danger-eval", REPORT, '["a list"]', "(value): Input should be an object"),
    ("danger-eval", REPORT, REPORT.replace("critical", "fatal"), "label: Input should be"),
    ("danger-eval", REPORT, REPORT.replace('"network"', '"netwrk"'), "network: Field required"),
    ("danger-eval", REPORT, REPORT.replace('"split"', '"catgory": "x", "split"'), "catgory:"),
    ("danger-eval", REPORT, REPORT.replace('"tune"', '"tune", "round": "two"'), "round:"),
    ("classify-eval", SAMPLE, "{not json", "not a labelled sample ((value): Invalid JSON"),
    ("classify-eval", SAMPLE, SAMPLE.replace('"category"', '"cat"'), "category: Field required"),
    ("classify-eval", SAMPLE, SAMPLE.replace('"楼道着火"', "42"), "text: Input should be"),
]


@pytest.mark.parametrize(("command", "good", "bad", "says"), BAD_LINES)
def test_a_bad_line_is_one_line_naming_file_and_line(
    command: str,
    good: str,
    bad: str,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "set.jsonl"
    # Blank lines count as lines, so the bad one is line 4.
    path.write_text(f"{good}\n\n{good}\n{bad}\n{good}\n", encoding="utf-8")
    assert main([command, "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"gridflow {command}: {path}:4: "), err
    assert says in err, err
    # The report's words are not echoed (reports can name people).
    assert "楼道着火" not in err


def test_both_read_their_rows_with_the_line_each_stands_on(tmp_path: Path) -> None:
    reports = tmp_path / "danger.jsonl"
    reports.write_text(f"\n{REPORT}\n\n{REPORT.replace('tune', 'holdout')}\n", encoding="utf-8")
    assert [(r.line, r.split, r.round, r.category) for r in danger_eval.read_reports(reports)] == [
        (2, "tune", 1, None),
        (4, "holdout", 1, None),
    ]
    samples = tmp_path / "classify.jsonl"
    samples.write_text(
        f'{SAMPLE}\n{{"text": "t", "category": "SJ0401", "major": "BJ05"}}\n', encoding="utf-8"
    )
    assert [(s.category, s.major, s.split) for s in classify_eval.read_samples(samples)] == [
        ("SJ0401", "SJ04", "tune"),
        ("SJ0401", "BJ05", ""),
    ]


@pytest.mark.parametrize("command", ["danger-eval", "classify-eval"])
def test_a_missing_file_is_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--file", str(tmp_path / "absent.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gridflow {command}: ") and err.count("\n") == 1, err
