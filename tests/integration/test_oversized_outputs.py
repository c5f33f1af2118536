"""No input makes the worker write a record the broker refuses (Apache Kafka's ~1 MB limit).

A Rejection quotes the refused value; quoted whole, a large input gives a larger DLQ
record (base64 adds a third, JSON escapes a control character into six bytes). On Apache
Kafka that record would be refused, the batch would fail, and the worker would replay it
on every restart. The quote is therefore a bounded prefix, marked ``original_truncated``;
and a record the broker still refuses is counted, logged and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from broker_under_test import BrokerUnderTest
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.runtime.sender import send_batched
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"
KAFKA_DEFAULT_MESSAGE_BYTES = 1_048_588


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


@pytest.fixture(scope="module")
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, tmp_path_factory.mktemp("oversized"))
    dep.create_topics()
    yield dep


def test_large_inputs_are_rejected_with_a_bounded_prefix_and_the_worker_goes_on(
    deployment: Deployment,
) -> None:
    worker = WorkerProcess(deployment, name="big").start().wait_ready()
    try:
        inputs = {
            # 900 KB that is not UTF-8: whole, its base64 would be 1.2 MB.
            "binary": b"\xff\xfe" + b"\x00\xff" * 450_000,
            # 300 KB of a control character: valid UTF-8, 1.8 MB once escaped in JSON.
            "control": b"\x01" * 300_000,
        }
        produce_sync(
            deployment.bootstrap,
            deployment.topic(EVENTS_IN),
            [(b"k", value) for value in inputs.values()] + [(VILLAGE.encode(), event("after-big"))],
        )
        dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
        out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
        try:
            rejected = dlq.wait_for(lambda rs: len(rs) >= 2, 60, "both large inputs in the DLQ")
            assert all(r["reason"] == "too_large" for r in rejected)
            assert all(r["original_truncated"] is True for r in rejected)
            assert all(len(orjson.dumps(r)) < KAFKA_DEFAULT_MESSAGE_BYTES // 2 for r in rejected)
            assert sorted(r["original_base64"] for r in rejected) == [False, True]
            out.wait_for(
                lambda rs: any("after-big" in r["events"] for r in rs),
                60,
                "the event after the large ones",
            )
        finally:
            dlq.close()
            out.close()
        assert worker.metric("gridflow_outputs_refused_total") == 0
        assert worker.proc is not None and worker.proc.poll() is None
    finally:
        worker.stop()


async def test_a_record_the_broker_refuses_is_reported_and_skipped_not_raised(
    broker: BrokerUnderTest,
) -> None:
    if not broker.is_apache_kafka:
        pytest.skip(
            "the embedded broker enforces no max.message.bytes (it takes a 2 MiB record "
            "on a 1 MiB topic): it refuses nothing to report"
        )
    topic = f"refuse-{datetime.now(UTC).timestamp():.0f}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "100000"})]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    refused: list[tuple[TopicPartition, int]] = []
    try:
        last = await asyncio.wait_for(
            send_batched(
                producer,
                [
                    (topic, b"a", b"small-1", 0),
                    (topic, b"b", b"x" * 200_000, 0),
                    (topic, b"c", b"small-2", 0),
                ],
                on_refused=lambda tp, n, _exc: refused.append((tp, n)),
            ),
            60,
        )
    finally:
        await producer.stop()
    assert refused == [(TopicPartition(topic, 0), 1)]
    assert last == {TopicPartition(topic, 0): 1}, "both small records written, offsets 0 and 1"
