"""Connection settings for aiokafka clients and topic creation, from :class:`Settings`."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from gridflow.config import Settings

#: The contract's topics (without prefix) plus the internal re-key topic.
CONTRACT_TOPICS = (
    "grid.events.in",
    "grid.feedback",
    "grid.dispositions",
    "grid.events.dlq",
    "grid.metrics",
)
#: Records that arrived on a partition other than their region's go here, re-keyed.
COMMANDS_TOPIC = "grid.cases.commands"
#: The topics a worker reads: it reads partitions 0 .. GRIDFLOW_PARTITIONS-1 of each.
INPUT_TOPICS = ("grid.events.in", "grid.feedback", COMMANDS_TOPIC)
#: Settings of the input topics gridflow creates.
INPUT_TOPIC_CONFIGS: dict[str, str] = {"message.timestamp.type": "LogAppendTime"}


class TopicLayoutError(RuntimeError):
    """An input topic's partition count differs from ``GRIDFLOW_PARTITIONS``."""


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: bootstrap, TLS and SASL."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        if settings.kafka_ssl_certfile:
            context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None)
        kwargs["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password
    return kwargs


def all_topics(settings: Settings) -> list[str]:
    """Every topic gridflow uses, with the prefix, excluding Faust's own changelogs."""
    return [settings.topic(name) for name in (*CONTRACT_TOPICS, COMMANDS_TOPIC)]


async def ensure_topics(settings: Settings, extra: tuple[str, ...] = ()) -> list[str]:
    """Create every topic with ``settings.partitions`` partitions; return the ones created.

    Topics are created explicitly because a broker's auto-creation picks its own partition
    count, and Faust refuses co-partitioned topics whose counts differ. Raises
    :class:`TopicLayoutError` when an existing input topic has another partition count.
    """
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in (*all_topics(settings), *extra) if t not in existing]
        created: list[str] = []
        inputs = {settings.topic(name) for name in INPUT_TOPICS}
        for name in wanted:
            # Input records carry the broker's append time: the SLA clock starts when a
            # report reached Kafka, not at a producer's unchecked clock (core/record_clock).
            configs = INPUT_TOPIC_CONFIGS if name in inputs else {}
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            settings.partitions,
                            settings.replication_factor,
                            topic_configs=dict(configs),
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        wrong = [
            f"{t['topic']} has {len(t['partitions'])}"
            for t in await admin.describe_topics(sorted(inputs))
            if t["partitions"] and len(t["partitions"]) != settings.partitions
        ]
        if wrong:
            # A worker reads the partitions GRIDFLOW_PARTITIONS names: the records of any
            # further partition would never be read, and fewer would leave regions unowned.
            raise TopicLayoutError(
                f"{'; '.join(wrong)} partitions, GRIDFLOW_PARTITIONS is {settings.partitions}: "
                "set GRIDFLOW_PARTITIONS to the topics' count (every input topic needs the same)"
            )
        return created
    finally:
        await admin.close()
