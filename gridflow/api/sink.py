"""Where the API's accepted input goes: Kafka (acks=all) or, in tests, a list."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from gridflow.api.produce_lane import ProduceLane
from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs


class Sink(Protocol):
    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Deliver (key, value) records; return only once the broker acknowledged all."""

    async def ping(self) -> bool:
        """Is the broker reachable?"""

    async def stop(self) -> None: ...


class KafkaSink:
    """An aiokafka producer with ``acks=all``: a 202 means every in-sync replica has it.

    Not idempotent: aiokafka's idempotent producer fails on the embedded broker, and the
    worker deduplicates by event and feedback id anyway, so a retried send is harmless.
    """

    def __init__(self, settings: Settings, linger_ms: float = 0.0) -> None:
        self.settings = settings
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._lane: ProduceLane | None = None

    async def start(self) -> None:
        # Created here: aiokafka binds its clients to the running loop (uvicorn's).
        self._producer = AIOKafkaProducer(
            **client_kwargs(self.settings),
            acks="all",
            # The lane lingers instead (gridflow/api/produce_lane.py says why).
            linger_ms=0,
            max_batch_size=1024 * 1024,
            max_request_size=2 * 1024 * 1024,
        )
        await self._producer.start()
        self._lane = ProduceLane(self._producer, self.linger_ms / 1000)
        self._lane.start()

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("KafkaSink.start() was not awaited")
        return self._producer

    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        if self._lane is None:
            raise RuntimeError("KafkaSink.start() was not awaited")
        await self._lane.send(topic, records)

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=3)
        except Exception:
            return False
        return True

    async def stop(self) -> None:
        if self._lane is not None:
            await self._lane.stop()
        if self._producer is not None:
            await self._producer.stop()


class MemorySink:
    """Collects what would be produced (tests of the HTTP layer without a broker)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes]] = []
        self.up = True

    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        self.records.extend((topic, k, v) for k, v in records)

    async def ping(self) -> bool:
        return self.up

    async def stop(self) -> None:
        return None
