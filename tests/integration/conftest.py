"""The broker-test modules' shared fixtures: one deployment and one worker per module.

A module that needs another deployment (a compressed SLA scale, its own rules) defines
its own ``deployment`` fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Deployment, WorkerProcess


@pytest.fixture(scope="module")
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    """Fresh topics (own prefix and app id) on the session's broker for this module."""
    dep = Deployment(kafka_bootstrap, tmp_path_factory.mktemp(request.module.__name__))
    dep.create_topics()
    yield dep


@pytest.fixture(scope="module")
def worker(deployment: Deployment) -> Iterator[WorkerProcess]:
    """One ready worker on the module's deployment, stopped when the module ends."""
    w = WorkerProcess(deployment).start().wait_ready()
    yield w
    w.stop()
