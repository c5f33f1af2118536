"""Connection settings for aiokafka clients and topic creation, from :class:`Settings`."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from gridflow.config import Settings
from gridflow.topics import ALL_TOPICS, INPUT_TOPIC_CONFIGS, INPUT_TOPICS


class TopicLayoutError(RuntimeError):
    """An input topic's partition count differs from ``GRIDFLOW_PARTITIONS``."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """How to reach the brokers: TLS context and SASL login, from the settings.

    The one place both are built; aiokafka clients take :func:`client_kwargs`, Faust takes
    the same values as its credentials (``agents/app.py``).
    """

    protocol: str
    #: For SSL and SASL_SSL; None otherwise.
    ssl_context: ssl.SSLContext | None
    #: For SASL_PLAINTEXT and SASL_SSL; None otherwise.
    sasl_mechanism: str | None
    sasl_username: str
    sasl_password: str


def kafka_security(settings: Settings) -> KafkaSecurity:
    """The TLS context and SASL login ``GRIDFLOW_KAFKA_*`` describe."""
    proto = settings.kafka_security_protocol
    context = None
    if proto in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        if settings.kafka_ssl_certfile:
            context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None)
    sasl = proto.startswith("SASL")
    return KafkaSecurity(
        protocol=proto,
        ssl_context=context,
        sasl_mechanism=settings.kafka_sasl_mechanism if sasl else None,
        sasl_username=settings.kafka_sasl_username if sasl else "",
        sasl_password=settings.kafka_sasl_password if sasl else "",
    )


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: bootstrap, TLS and SASL."""
    security = kafka_security(settings)
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": security.protocol,
    }
    if security.ssl_context is not None:
        kwargs["ssl_context"] = security.ssl_context
    if security.sasl_mechanism is not None:
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = security.sasl_password
    return kwargs


async def cluster_id(settings: Settings) -> str | None:
    """The id the cluster reports in its metadata (None when it reports none)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        found = (await admin.describe_cluster()).get("cluster_id")
        return str(found) if found else None
    finally:
        await admin.close()


def all_topics(settings: Settings) -> list[str]:
    """Every topic gridflow uses, with the prefix, excluding Faust's own changelogs."""
    return [settings.topic(name) for name in ALL_TOPICS]


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
