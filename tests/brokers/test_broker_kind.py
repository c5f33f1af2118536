"""The worker tells Apache Kafka from the embedded broker by what the broker answers."""

from __future__ import annotations

import pytest
from conftest import BrokerUnderTest

from gridflow.broker import free_port
from gridflow.broker_kind import BrokerKind, probe_broker_kind

pytestmark = pytest.mark.integration


def test_each_session_broker_is_recognised(broker: BrokerUnderTest) -> None:
    expected = BrokerKind.APACHE_KAFKA if broker.is_apache_kafka else BrokerKind.EMBEDDED
    assert probe_broker_kind(broker.bootstrap) is expected


def test_an_unreachable_or_encrypted_broker_is_unknown() -> None:
    assert probe_broker_kind(f"127.0.0.1:{free_port()}") is BrokerKind.UNKNOWN
    assert probe_broker_kind("127.0.0.1:9093", "SASL_SSL") is BrokerKind.UNKNOWN
