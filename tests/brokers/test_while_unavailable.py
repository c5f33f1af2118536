"""A service's startup steps against the cluster wait out a broker that is down.

The chaos drill on Apache Kafka (session 27) restarted a worker while one broker of three
was down; its admin request went to that broker and the worker exited with
``NodeNotReadyError``. Errors aiokafka marks retriable are retried; others are raised.
"""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    KafkaConnectionError,
    KafkaError,
    NodeNotReadyError,
    TopicAuthorizationFailedError,
    UnsupportedVersionError,
)

from gridflow.broker import while_unavailable, while_unavailable_async

log = logging.getLogger("test.while_unavailable")


class FailsFirst:
    """A step that raises ``error`` on its first ``times`` calls, then returns "done"."""

    def __init__(self, error: KafkaError, times: int) -> None:
        self.error, self.left, self.calls = error, times, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return "done"


@pytest.mark.parametrize(
    "error",
    [
        NodeNotReadyError("node 1"),
        KafkaConnectionError("connection refused"),
        GroupCoordinatorNotAvailableError(),
    ],
)
def test_a_broker_down_is_waited_out(error: KafkaError, caplog: pytest.LogCaptureFixture) -> None:
    step = FailsFirst(error, times=1)
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert while_unavailable(step, "creating the topics", log) == "done"
    assert step.calls == 2
    assert "creating the topics failed" in caplog.text and "retrying in 0.5 s" in caplog.text


@pytest.mark.parametrize("error", [TopicAuthorizationFailedError(), UnsupportedVersionError("v9")])
def test_an_error_no_wait_cures_is_raised_at_once(error: KafkaError) -> None:
    step = FailsFirst(error, times=1)
    with pytest.raises(type(error)):
        while_unavailable(step, "creating the topics", log)
    assert step.calls == 1


async def test_a_step_on_the_loop_waits_out_a_broker_down_too() -> None:
    """Faust's declaration of its own topics at start (agents/faust_patches.py)."""
    step = FailsFirst(NodeNotReadyError("node 1"), times=2)

    async def declare() -> str:
        return step()

    assert await while_unavailable_async(declare, "declaring topic t", log) == "done"
    assert step.calls == 3


async def test_a_stopping_service_does_not_wait() -> None:
    step = FailsFirst(NodeNotReadyError("node 1"), times=1)

    async def declare() -> str:
        return step()

    with pytest.raises(NodeNotReadyError):
        await while_unavailable_async(declare, "declaring topic t", log, stopping=lambda: True)
    assert step.calls == 1
