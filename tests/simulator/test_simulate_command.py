"""``gridflow simulate``: clear errors without a broker, a JSON summary with one."""

from __future__ import annotations

import uuid

import orjson
import pytest

from gridflow.cli import main


def test_without_a_broker_it_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRIDFLOW_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("GRIDFLOW_CONFIG", raising=False)
    assert main(["simulate", "--count", "10"]) == 2
    err = capsys.readouterr().err
    assert "GRIDFLOW_KAFKA_BOOTSTRAP" in err and "gridflow broker" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--duplicate-rate", "0.8", "--malformed-rate", "0.5"],
        ["--malformed-rate", "1.5"],
        ["--batch-size", "0"],
        ["--count", "-1"],
        ["--centre-delay", "3", "1"],
    ],
)
def test_impossible_options_are_refused_before_connecting(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An address nobody listens on: the options must be refused before any connection.
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["simulate", *argv]) == 2
    assert "gridflow simulate:" in capsys.readouterr().err


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--rate", "--duration", "--count", "--seed", "--duplicate-rate",
                   "--malformed-rate", "--batch-size", "--centres", "--no-centres",
                   "--no-progress", "examples:"):  # fmt: skip
        assert option in out


@pytest.mark.integration
def test_a_counted_run_prints_a_json_summary(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("GRIDFLOW_TOPIC_PREFIX", f"t-{uuid.uuid4().hex[:12]}.")
    argv = ["simulate", "--count", "300", "--rate", "0", "--seed", "5", "--json", "--no-progress"]
    assert main(argv) == 0
    summary = orjson.loads(capsys.readouterr().out)["simulation"]
    assert summary["events"] == 300 and summary["failed"] == 0 and summary["seed"] == 5
    assert sum(summary["events_by_kind"].values()) == 300
