"""Produce simulated field reports to ``grid.events.in`` at a steady rate.

Pacing is a token bucket anchored at the start time: event *i* is due at
``start + i / rate``, so sleeping late or sending a burst never shifts the schedule and the
average rate does not drift. A batch record is sent once all of its events are due.
Records are handed to the producer without waiting for each acknowledgement; ``linger``
lets aiokafka pack them into large requests, and delivery failures are counted from the
futures.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from gridflow.config import Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.regions import RegionGraph
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.reference import divisions_path
from gridflow.simulator.events import BOUNDARY, EventGenerator, SimRecord, network_codes
from gridflow.simulator.progress import ProgressLine
from gridflow.topics import EVENTS_IN

#: Records handed to the producer per scheduling step before yielding to the event loop.
_CHUNK = 512
#: Longest single sleep, so ``stop`` and the progress line stay responsive.
_MAX_NAP = 0.2
#: Producer batch size: large batches are what make a Python producer fast.
_BATCH_BYTES = 1024 * 1024


@dataclass
class SimStats:
    """What a simulation run sent, by record kind (see :class:`SimRecord`)."""

    topic: str
    seed: int
    records_by_kind: Counter[str] = field(default_factory=Counter)
    events_by_kind: Counter[str] = field(default_factory=Counter)
    #: new reports (valid, duplicate) in GCJ-02 / BD-09, and 12345 reports by 诉求类型.
    events_by_coord_system: Counter[str] = field(default_factory=Counter)
    hotline_by_request_type: Counter[str] = field(default_factory=Counter)
    records: int = 0
    events: int = 0
    bytes: int = 0
    #: records the broker did not acknowledge.
    failed: int = 0
    first_error: str | None = None
    elapsed_s: float = 0.0
    #: (event id, the event id it repeats) of every ``boundary`` record sent (跨村合并).
    boundary_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Events handed to the broker in all (every kind)."""
        return self.events

    @property
    def events_per_s(self) -> float:
        """The achieved rate over the whole run, acknowledgements included."""
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def count(self, record: SimRecord) -> None:
        """Account for one record handed to the producer."""
        self.records += 1
        self.events += record.events
        self.bytes += len(record.value)
        self.records_by_kind[record.kind] += 1
        self.events_by_kind[record.kind] += record.events
        if record.kind == BOUNDARY and record.original_id is not None:
            event_id = orjson.loads(record.value).get("event_id")
            self.boundary_pairs.append((str(event_id), record.original_id))
        if record.coord_systems:
            self.events_by_coord_system.update(record.coord_systems)
        if record.request_types:
            self.hotline_by_request_type.update(record.request_types)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "topic": self.topic,
            "seed": self.seed,
            "records": self.records,
            "events": self.events,
            "bytes": self.bytes,
            "failed": self.failed,
            "first_error": self.first_error,
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "records_by_kind": dict(sorted(self.records_by_kind.items())),
            "events_by_kind": dict(sorted(self.events_by_kind.items())),
            "events_by_coord_system": dict(sorted(self.events_by_coord_system.items())),
            "hotline_by_request_type": dict(sorted(self.hotline_by_request_type.items())),
        }


def _show_progress(progress: bool | None) -> bool:
    return progress if progress is not None else sys.stderr.isatty()


def seeded_generator(
    settings: Settings,
    seed: int,
    duplicate_rate: float,
    malformed_rate: float,
    batch_size: int,
    *,
    clock: Callable[[], datetime] | None = None,
    boundary_rate: float = 0.0,
) -> EventGenerator:
    """The seeded event stream over the processor's own region tree, catalogue and networks.

    ``GRIDFLOW_RULES`` and ``GRIDFLOW_DIVISIONS`` apply, so the simulator sends what the
    worker it feeds would accept; sending (run_simulation) and recording
    (recording.record_simulation) draw the same stream from the same seed.
    """
    catalogue = Catalogue.load(settings.rules / "catalogue.yaml", settings.rules / "networks.yaml")
    options: dict[str, Any] = {
        "regions": RegionGraph.load_csv(divisions_path(settings)),
        "catalogue": catalogue,
        "own_codes": network_codes(catalogue),
        "duplicate_rate": duplicate_rate,
        "malformed_rate": malformed_rate,
        "boundary_rate": boundary_rate,
        "batch_size": batch_size,
        "max_record_bytes": settings.max_record_bytes,
        "max_batch_events": settings.max_batch_events,
    }
    if clock is not None:
        options["clock"] = clock
    return EventGenerator(seed, **options)


