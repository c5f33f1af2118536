"""GRIDFLOW_PROCESSING_GUARANTEE=exactly_once: one transaction per partition's batch.

On Apache Kafka a read_committed consumer sees every disposition once, also across a
worker SIGKILLed mid-stream; on the embedded broker, whose transactions are unusable,
the worker refuses to start with one clear line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from broker_under_test import BrokerUnderTest
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.topics import DISPOSITIONS, EVENTS_IN

pytestmark = pytest.mark.integration

# One village per partition of 4 (real codes of the bundled division tree).
VILLAGES = ["500101001005", "500101017009", "500101001002", "500101001001"]


def event(i: int) -> tuple[bytes, bytes]:
    region = VILLAGES[i % len(VILLAGES)]
    doc = {
        "event_id": f"eos-{i}",
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": region,
        # Far apart: each report opens its own case (nothing merges).
        "location": {"lat": 29.0 + i * 0.01, "lon": 106.0 + i * 0.01},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    return region.encode(), orjson.dumps(doc)


@pytest.fixture
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    dep = Deployment(
        kafka_bootstrap,
        tmp_path_factory.mktemp("eos"),
        extra_env={"GRIDFLOW_PROCESSING_GUARANTEE": "exactly_once"},
    )
    dep.create_topics()
    yield dep


def test_the_embedded_broker_refuses_exactly_once_with_one_line(
    broker: BrokerUnderTest, deployment: Deployment
) -> None:
    if broker.is_apache_kafka:
        pytest.skip("Apache Kafka has transactions: only the embedded broker refuses exactly_once")
    worker = WorkerProcess(deployment, name="eos-refused").start()
    assert worker.proc is not None
    assert worker.proc.wait(timeout=60) == 2
    log = worker.log_tail()
    assert "exactly_once needs Apache Kafka's transactions" in log
    assert "Traceback" not in log


def test_read_committed_consumers_see_each_disposition_once_across_a_sigkill(
    broker: BrokerUnderTest, deployment: Deployment
) -> None:
    if not broker.is_apache_kafka:
        pytest.skip(
            "the embedded broker has no working transactions (InitProducerId answers "
            "UnknownError, docs/PITFALLS.md): exactly-once needs Apache Kafka's"
        )
    total = 400
    first = WorkerProcess(deployment, name="eos-1").start().wait_ready()
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS), "read_committed")
    try:
        produce_sync(
            deployment.bootstrap,
            deployment.topic(EVENTS_IN),
            [event(i) for i in range(total // 2)],
        )
        # Killed while it works: some batch is mid-transaction or just committed.
        wait_until(
            lambda: first.metric("gridflow_events_in_total") >= total // 4,
            60,
            "the first worker to be busy",
        )
        first.kill()
        produce_sync(
            deployment.bootstrap,
            deployment.topic(EVENTS_IN),
            [event(i) for i in range(total // 2, total)],
        )
        second = WorkerProcess(deployment, name="eos-2").start().wait_ready(timeout=120)
        try:
            records = out.wait_for(
                lambda rs: (
                    len({e for r in rs if r["action"] == "dispatch" for e in r["events"]}) >= total
                ),
                120,
                "a dispatch of every event",
            )
        finally:
            second.stop()
        dispatched = Counter(e for r in records if r["action"] == "dispatch" for e in r["events"])
        assert set(dispatched) == {f"eos-{i}" for i in range(total)}
        assert [e for e, n in dispatched.items() if n > 1] == [], "no disposition twice"
    finally:
        out.close()
        first.stop()
