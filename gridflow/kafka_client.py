"""Connection settings for aiokafka clients and topic creation, from :class:`Settings`."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from gridflow.broker import TANSU_CLUSTER_IDS
from gridflow.config import Settings
from gridflow.topics import (
    ALL_TOPICS,
    COMPACTED_TOPICS,
    INPUT_TOPIC_CONFIGS,
    INPUT_TOPICS,
    SILENCES,
)


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


async def on_embedded_broker(settings: Settings) -> bool:
    """Whether the cluster is the embedded broker (Tansu): its workarounds apply."""
    return await cluster_id(settings) in TANSU_CLUSTER_IDS


def all_topics(settings: Settings) -> list[str]:
    """Every topic gridflow uses, with the prefix, excluding Faust's own changelogs."""
    return [settings.topic(name) for name in ALL_TOPICS]


def topic_configs(
    settings: Settings, *, changelog: bool = False, input_topic: bool = False
) -> dict[str, str]:
    """Production settings of a topic gridflow creates.

    Input topics carry the broker's append time (``INPUT_TOPIC_CONFIGS``): the SLA clock
    starts when a report reached Kafka, not at a producer's unchecked clock.

    ``min.insync.replicas`` is 2 once there are 3 replicas (with ``acks=all`` a write
    survives the loss of one broker); ``max.message.bytes`` is the limit the worker
    bounds its own records by (see ``Settings.max_message_bytes``); the case table's
    changelog is compacted, so it keeps the last row of every key and nothing older.
    """
    configs = {
        "min.insync.replicas": str(max(1, min(2, settings.replication_factor - 1))),
        "max.message.bytes": str(settings.max_message_bytes),
    }
    if changelog:
        configs["cleanup.policy"] = "compact"
    if input_topic:
        configs.update(INPUT_TOPIC_CONFIGS)
    return configs


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic (the message has its error)."""


async def ensure_topics(settings: Settings, extra: tuple[str, ...] = ()) -> list[str]:
    """Create every missing topic with ``settings.partitions`` partitions; return those created.

    ``extra`` names the case table's changelog topics, created compacted. Topics are
    created explicitly because a broker's auto-creation picks its own partition count,
    and Faust refuses co-partitioned topics whose counts differ. Returns once every topic
    is in the cluster's metadata (on Apache Kafka creation propagates asynchronously).
    Raises :class:`TopicLayoutError` when an existing input topic has another partition
    count.
    """
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        changelogs = set(extra)
        # grid.rules and the like: compacted, one partition (the order of publications).
        compacted = {settings.topic(name) for name in COMPACTED_TOPICS}
        wanted = [t for t in dict.fromkeys((*all_topics(settings), *extra)) if t not in existing]
        created: list[str] = []
        # Silences take effect by the broker's append time, as inputs are decided by it.
        input_names = {settings.topic(name) for name in (*INPUT_TOPICS, SILENCES)}
        if wanted:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name,
                        1 if name in compacted else settings.partitions,
                        settings.replication_factor,
                        topic_configs=topic_configs(
                            settings,
                            changelog=name in changelogs or name in compacted,
                            # grid.rules too: a bundle switches no earlier than its
                            # append time, on the same clock as the inputs' (hot reload).
                            input_topic=name in input_names or name in compacted,
                        ),
                    )
                    for name in wanted
                ]
            )
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    message = rest[0] if rest and rest[0] else f"error code {code}"
                    raise TopicCreationError(f"creating topic {name} failed: {message}")
        await _await_metadata(admin, [*all_topics(settings), *extra])
        inputs = [settings.topic(name) for name in INPUT_TOPICS]
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
        return sorted(created, key=wanted.index)
    finally:
        await admin.close()


async def _await_metadata(
    admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 30.0
) -> None:
    """Poll until every topic has partitions with leaders in the metadata."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        described = await admin.describe_topics(topics)
        missing = [
            t["topic"]
            for t in described
            if t.get("error_code", 0) != 0
            or not t["partitions"]
            or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not missing or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.1)
