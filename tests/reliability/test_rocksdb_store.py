"""The RocksDB table store survives a restart, on both brokers.

The embedded broker answers end offsets wrong across batches (docs/PITFALLS.md), so a
RocksDB worker's persisted changelog offset can be above the broker's end offset and
Faust's recovery consistency check refuses it: there, and only there, the worker turns
the check off (agents/app.py). On Apache Kafka the check stays on: the path production
takes.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from broker_under_test import BrokerUnderTest
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.topics import DISPOSITIONS, EVENTS_IN

pytest.importorskip("rocksdb", reason="faust-streaming-rocksdb is not installed")

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"


def event(event_id: str, lat: float) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": "2026-12-04T08:00:00+08:00",
            "region_code": VILLAGE,
            "location": {"lat": lat, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def test_a_rocksdb_worker_restarts_on_its_data_and_reads_only_new_input(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    dep = Deployment(broker.bootstrap, tmp_path, extra_env={"GRIDFLOW_STORE": "rocksdb://"})
    dep.create_topics()
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    try:
        first = WorkerProcess(dep, name="rocks").start().wait_ready(timeout=120)
        produce_sync(dep.bootstrap, dep.topic(EVENTS_IN), [(VILLAGE.encode(), event("r-1", 29.5))])
        out.wait_for(lambda rs: any("r-1" in r["events"] for r in rs), 60, "the first dispatch")
        assert first.terminate() == 0
        assert any((tmp_path / "data-rocks").rglob("*.sst")) or any(
            (tmp_path / "data-rocks").rglob("CURRENT")
        ), "the table lives in RocksDB files"
        # Same name: same data directory, so the store restarts on its own files.
        second = WorkerProcess(dep, name="rocks").start().wait_ready(timeout=120)
        try:
            produce_sync(
                dep.bootstrap, dep.topic(EVENTS_IN), [(VILLAGE.encode(), event("r-2", 29.9))]
            )
            out.wait_for(lambda rs: any("r-2" in r["events"] for r in rs), 60, "the next dispatch")
            assert second.metric("gridflow_events_in_total") == 1, "only the new event was read"
            assert "ConsistencyError" not in second.log_tail(400)
        finally:
            second.stop()
    finally:
        out.close()
