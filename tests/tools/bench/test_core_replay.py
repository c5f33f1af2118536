"""The core replay is reproducible: the same stream gives the same bytes, run after run.

That is what makes it a before/after check for an optimisation of the core (compare two
trees' output files; tools/bench/README.md says how).
"""

from __future__ import annotations

import io

import orjson
import pytest

from tools.bench.core_replay import main, replay


def test_the_same_stream_gives_the_same_outputs_byte_for_byte() -> None:
    first, second = io.StringIO(), io.StringIO()
    one = replay(600, seed=3, step=600.0, batch=100, out=first)
    two = replay(600, seed=3, step=600.0, batch=100, out=second)
    assert first.getvalue() == second.getvalue()
    assert one["sha256"] == two["sha256"]
    lines = first.getvalue().splitlines()
    # Dispositions, state rows, DLQ records (the simulator's malformed ones) and SLA steps
    # driven by the ticks are all in it.
    assert any(line.startswith("out grid.dispositions ") for line in lines)
    assert any(line.startswith("row ") for line in lines)
    assert any(line.startswith("out grid.events.dlq ") for line in lines)
    assert any('"action":"sla_breach"' in line for line in lines)


def test_another_seed_gives_other_outputs() -> None:
    assert replay(200, seed=3)["sha256"] != replay(200, seed=4)["sha256"]


def test_the_command_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "50"]) == 0
    summary = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["events"] == 50 and len(summary["sha256"]) == 64
