"""Shared fixtures: real brokers for the integration, reliability and chaos tests.

Every test that takes ``kafka_bootstrap`` runs twice, once per broker of the session:

- ``embedded``: the embedded broker (Tansu, gridflow/broker.py), started once;
- ``kafka``: Apache Kafka (KRaft, one combined broker+controller), started once. Where a
  Docker engine answers it is the official ``apache/kafka`` image through testcontainers;
  elsewhere the jars ``make tools`` fetched (gridflow/apache_kafka.py).

``GRIDFLOW_TEST_BROKERS=embedded`` (or ``kafka``) runs one of them only. With
``GRIDFLOW_KAFKA_BOOTSTRAP`` set the tests use that cluster instead, once. When Apache
Kafka cannot run here its tests skip with the reason, except under CI (``CI=true``),
where a missing broker is a failure: a green run must have run on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_under_test import BrokerUnderTest

from gridflow.apache_kafka import KAFKA_VERSION, KafkaCluster, unavailable_reason
from gridflow.broker import EmbeddedBroker

BROKERS = ("embedded", "kafka")


def _docker_answers() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # any failure means: no engine here
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
    return None


def _brokers() -> list[str]:
    if os.environ.get("GRIDFLOW_KAFKA_BOOTSTRAP", "").strip():
        return ["external"]
    wanted = os.environ.get("GRIDFLOW_TEST_BROKERS", "").strip()
    kinds = [k.strip() for k in wanted.split(",") if k.strip()] if wanted else list(BROKERS)
    unknown = sorted(set(kinds) - set(BROKERS))
    if unknown:
        raise pytest.UsageError(f"GRIDFLOW_TEST_BROKERS: unknown broker(s) {unknown}")
    return kinds


def _kafka_missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs Apache Kafka but {reason}", pytrace=False)
    pytest.skip(f"Apache Kafka not available: {reason}")


@pytest.fixture(scope="session")
def testcontainers_kafka() -> Iterator[str]:
    """Apache Kafka from the official image with testcontainers; skips without Docker."""
    reason = _docker_answers()
    if reason:
        pytest.skip(f"testcontainers' apache/kafka:{KAFKA_VERSION} needs Docker: {reason}")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


@pytest.fixture(scope="session", params=_brokers())
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrokerUnderTest]:
    """One broker per kind for the whole session (see the module docstring)."""
    kind: str = request.param
    if kind == "external":
        yield BrokerUnderTest("external", os.environ["GRIDFLOW_KAFKA_BOOTSTRAP"].strip())
        return
    if kind == "embedded":
        log = tmp_path_factory.mktemp("broker") / "tansu.log"
        with EmbeddedBroker(log_path=log) as embedded:
            yield BrokerUnderTest("embedded", embedded.bootstrap)
        return
    if _docker_answers() is None:
        yield BrokerUnderTest("kafka", request.getfixturevalue("testcontainers_kafka"))
        return
    reason = unavailable_reason()
    if reason:
        _kafka_missing(reason)
    with KafkaCluster(nodes=1, directory=tmp_path_factory.mktemp("kafka")) as cluster:
        yield BrokerUnderTest("kafka", cluster.bootstrap)


@pytest.fixture(scope="session")
def kafka_bootstrap(broker: BrokerUnderTest) -> str:
    """Bootstrap address of this session's broker of the current kind."""
    return broker.bootstrap


@pytest.fixture
def kafka_cluster3(tmp_path: Path) -> Iterator[KafkaCluster]:
    """A fresh 3-node Apache Kafka cluster (KRaft) for broker-failure tests."""
    reason = unavailable_reason()
    if reason:
        _kafka_missing(reason)
    with KafkaCluster(nodes=3, directory=tmp_path / "kafka3") as cluster:
        yield cluster
