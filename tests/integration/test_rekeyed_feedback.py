"""Feedback from a producer that partitions differently, refused: the DLQ names it as sent.

The worker re-keys feedback that arrives on another partition than its case's region
through grid.cases.commands; when the home partition then refuses it, the Rejection must
still name grid.feedback, the partition and offset it was written to, and carry its
bytes as they were (an extra field, trailing spaces, a numeric offset in a timestamp).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.runtime.partitioning import partition_for
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"
OTHER_VILLAGE = "500103001006"  # 临华路社区, a neighbour


@pytest.fixture(scope="module")
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, tmp_path_factory.mktemp("rekeyed"))
    dep.create_topics()
    yield dep


def _send_elsewhere(bootstrap: str, topic: str, key: bytes, value: bytes, partition: int) -> int:
    """Send with a producer whose partitioner is not Kafka's default; the offset written."""

    def partitioner(key: bytes, all_partitions: list[int], available: list[int]) -> int:
        return partition

    async def send() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, partitioner=partitioner)
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, value=value, key=key)
            assert meta.partition == partition
            return int(meta.offset)
        finally:
            await producer.stop()

    return asyncio.run(send())


def test_a_refused_rekeyed_feedback_names_the_record_as_it_was_sent(
    deployment: Deployment, tmp_path: Path
) -> None:
    worker = WorkerProcess(deployment).start().wait_ready()
    dispositions = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
    try:
        event = {
            "event_id": "rk-1",
            "source_network": "chengguan",
            "reported_at": datetime.now(UTC).isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.556, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
        produce_sync(
            deployment.bootstrap,
            deployment.topic(EVENTS_IN),
            [(VILLAGE.encode(), orjson.dumps(event))],
        )
        records = dispositions.wait_for(
            lambda rs: any(r["action"] == "dispatch" for r in rs), 60, "the dispatch"
        )
        case_id = next(r["case_id"] for r in records if r["action"] == "dispatch")
        # Another village's centre answers: refused as wrong_center on the home partition.
        value = (
            b'{"feedback_id": "rk-fb-1", "case_id": "' + case_id.encode() + b'", '
            b'"center_code": "' + OTHER_VILLAGE.encode() + b'", "action": "accept", '
            b'"at": "2026-11-25T10:00:00.000+08:00", "note": "on it   ", '
            b'"vendor_extra": {"ticket": 7}}'
        )
        home = partition_for(VILLAGE, deployment.partitions)
        elsewhere = (home + 1) % deployment.partitions
        offset = _send_elsewhere(
            deployment.bootstrap, deployment.topic(FEEDBACK), VILLAGE.encode(), value, elsewhere
        )
        rejected = dlq.wait_for(
            lambda rs: any("rk-fb-1" in r["original"] for r in rs), 60, "the rejection"
        )
        (rejection,) = [r for r in rejected if "rk-fb-1" in r["original"]]
        assert rejection["reason"] == "wrong_center", rejection
        assert rejection["source_topic"] == deployment.topic(FEEDBACK)
        assert (rejection["partition"], rejection["offset"]) == (elsewhere, offset)
        assert rejection["original"].encode() == value
    finally:
        dispositions.close()
        dlq.close()
        worker.stop()
