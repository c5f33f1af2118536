"""Topics on a real broker: created with the configured count, and a mismatch refused."""

from __future__ import annotations

import uuid

import pytest
from harness import create_topic

from gridflow.config import Settings
from gridflow.kafka_client import TopicLayoutError, all_topics, ensure_topics
from gridflow.topics import EVENTS_IN

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
