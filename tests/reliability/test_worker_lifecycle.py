"""Real worker processes under SIGTERM, a late broker, and the agents' concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.broker import EmbeddedBroker, free_port
from gridflow.topics import DISPOSITIONS, EVENTS_IN, METRICS

VILLAGE = "500103001003"


def event(event_id: str, i: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": datetime.now(UTC).isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.0 + i * 0.01, "lon": 106.0 + i * 0.01},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def test_every_state_writing_agent_runs_with_concurrency_one() -> None:
    from agents.app import GridflowApp
    from gridflow.config import Settings

    app = GridflowApp(Settings(kafka_bootstrap="127.0.0.1:1"))
    agents = list(app.app.agents.values())
    assert agents, "the app defines agents"
    assert {a.name.rsplit(".", 1)[-1]: a.concurrency for a in agents} == {"cases": 1}


@pytest.mark.integration
def test_sigterm_finishes_in_flight_work_publishes_open_kpis_and_a_restart_reprocesses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    dep = Deployment(kafka_bootstrap, tmp_path)
    dep.create_topics()
    first = WorkerProcess(dep, name="first").start().wait_ready()
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    try:
        produce_sync(
            dep.bootstrap,
            dep.topic(EVENTS_IN),
            [(VILLAGE.encode(), event(f"t-{i}", i)) for i in range(200)],
        )
        out.wait_for(
            lambda rs: len({e for r in rs for e in r["events"]}) >= 200, 60, "200 events handled"
        )
        assert first.terminate(timeout=30) == 0, first.log_tail()
        # The open KPI windows went out at the stop (partial records, summed by consumers):
        # the hour window that holds the 200 events counts every one of them.
        kpis = Collector(dep.bootstrap, dep.topic(METRICS))
        try:
            kpis.wait_for(
                lambda rs: sum(r["events_in"] for r in rs if r["window"] == "1h") >= 200,
                30,
                "KPI records of the 200 events",
            )
            assert sum(r["events_in"] for r in kpis.poll() if r["window"] == "1h") == 200
        finally:
            kpis.close()
        second = WorkerProcess(dep, name="second").start().wait_ready()
        try:
            produce_sync(
                dep.bootstrap,
                dep.topic(EVENTS_IN),
                [(VILLAGE.encode(), event("after", 999))],
            )
            out.wait_for(
                lambda rs: any("after" in r["events"] for r in rs),
                60,
                "the event sent after the restart",
            )
            wait_until(
                lambda: second.metric("gridflow_events_in_total") >= 1,
                30,
                "metrics of the new worker",
            )
            assert second.metric("gridflow_events_in_total") == 1, (
                "no committed record was read again"
            )
            assert second.metric("gridflow_duplicates_total") == 0
        finally:
            second.stop()
    finally:
        out.close()
        first.stop()


@pytest.mark.integration
def test_a_worker_started_before_its_broker_waits_and_then_works(tmp_path: Path) -> None:
    port = free_port()
    dep = Deployment(f"127.0.0.1:{port}", tmp_path)
    worker = WorkerProcess(dep, name="early").start()
    try:
        wait_until(
            lambda: "does not answer" in worker.log_tail(), 30, "the worker to say it is waiting"
        )
        assert worker.proc is not None and worker.proc.poll() is None, "no crash loop"
        with EmbeddedBroker(port=port) as broker:
            assert broker.bootstrap == dep.bootstrap
            worker.wait_ready(timeout=90)
            produce_sync(
                dep.bootstrap, dep.topic(EVENTS_IN), [(VILLAGE.encode(), event("late-1", 1))]
            )
            out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
            try:
                out.wait_for(
                    lambda rs: any("late-1" in r["events"] for r in rs), 60, "the first event"
                )
            finally:
                out.close()
            worker.stop()
    finally:
        worker.stop()
