"""Apache Kafka as the project runs it: assembled from Maven jars, KRaft, on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from gridflow.apache_kafka import (
    KAFKA_VERSION,
    KafkaCluster,
    new_cluster_id,
    node_settings,
)
from gridflow.config import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_the_pom_the_compose_file_and_the_launcher_name_one_kafka_version() -> None:
    pom = (PROJECT_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom
    assert (
        f"image: apache/kafka:{KAFKA_VERSION}" in (PROJECT_ROOT / "docker-compose.yml").read_text()
    )


def test_a_cluster_id_is_22_url_safe_characters_as_kafka_writes_them() -> None:
    cid = new_cluster_id()
    assert len(cid) == 22 and "=" not in cid and "+" not in cid and "/" not in cid


def test_a_cluster_id_never_starts_with_a_dash_the_storage_tool_would_read_as_an_option() -> None:
    # One draw in 64 starts with "-": 2,000 draws miss it with probability ~1e-14.
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


@pytest.mark.parametrize(("nodes", "replicas", "isr"), [(1, "1", "1"), (3, "3", "2")])
def test_internal_topics_are_replicated_as_on_a_production_cluster(
    nodes: int, replicas: str, isr: str
) -> None:
    settings = node_settings(nodes)
    assert settings["offsets.topic.replication.factor"] == replicas
    assert settings["transaction.state.log.replication.factor"] == replicas
    assert settings["transaction.state.log.min.isr"] == isr
    assert settings["auto.create.topics.enable"] == "false"
    assert "message.max.bytes" not in settings  # Kafka's default limit, as deployed


async def _write_and_read(bootstrap: str, topic: str, count: int) -> list[bytes]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(topic, str(i).encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        got: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + 60
        while len(got) < count and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got.extend(r.value for r in records if r.value is not None)
        return got
    finally:
        await consumer.stop()


@pytest.mark.slow
def test_a_3_node_cluster_keeps_acknowledged_writes_across_a_sigkilled_leader(
    kafka_cluster3: KafkaCluster, tmp_path: Path
) -> None:
    cluster = kafka_cluster3

    async def scenario() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic("drill", 1, 3, topic_configs={"min.insync.replicas": "2"})]
            )
            # The controller answers create_topics before every broker's metadata has
            # the new partition: describe until it names a leader (once seen empty in CI).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                (meta,) = await admin.describe_topics(["drill"])
                partitions = meta["partitions"]
                if partitions and partitions[0]["leader"] >= 0:
                    break
                assert loop.time() < deadline, f"no leader for drill: {meta}"
                await asyncio.sleep(0.1)
        finally:
            await admin.close()
        leader = meta["partitions"][0]["leader"]
        assert sorted(meta["partitions"][0]["replicas"]) == [1, 2, 3]
        assert await _write_and_read(cluster.bootstrap, "drill", 50) == [
            str(i).encode() for i in range(50)
        ]
        cluster.kill(leader)
        assert not cluster.node(leader).running
        # Two of three replicas remain in sync: acks=all writes still succeed.
        survivors = ",".join(n.address for n in cluster.members if n.running)
        got = await _write_and_read(survivors, "drill", 50)
        assert got[:50] == [str(i).encode() for i in range(50)]
        cluster.restart(leader)
        assert cluster.node(leader).running

    asyncio.run(scenario())
