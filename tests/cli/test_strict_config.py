"""Misconfiguration stops a command with one line on stderr and exit 2, never a traceback.

Each case here used to look healthy or end in a traceback: a misspelt variable was
ignored (and the worker started an in-memory broker of its own), a missing config file
too; a bad broker address, an unknown log level, a busy web port or a closed pipe ended
in tracebacks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridflow.cli import main
from gridflow.config import OTHER_VARIABLES, setting_variables
from gridflow.topics import EVENTS_IN


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No GRIDFLOW_* variable of the test session leaks into these cases."""
    for name in list(os.environ):
        if name.startswith("GRIDFLOW_"):
            monkeypatch.delenv(name)
    yield


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_a_misspelt_variable_is_refused_with_a_did_you_mean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAPS", "host:9092")
    assert main(["worker"]) == 2
    err = one_line_error(capsys)
    assert "GRIDFLOW_KAFKA_BOOTSTRAPS" in err
    assert "did you mean GRIDFLOW_KAFKA_BOOTSTRAP?" in err


def test_every_command_refuses_an_unknown_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_LOGLEVEL", "DEBUG")
    assert main(["rules", "check"]) == 2
    assert "did you mean GRIDFLOW_LOG_LEVEL?" in one_line_error(capsys)


def test_a_config_file_that_does_not_exist_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_CONFIG", str(tmp_path / "gridflow.env"))
    assert main(["rules", "check"]) == 2
    assert f"GRIDFLOW_CONFIG names {tmp_path / 'gridflow.env'}" in one_line_error(capsys)


def test_an_unknown_key_in_the_config_file_is_refused_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gridflow.env"
    config.write_text(
        "# worker settings\nGRIDFLOW_PARTITIONS=8\nGRIDFLOW_PARTITION=8\n", encoding="utf-8"
    )
    monkeypatch.setenv("GRIDFLOW_CONFIG", str(config))
    assert main(["rules", "check"]) == 2
    err = one_line_error(capsys)
    assert f"{config}:3: unknown key GRIDFLOW_PARTITION" in err
    assert "did you mean GRIDFLOW_PARTITIONS?" in err


def test_the_config_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gridflow.env"
    config.write_text("GRIDFLOW_TOPIC_PREFIX=cfg.\n", encoding="utf-8")
    monkeypatch.setenv("GRIDFLOW_CONFIG", str(config))
    assert main(["topics", "list"]) == 0
    assert "cfg." + EVENTS_IN in capsys.readouterr().out.split()


def test_a_worker_without_a_broker_does_not_start_one_of_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker"]) == 2
    err = one_line_error(capsys)
    assert "GRIDFLOW_KAFKA_BOOTSTRAP" in err and "--embedded" in err


@pytest.mark.parametrize(
    ("bootstrap", "problem"),
    [
        ("localhost", "'localhost' has no port"),
        ("kafka-0.kafka:9092,kafka-1.kafka", "'kafka-1.kafka' has no port"),
        ("host:port", "port 'port' is not a number"),
        ("127.0.0.1:99999", "port '99999' is not a number from 1 to 65535"),
        ("kafka://host:9092", "without a scheme"),
        ("my host:9092", "is not a host name"),
    ],
)
def test_a_bad_broker_address_is_one_line(
    bootstrap: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", bootstrap)
    assert main(["worker"]) == 2
    err = one_line_error(capsys)
    assert "GRIDFLOW_KAFKA_BOOTSTRAP=" in err and problem in err


def test_an_unknown_log_level_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("GRIDFLOW_LOG_LEVEL", "verbose")
    assert main(["worker"]) == 2
    err = one_line_error(capsys)
    assert "GRIDFLOW_LOG_LEVEL='verbose': not a log level" in err and "DEBUG" in err


def test_a_log_level_in_lower_case_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridflow.config import load_settings

    monkeypatch.setenv("GRIDFLOW_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_a_web_port_in_use_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
        monkeypatch.setenv("GRIDFLOW_WEB_PORT", str(port))
        assert main(["worker"]) == 2
    err = one_line_error(capsys)
    assert f"web port {port} on 127.0.0.1 is in use" in err


def test_output_to_a_closed_pipe_is_one_line() -> None:
    # `gridflow rules check | head -0`: the reader is gone before the first write. As of a
    # day the bundled holiday data covers, so the check itself passes and writes.
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDFLOW_")}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "gridflow", "rules", "check", "--as-of", "2026-09-01"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 2
    assert result.stderr == "gridflow: output closed early (broken pipe); stopped\n"


def test_an_unreachable_broker_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["topics", "create"]) == 2
    assert one_line_error(capsys).startswith("gridflow: Kafka: ")


def test_test_only_variables_are_known_and_say_what_for() -> None:
    known = setting_variables()
    assert "GRIDFLOW_TEST_BROKERS" in known and "GRIDFLOW_CONFIG" in known
    assert all(what for what in OTHER_VARIABLES.values())


def test_rules_check_refuses_an_unknown_verifying_office_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from gridflow.core.bundled import BUNDLED_RULES

    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    catalogue = rules / "catalogue.yaml"
    lines = catalogue.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("  SJ0802: town:scjgs"))
    lines[line - 1] = lines[line - 1].replace("town:scjgs", "town:scjg")
    catalogue.write_text("".join(lines), encoding="utf-8")
    assert main(["rules", "check", str(rules), "--as-of", "2026-09-01"]) == 2
    assert one_line_error(capsys) == (
        f"{catalogue}:{line}: verifiers: SJ0802 names office 'scjg' (did you mean "
        "'scjgs'?), which offices: does not list (known: zjz, scjgs, yjj)\n"
    )
