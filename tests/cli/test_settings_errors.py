"""Invalid GRIDFLOW_* settings end a command with one clear line each, not a traceback."""

from __future__ import annotations

import pytest

from gridflow.cli import main


def test_each_invalid_setting_is_named_with_its_value_and_the_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("GRIDFLOW_PARTITIONS", "four")
    monkeypatch.setenv("GRIDFLOW_PROCESSING_GUARANTEE", "exactly-once")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "GRIDFLOW_PARTITIONS='four': Input should be a valid integer" in err
    assert (
        "GRIDFLOW_PROCESSING_GUARANTEE='exactly-once': Input should be 'at_least_once' or 'exactly_once'"
        in err
    )
    assert "Traceback" not in err


def test_a_password_is_never_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("GRIDFLOW_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("GRIDFLOW_PARTITIONS", "0.5")
    assert main(["worker"]) == 2
    assert "s3cret" not in capsys.readouterr().err
