"""One builder for the TLS context and SASL login: aiokafka clients and Faust get the same."""

from __future__ import annotations

import faust
import pytest

from agents.app import _credentials
from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs, kafka_security


def _settings(protocol: str, mechanism: str = "PLAIN") -> Settings:
    return Settings(
        kafka_bootstrap="b1:9092,b2:9092",
        kafka_security_protocol=protocol,  # type: ignore[arg-type]
        kafka_sasl_mechanism=mechanism,  # type: ignore[arg-type]
        kafka_sasl_username="grid",
        kafka_sasl_password="s3cret",
    )


@pytest.mark.parametrize(
    ("protocol", "mechanism", "tls", "sasl", "faust_type"),
    [
        ("PLAINTEXT", "PLAIN", False, False, type(None)),
        ("SSL", "PLAIN", True, False, faust.SSLCredentials),
        ("SASL_PLAINTEXT", "PLAIN", False, True, faust.SASLCredentials),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256", False, True, faust.SASLCredentials),
        ("SASL_SSL", "SCRAM-SHA-512", True, True, faust.SASLCredentials),
    ],
)
def test_aiokafka_and_faust_get_the_same_security(
    protocol: str, mechanism: str, tls: bool, sasl: bool, faust_type: type
) -> None:
    settings = _settings(protocol, mechanism)
    security = kafka_security(settings)
    assert (security.ssl_context is not None) == tls
    assert (security.sasl_mechanism is not None) == sasl

    kwargs = client_kwargs(settings)
    assert kwargs["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert kwargs["security_protocol"] == protocol
    assert ("ssl_context" in kwargs) == tls
    if sasl:
        assert kwargs["sasl_mechanism"] == mechanism
        assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("grid", "s3cret")
    else:
        assert "sasl_mechanism" not in kwargs

    credentials = _credentials(settings)
    assert isinstance(credentials, faust_type)
    if sasl:
        assert credentials.mechanism.value == mechanism
        assert credentials.protocol.value == protocol
        assert (credentials.username, credentials.password) == ("grid", "s3cret")
