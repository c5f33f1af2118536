"""Shared fixtures: a real Kafka broker for integration tests.

By default the embedded broker (Tansu) is started once per session. With
``GRIDFLOW_KAFKA_BOOTSTRAP`` set the tests use that cluster instead; with
``GRIDFLOW_TEST_KAFKA=testcontainers`` they bring up Apache Kafka with testcontainers and
are skipped, with the reason, where no Docker engine answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gridflow.broker import EmbeddedBroker


def _docker_answers() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # any failure means: no engine here
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker for this test session."""
    external = os.environ.get("GRIDFLOW_KAFKA_BOOTSTRAP", "").strip()
    if external:
        yield external
        return
    if os.environ.get("GRIDFLOW_TEST_KAFKA") == "testcontainers":
        reason = _docker_answers()
        if reason:
            pytest.skip(f"GRIDFLOW_TEST_KAFKA=testcontainers but {reason}")
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap
