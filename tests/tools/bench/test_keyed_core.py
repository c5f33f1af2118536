"""The keyed-batch core bench runs the town stage too and reports CPU per event."""

from __future__ import annotations

import orjson
import pytest

from tools.bench.keyed_core import main, run


def test_the_town_stage_s_commands_are_read_back() -> None:
    summary = run(300, repeat=2, records_per_batch=2)
    assert summary["events"] == 300 and len(summary["samples"]) == 2
    # Every case opened with coordinates is announced to its town and read back.
    assert summary["commands_read"] > 100
    assert summary["outputs"] > 300 + summary["commands_read"] * 0.9
    assert summary["cpu_us_per_event"] > 0


def test_the_command_prints_one_json_line_and_refuses_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--events", "100", "--repeat", "1"]) == 0
    assert orjson.loads(capsys.readouterr().out.splitlines()[-1])["events"] == 100
    assert main(["--repeat", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_single_event_records_go_where_their_keys_hash_and_read_commands_back() -> None:
    summary = run(300, repeat=1, records_per_batch=50, form="single")
    assert summary["form"] == "single" and summary["events"] == 300
    # The town announcements, and the few badly keyed records re-keyed to their region.
    assert summary["commands_read"] > 100
    assert summary["cpu_us_per_event"] > 0
