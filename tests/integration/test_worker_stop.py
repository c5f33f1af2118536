"""A worker told to stop (SIGTERM) stops cleanly, also in the middle of a rebalance."""

from __future__ import annotations

from pathlib import Path

from broker_under_test import BrokerUnderTest
from harness import Deployment, WorkerProcess, wait_until


def test_a_worker_stopped_while_its_group_rebalances_exits_cleanly(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """Session 26's CI: the second worker got SIGTERM 8 ms after it saw the rebalance the
    first one's leaving began, and did not exit within 60 s."""
    dep = Deployment(broker.bootstrap, tmp_path)
    dep.create_topics()
    first, second = (WorkerProcess(dep, name=f"w{i}") for i in (1, 2))
    try:
        for w in (first, second):
            w.start().wait_ready(timeout=120)
        seen = second.log_path.read_text(errors="replace").count("rebalancing")
        assert first.terminate(timeout=60) == 0, first.log_tail()
        wait_until(
            lambda: second.log_path.read_text(errors="replace").count("rebalancing") > seen,
            30,
            "the second worker to see the rebalance",
            interval=0.005,
        )
        assert second.terminate(timeout=60) == 0, second.log_tail(120)
    finally:
        for w in (first, second):
            w.stop()
