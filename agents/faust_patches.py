"""Two settings Faust does not expose, set from the project rather than a fork.

- Faust hard-codes the worker consumer's ``fetch_max_wait_ms=1500``; a broker then holds a
  fetch for up to that long when a partition is quiet, which alone puts p99 latency over a
  second (PITFALLS.md). We lower it after Faust builds the consumer.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

_FETCH_MAX_WAIT_MS = {"value": 50}
_original = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _original(self, transport)
    # aiokafka reads this attribute when it builds its fetcher in start().
    consumer._fetch_max_wait_ms = _FETCH_MAX_WAIT_MS["value"]
    return consumer


def install(fetch_max_wait_ms: int) -> None:
    """Make every worker consumer created from now on wait at most ``fetch_max_wait_ms``."""
    _FETCH_MAX_WAIT_MS["value"] = fetch_max_wait_ms
    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
