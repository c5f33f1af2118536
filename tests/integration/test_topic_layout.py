"""Topics on a real broker: created with the configured count, and a mismatch refused."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from broker_under_test import BrokerUnderTest
from harness import create_topic

from gridflow.config import Settings
from gridflow.kafka_client import TopicLayoutError, all_topics, ensure_topics
from gridflow.topics import DISPOSITIONS, EVENTS_IN

pytestmark = pytest.mark.integration


def _settings(bootstrap: str, partitions: int) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        partitions=partitions,
        topic_prefix=f"layout{uuid.uuid4().hex[:6]}.",
    )


async def test_missing_topics_are_created_and_a_second_call_creates_none(
    kafka_bootstrap: str,
) -> None:
    settings = _settings(kafka_bootstrap, 3)
    assert sorted(await ensure_topics(settings)) == sorted(all_topics(settings))
    assert await ensure_topics(settings) == []


async def test_an_input_topic_with_another_partition_count_is_refused(
    kafka_bootstrap: str,
) -> None:
    # A worker reads partitions 0..GRIDFLOW_PARTITIONS-1: a fifth partition would be
    # silently unread, so the worker must not start.
    settings = _settings(kafka_bootstrap, 4)
    await create_topic(kafka_bootstrap, settings.topic(EVENTS_IN), 5)
    with pytest.raises(TopicLayoutError, match=r"grid\.events\.in has 5 partitions"):
        await ensure_topics(settings)


async def test_topics_are_created_with_production_settings(broker: BrokerUnderTest) -> None:
    settings = _settings(broker.bootstrap, 2)
    changelog = settings.topic("gridflow-cases-changelog")
    await ensure_topics(settings, extra=(changelog,))
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, settings.topic(DISPOSITIONS)),
                ConfigResource(ConfigResourceType.TOPIC, changelog),
            ]
        )
    finally:
        await admin.close()
    configs = {
        name: {entry[0]: entry[1] for entry in resource[4]}
        for response in described
        for resource in response.resources
        for name in [resource[3]]
    }
    dispositions = configs[settings.topic(DISPOSITIONS)]
    assert dispositions["max.message.bytes"] == str(settings.max_message_bytes)
    assert dispositions["min.insync.replicas"] == "1"  # one broker: replication factor 1
    if broker.is_apache_kafka:
        assert dispositions["cleanup.policy"] == "delete"
    else:
        # The embedded broker describes only the configs a topic was created with: no
        # broker defaults (and it enforces none of them: test_oversized_outputs.py).
        assert "cleanup.policy" not in dispositions
    assert configs[changelog]["cleanup.policy"] == "compact"
