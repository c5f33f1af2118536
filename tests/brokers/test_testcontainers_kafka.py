"""Where a Docker engine answers, the suite's Apache Kafka is the official image."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

pytestmark = pytest.mark.integration


async def test_the_official_apache_kafka_image_serves_clients(testcontainers_kafka: str) -> None:
    # Skips, with the reason, where no Docker engine answers (the fixture says why).
    admin = AIOKafkaAdminClient(bootstrap_servers=testcontainers_kafka)
    await admin.start()
    try:
        assert isinstance(await admin.list_topics(), list)
    finally:
        await admin.close()
