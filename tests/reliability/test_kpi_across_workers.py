"""按期结案率 stays right when the case moves to another worker between opening and closing.

The worker that closes a case counts the close in its KPI windows. Whether the close is
on time is the engine's verdict from the case's own state, which travels with the case
through the changelog: a worker that did not see the case opened or resolved late must
still count the close as late.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from broker_under_test import BrokerUnderTest
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.topics import DISPOSITIONS, EVENTS_IN, FEEDBACK, METRICS

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"
#: the village's town centre: 监管分离, the side above the handler verifies and closes.
TOWN = "500103001000"


def event(event_id: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": datetime.now(UTC).isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.556, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def feedback(case_id: str, action: str, centre: str = VILLAGE) -> bytes:
    return orjson.dumps(
        {
            "feedback_id": f"{case_id}-{action}",
            "case_id": case_id,
            "center_code": centre,
            "action": action,
            "at": datetime.now(UTC).isoformat(),
        }
    )


def send_at(bootstrap: str, topic: str, value: bytes, at: float) -> None:
    """Send one record keyed by the village with record timestamp ``at`` (epoch s).

    The engine acts at the input record's timestamp: a timestamp past the resolve
    deadline makes the resolution late without waiting for the deadline.
    """

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic, value=value, key=VILLAGE.encode(), timestamp_ms=int(at * 1000)
            )
        finally:
            await producer.stop()

    asyncio.run(send())


async def producer_dated_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` keeping producers' timestamps, up to a week ahead."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        configs = {
            "message.timestamp.type": "CreateTime",
            "message.timestamp.after.max.ms": str(7 * 86400 * 1000),
        }
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)])
    finally:
        await admin.close()


def state_of(records: list[dict[str, object]], state: str) -> dict[str, object] | None:
    return next((r for r in records if r["action"] == "state" and r.get("state") == state), None)


def test_a_late_case_closed_on_a_worker_that_did_not_open_it_counts_as_late(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    # The resolution is made late by stamping its record past the deadline; workers clamp
    # record times more than GRIDFLOW_MAX_CLOCK_SKEW_S ahead of their clock
    # (gridflow/core/record_clock.py), so this deployment allows a week.
    dep = Deployment(
        broker.bootstrap, tmp_path, extra_env={"GRIDFLOW_MAX_CLOCK_SKEW_S": str(7 * 86400)}
    )
    # gridflow creates input topics with the broker's append time, which Apache Kafka
    # puts in place of a producer's timestamp (the embedded broker keeps the producer's),
    # and on a CreateTime topic Kafka refuses a timestamp more than
    # message.timestamp.after.max.ms (1 h) ahead. This deployment's feedback topic keeps
    # the producer's timestamp, a week ahead allowed; create_topics leaves it as it is.
    asyncio.run(producer_dated_topic(broker.bootstrap, dep.topic(FEEDBACK), dep.partitions))
    dep.create_topics()
    feedback_topic = dep.topic(FEEDBACK)
    opener = WorkerProcess(dep, name="opener").start().wait_ready()
    closer = WorkerProcess(dep, name="closer")
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    kpis = Collector(dep.bootstrap, dep.topic(METRICS))
    try:
        produce_sync(dep.bootstrap, dep.topic(EVENTS_IN), [(VILLAGE.encode(), event("e1"))])
        [opened] = out.wait_for(
            lambda rs: any(r["action"] == "dispatch" for r in rs), 60, "the dispatch"
        )
        case_id = str(opened["case_id"])
        send_at(dep.bootstrap, feedback_topic, feedback(case_id, "accept"), time.time())
        accepted = out.wait_for(lambda rs: state_of(rs, "accepted") is not None, 60, "accepted")
        resolve_by = datetime.fromisoformat(str(state_of(accepted, "accepted")["deadline"]))  # type: ignore[index]
        late = resolve_by.timestamp() + 3600
        send_at(dep.bootstrap, feedback_topic, feedback(case_id, "resolve"), late)
        out.wait_for(lambda rs: state_of(rs, "resolved") is not None, 60, "resolved, an hour late")

        # The case's partition moves: the closer joins, then the opener leaves.
        closer.start().wait_ready(timeout=120)
        assert opener.terminate(timeout=60) == 0, opener.log_tail()
        send_at(dep.bootstrap, feedback_topic, feedback(case_id, "verify", TOWN), late + 30)
        send_at(dep.bootstrap, feedback_topic, feedback(case_id, "close", TOWN), late + 60)
        out.wait_for(lambda rs: state_of(rs, "closed") is not None, 120, "closed by the closer")
        # A clean stop publishes the open KPI windows (partial records, summed by consumers).
        assert closer.terminate(timeout=60) == 0, closer.log_tail()

        def hourly(records: list[dict[str, object]]) -> tuple[int, int, int]:
            hours = [r for r in records if r["window"] == "1h"]
            return (
                sum(int(r["cases_opened"]) for r in hours),  # type: ignore[call-overload]
                sum(int(r["cases_closed"]) for r in hours),  # type: ignore[call-overload]
                sum(int(r["closed_on_time"]) for r in hours),  # type: ignore[call-overload]
            )

        kpis.wait_for(
            lambda rs: hourly(rs)[:2] == (1, 1), 60, "KPI records of the opening and the close"
        )
        assert hourly(kpis.poll()) == (1, 1, 0), "the close was an hour late: 按期结案 0 of 1"
        # The standard's counts travel the same way: three deadlines (accept, resolve,
        # verify), one missed; the town's verification charged to the town.
        hours = [r for r in kpis.poll() if r["window"] == "1h"]
        assert sum(int(r.get("deadlines", 0)) for r in hours) == 3
        assert sum(int(r.get("overdue", 0)) for r in hours) == 1
        town = [r["by_centre"].get(TOWN, {}) for r in hours]
        assert sum(c.get("verifications", 0) for c in town) == 1
    finally:
        kpis.close()
        out.close()
        closer.stop()
        opener.stop()
