"""Simulated command centres: read ``grid.dispositions``, answer on ``grid.feedback``.

The behaviour lives in :mod:`gridflow.simulator.casework`; this module moves records. The
centres consume with their own consumer group, so they see every disposition whatever the
processor's own consumers do, and answer each case keyed by its region, as the contract
asks, so the feedback lands on the partition that holds the case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from gridflow.config import Settings
from gridflow.core.regions import RegionGraph
from gridflow.kafka_client import client_kwargs
from gridflow.reference import divisions_path
from gridflow.simulator.casework import Behaviour, Casework, CentreStats
from gridflow.topics import DISPOSITIONS, FEEDBACK
from schemas import Disposition

log = logging.getLogger(__name__)

#: Longest wait for dispositions before looking at the schedule again, milliseconds.
_POLL_MS = 200


async def run_centres(
    settings: Settings,
    seed: int = 0,
    accept_p: float = 0.9,
    resolve_p: float = 0.9,
    ignore_p: float = 0.05,
    return_p: float = 0.03,
    delay_s: tuple[float, float] = (0.5, 3.0),
    stop: asyncio.Event | None = None,
    *,
    extend_p: float = 0.05,
    rework_p: float = 0.05,
    revisit_p: float = 0.3,
    group_id: str | None = None,
    from_beginning: bool = True,
    max_cases: int = 50_000,
    stats: CentreStats | None = None,
    ready: asyncio.Event | None = None,
    deliver: Callable[[bytes, bytes], Awaitable[bool]] | None = None,
) -> CentreStats:
    """Answer dispositions as command centres would, until ``stop`` is set (or cancelled).

    Probabilities are those of :class:`~gridflow.simulator.casework.Behaviour`. Pass
    ``stats`` to watch the counters while it runs; the same object is returned. ``ready``
    is set once the consumer has its partitions. ``from_beginning``: a new group starts
    at the earliest disposition rather than the latest. ``deliver(key, value)``, when
    given, is offered each feedback first (the demo sends some through the HTTP API); what
    it declines is produced to Kafka.
    """
    behaviour = Behaviour(
        accept_p=accept_p,
        resolve_p=resolve_p,
        ignore_p=ignore_p,
        return_p=return_p,
        extend_p=extend_p,
        rework_p=rework_p,
        revisit_p=revisit_p,
        delay_s=delay_s,
    )
    stop = stop if stop is not None else asyncio.Event()
    # 监管分离: the centre above the holder verifies and closes.
    regions = RegionGraph.load_csv(divisions_path(settings))

    def supervisor_of(centre: str) -> str:
        return (regions.parent(centre) if centre in regions else None) or centre

    casework = Casework(
        seed, behaviour, max_cases=max_cases, stats=stats, supervisor_of=supervisor_of
    )
    stats = casework.stats
    feedback_topic = settings.topic(FEEDBACK)
    consumer = AIOKafkaConsumer(
        settings.topic(DISPOSITIONS),
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-sim-centres",
        group_id=group_id or f"{settings.app_id}-sim-centres",
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=True,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
    )
    producer = AIOKafkaProducer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-sim-centres",
        linger_ms=5,
    )

    def delivered(future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            stats.failed += 1

    loop = asyncio.get_running_loop()
    await producer.start()
    try:
        await consumer.start()
        try:
            while not stop.is_set():
                due = casework.next_due()
                wait_ms = _POLL_MS
                if due is not None:
                    wait_ms = max(0, min(wait_ms, int((due - loop.time()) * 1000)))
                batches = await consumer.getmany(timeout_ms=wait_ms, max_records=1000)
                if ready is not None and not ready.is_set() and consumer.assignment():
                    ready.set()
                now = loop.time()
                for records in batches.values():
                    for record in records:
                        try:
                            disposition = Disposition.model_validate_json(record.value or b"")
                        except ValidationError:
                            stats.invalid += 1
                            continue
                        casework.on_disposition(disposition, now)
                for key, value in casework.due(loop.time()):
                    if deliver is not None and await deliver(key, value):
                        continue
                    future = await producer.send(feedback_topic, value=value, key=key)
                    future.add_done_callback(delivered)
            await producer.flush()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
    finally:
        await producer.stop()
    log.info("simulated centres stopped: %s", stats.as_dict())
    return stats
