"""Invalid GRIDFLOW_* settings end a command with one clear line each, not a traceback."""

from __future__ import annotations

import os

import pytest

from gridflow.cli import main
from gridflow.config import SettingsError, load_settings


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


@pytest.mark.parametrize(
    ("value", "gathered_ms", "problem"),
    [
        (None, 0, None),  # unset: fetch again as soon as a batch is done (the old behaviour)
        ("0", 0, None),
        ("10", 10, None),
        ("1000", 1000, None),
        ("-1", None, "GRIDFLOW_INPUT_GATHER_MS='-1': Input should be greater than or equal to 0"),
        (
            "1001",
            None,
            "GRIDFLOW_INPUT_GATHER_MS='1001': Input should be less than or equal to 1000",
        ),
        ("2.5", None, "GRIDFLOW_INPUT_GATHER_MS='2.5': Input should be a valid integer"),
    ],
)
def test_the_input_gathering_interval_is_0_to_1000_ms(
    value: str | None,
    gathered_ms: int | None,
    problem: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("GRIDFLOW_"):
            monkeypatch.delenv(name)
    if value is not None:
        monkeypatch.setenv("GRIDFLOW_INPUT_GATHER_MS", value)
    if problem is None:
        assert load_settings().input_gather_ms == gathered_ms
        return
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err


def test_a_misspelt_gathering_interval_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_INPUT_GATHER", "10")
    with pytest.raises(SettingsError, match="did you mean GRIDFLOW_INPUT_GATHER_MS"):
        load_settings()
