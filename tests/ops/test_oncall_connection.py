"""The on-call commands connect like the workers: same bootstrap, SASL and TLS settings."""

from __future__ import annotations

from typing import Any

import pytest

from gridflow.config import Settings
from gridflow.ops import topic_reader, topic_writer
from gridflow.ops.errors import OpsError
from gridflow.topics import DISPOSITIONS

SASL = Settings(
    kafka_bootstrap="kafka-1:9093,kafka-2:9093",
    kafka_security_protocol="SASL_PLAINTEXT",
    kafka_sasl_mechanism="SCRAM-SHA-512",
    kafka_sasl_username="ops",
    kafka_sasl_password="secret",
)


class Captured:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


def test_reader_uses_the_security_settings_and_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topic_reader, "AIOKafkaConsumer", Captured)
    reader = topic_reader.TopicReader(SASL, [DISPOSITIONS])
    kwargs = reader._consumer.kwargs  # type: ignore[attr-defined]
    assert kwargs["bootstrap_servers"] == ["kafka-1:9093", "kafka-2:9093"]
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "ops" and kwargs["sasl_plain_password"] == "secret"
    # No consumer group: reading never takes partitions from the workers or commits.
    assert kwargs["group_id"] is None and kwargs["enable_auto_commit"] is False


def test_writer_uses_the_security_settings_and_waits_for_all_replicas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(topic_writer, "AIOKafkaProducer", Captured)
    kwargs = topic_writer.producer(SASL).kwargs  # type: ignore[attr-defined]
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_plain_username"] == "ops" and kwargs["acks"] == "all"


def test_no_bootstrap_is_refused_rather_than_guessed() -> None:
    with pytest.raises(OpsError, match="GRIDFLOW_KAFKA_BOOTSTRAP"):
        topic_writer.producer(Settings(kafka_bootstrap=""))