async def run_simulation(
    settings: Settings,
    rate: float = 100.0,
    duration: float | None = None,
    count: int | None = None,
    seed: int = 0,
    duplicate_rate: float = 0.1,
    malformed_rate: float = 0.01,
    batch_size: int = 1,
    progress: bool | None = None,
    *,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    create_topics: bool = True,
    stats: SimStats | None = None,
    boundary_rate: float = 0.0,
) -> SimStats:
    """Produce simulated events to ``settings.topic("grid.events.in")``.

    ``rate`` is in events per second (``<= 0``: as fast as possible). The run ends after
    ``count`` events, after ``duration`` seconds, or when ``stop`` is set, whichever comes
    first; with none of them it runs until cancelled. ``progress``: ``None`` draws a
    progress line on stderr when it is a terminal, ``True`` always, ``False`` never.
    Topics are created first unless ``create_topics`` is false. Pass ``stats`` to watch
    the counters while it runs; the same object is returned once every record is
    acknowledged or has failed.
    """
    if count is not None and count < 0:
        raise ValueError("count must be >= 0")
    # Loaded before the clock starts: it takes a moment.
    generator = seeded_generator(
        settings,
        seed,
        duplicate_rate,
        malformed_rate,
        batch_size,
        clock=clock,
        boundary_rate=boundary_rate,
    )
    topic = settings.topic(EVENTS_IN)
    if create_topics:
        await ensure_topics(settings)
    if stats is None:
        stats = SimStats(topic=topic, seed=seed)
    else:
        stats.topic, stats.seed = topic, seed
    bar = ProgressLine(total=count, duration=duration) if _show_progress(progress) else None

    def delivered(future: asyncio.Future[Any]) -> None:
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is not None:
            stats.failed += 1
            stats.first_error = stats.first_error or f"{type(error).__name__}: {error}"

    producer = AIOKafkaProducer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-simulator",
        linger_ms=max(settings.producer_linger_ms, 5),
        max_batch_size=_BATCH_BYTES,
        # An oversize record is part of the simulation: the broker must take it so the
        # processor can reject it.
        max_request_size=max(4 * settings.max_record_bytes, 4 * _BATCH_BYTES),
        acks=1,
    )
    await producer.start()
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + duration if duration is not None else None
    try:
        while True:
            now = loop.time()
            if (stop is not None and stop.is_set()) or (deadline is not None and now >= deadline):
                break
            remaining = None if count is None else count - stats.events
            if remaining is not None and remaining <= 0:
                break
            need = batch_size if remaining is None else min(batch_size, remaining)
            if rate > 0:
                due = start + (stats.events + need - 1) / rate
                if due > now:
                    nap = min(due - now, _MAX_NAP)
                    if deadline is not None:
                        nap = min(nap, max(0.0, deadline - now))
                    await asyncio.sleep(nap)
                    if bar is not None:
                        bar.update(stats.events)
                    continue
                budget = int((now - start) * rate) + 1 - stats.events
            else:
                budget = _CHUNK * batch_size
            sent_now = 0
            while sent_now < _CHUNK * batch_size:
                left = None if remaining is None else remaining - sent_now
                want = batch_size if left is None else min(batch_size, left)
                # A batch waits until all of its events are due; the count is never exceeded.
                if want <= 0 or budget - sent_now < want:
                    break
                record = generator.next_record(want)
                future = await producer.send(topic, value=record.value, key=record.key)
                future.add_done_callback(delivered)
                stats.count(record)
                sent_now += record.events
            if bar is not None:
                bar.update(stats.events)
            # Let the sender task and the stop event have the loop between chunks.
            await asyncio.sleep(0)
        await producer.flush()
    finally:
        stats.elapsed_s = loop.time() - start
        await producer.stop()
        if bar is not None:
            bar.close(stats.events)
    return stats
