"""The producer the on-call commands write with: the workers' connection settings, acks=all.

``acks=all`` because what an operator sends by hand (a fix, a replay) is sent once and
reported as written: it must be on every in-sync replica when the offset is printed.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs
from gridflow.ops.topic_reader import require_bootstrap


def producer(settings: Settings) -> AIOKafkaProducer:
    """An unstarted producer for ``settings``' cluster (bootstrap, SASL, TLS)."""
    require_bootstrap(settings)
    return AIOKafkaProducer(
        **client_kwargs(settings), acks="all", client_id=f"{settings.app_id}-ops"
    )
