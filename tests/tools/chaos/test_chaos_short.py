"""A short chaos drill on a real broker: 3 workers, SIGKILLed under load, outputs verified.

The full drill is ``gridflow chaos`` (20 000 events, 10+ kills); this is its quick form,
small enough for the suite (well under 150 s on two cores).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chaos.checker import summary_lines
from tools.chaos.harness import ChaosConfig, run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.timeout(240)
def test_kills_under_load_lose_nothing_and_escalate_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    config = ChaosConfig(
        events=2500,
        workers=3,
        kill_every=(5.0, 9.0),
        min_kills=2,
        seed=11,
        centres_tail_s=8.0,
        quiet_s=5.0,
        drain_timeout_s=45.0,
        bootstrap=kafka_bootstrap,
        workdir=tmp_path,
    )
    lines: list[str] = []
    result = run_chaos(config, log=lines.append)
    report = "\n".join([*lines, *summary_lines(result.verdict), f"logs: {tmp_path}"])
    v = result.verdict

    assert len(result.kills) >= 2, report
    assert result.produce_failed == 0, report
    assert result.drained, report
    assert v.escalations > 0, "no escalation happened: the SLA scale is too large\n" + report
    assert v.lost == 0 and v.split == 0, report
    assert v.duplicate_escalations == 0, report
    assert v.lost_feedback == 0, report
    assert v.missing_dlq == 0, report
    assert v.passed, report
    assert result.timings["total_s"] < 150, report
