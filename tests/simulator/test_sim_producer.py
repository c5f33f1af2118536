"""The simulator on a real broker: what it counts is what lands on grid.events.in, at the rate asked."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.simulator.events import CST, generate
from gridflow.simulator.producer import SimStats, run_simulation
from gridflow.topics import EVENTS_IN

pytestmark = pytest.mark.integration

FIXED = datetime(2024, 5, 6, 9, 30, tzinfo=CST)


def fixed_clock() -> datetime:
    return FIXED


async def fresh(bootstrap: str) -> Settings:
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"t-{uuid.uuid4().hex[:12]}.")
    await ensure_topics(settings)
    return settings


async def read_back(
    settings: Settings, expected: int, within_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Consume grid.events.in from the start until ``expected`` records or the deadline.

    The embedded broker's end offsets are unreliable across batches, so the count
    decides, not the offsets.
    """
    consumer = AIOKafkaConsumer(
        settings.topic(EVENTS_IN),
        **client_kwargs(settings),
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    seen: list[ConsumerRecord[bytes, bytes]] = []
    try:
        while len(seen) < expected and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend(records)
        # Anything beyond the expected count would be a bug: give it a moment to show.
        extra_until = loop.time() + 0.5
        while loop.time() < extra_until:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                seen.extend(records)
    finally:
        await consumer.stop()
    return seen


async def test_every_record_counted_lands_on_the_topic_exactly_once(kafka_bootstrap: str) -> None:
    settings = await fresh(kafka_bootstrap)
    stats = await run_simulation(
        settings, rate=20_000, count=500, seed=42, duplicate_rate=0.2, malformed_rate=0.05,
        batch_size=1, progress=False, clock=fixed_clock,
    )  # fmt: skip
    assert (stats.events, stats.failed) == (500, 0)
    expected = generate(
        500, 42, duplicate_rate=0.2, malformed_rate=0.05, clock=fixed_clock,
        max_record_bytes=settings.max_record_bytes,
    )  # fmt: skip
    assert stats.records_by_kind == Counter(r.kind for r in expected)
    seen = await read_back(settings, stats.records)
    assert Counter((r.key or None, r.value) for r in seen) == Counter(
        (r.key or None, r.value) for r in expected
    )


async def test_batches_carry_every_event(kafka_bootstrap: str) -> None:
    settings = await fresh(kafka_bootstrap)
    stats = await run_simulation(
        settings, rate=0, count=500, seed=1, duplicate_rate=0.1, malformed_rate=0.0,
        batch_size=50, progress=False,
    )  # fmt: skip
    assert stats.records < 200 and stats.failed == 0
    seen = await read_back(settings, stats.records)
    events = 0
    for record in seen:
        doc = orjson.loads(record.value)
        events += len(doc) if isinstance(doc, list) else 1
    assert (len(seen), events) == (stats.records, 500)


async def test_the_rate_is_held_without_drift(kafka_bootstrap: str) -> None:
    settings = await fresh(kafka_bootstrap)
    stats = await run_simulation(settings, rate=400, count=300, seed=2, progress=False)
    # Event i is due at i/rate: the last one no earlier than 299/400 s after the start.
    assert 299 / 400 <= stats.elapsed_s < 299 / 400 + 1.5
    stats = await run_simulation(settings, rate=300, duration=1.0, seed=3, progress=False)
    assert 280 <= stats.events <= 301


async def test_setting_stop_ends_an_open_ended_run(kafka_bootstrap: str) -> None:
    settings = await fresh(kafka_bootstrap)
    stop = asyncio.Event()
    live = SimStats(topic="", seed=0)
    run = asyncio.create_task(
        run_simulation(settings, rate=1_000, seed=4, progress=False, stop=stop, stats=live)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while live.events < 100 and loop.time() < deadline and not run.done():
        await asyncio.sleep(0.02)
    stop.set()
    stats = await asyncio.wait_for(run, 30)
    assert stats is live
    assert stats.failed == 0 and stats.events >= 100
    assert stats.topic == settings.topic(EVENTS_IN)
