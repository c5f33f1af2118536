"""Run the chaos scenario: N workers under load, SIGKILLed and restarted at random.

Start (or reuse, via ``GRIDFLOW_KAFKA_BOOTSTRAP``) a broker, create this run's topics under
its own prefix and app id, start ``workers`` × ``python -m gridflow worker``, produce the
simulated stream (cross-network duplicates, resends, malformed records) at a steady rate
while simulated centres answer on ``grid.feedback``, and every ``kill_every`` seconds
SIGKILL a random worker's process group and start it again. Then drain, read every output
topic until nothing new arrives (the embedded broker's end offsets are wrong, so they are
never trusted), and hand everything to :func:`tools.chaos.checker.check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gridflow.apache_kafka import KafkaCluster
from gridflow.broker import EmbeddedBroker, free_port
from gridflow.config import Settings, load_settings
from gridflow.kafka_client import client_kwargs, ensure_topics, on_embedded_broker
from gridflow.runtime.checkpoint import POSITION_PREFIX
from gridflow.runtime.fetch_holes import FetchHoles
from gridflow.simulator.casework import CentreStats
from gridflow.simulator.centres import run_centres
from gridflow.simulator.events import EventGenerator
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK
from gridflow.worker_process import http_get, kill_group, spawn_worker, terminate
from tools.chaos.broker_failures import BrokerFailures
from tools.chaos.checker import VALID_KINDS, Sent, Verdict, check

Log = Callable[[str], None]

#: Dispositions the SLA timer emits on its own (they trickle on after the inputs stop).
_TIMER_REASONS = ("deadline missed", "deadline near")


@dataclass
class ChaosConfig:
    """What one chaos run does."""

    events: int = 20_000
    workers: int = 3
    kill_every: tuple[float, float] = (5.0, 30.0)
    min_kills: int = 10
    sla_scale: float = 0.0005
    seed: int = 1
    #: events per second; ``None``: spread the stream over the time the kills need.
    rate: float | None = None
    partitions: int = 4
    duplicate_rate: float = 0.1
    #: share of events reported again under a neighbouring village (跨村合并)
    boundary_rate: float = 0.02
    malformed_rate: float = 0.02
    #: centres keep answering this long after the stream ends, then stop.
    centres_tail_s: float = 20.0
    #: outputs must stop growing this long for the drain to end.
    quiet_s: float = 6.0
    #: the drain gives up after this long (the run then reports what it has).
    drain_timeout_s: float = 150.0
    worker_ready_timeout_s: float = 120.0
    workdir: Path | None = None
    bootstrap: str | None = None
    centre_delay_s: tuple[float, float] = (0.3, 2.0)
    #: Apache Kafka nodes to start for the run (``--kafka``: 3); 0: the embedded broker
    #: or ``bootstrap``. With 3, topics get replication factor 3, min.insync.replicas 2.
    kafka_nodes: int = 0
    #: brokers SIGKILLed and restarted during the run (with ``kafka_nodes`` 3)
    broker_kills: int = 3
    guarantee: str = "at_least_once"

    def planned_rate(self) -> float:
        """Events per second: the given rate, or the stream spread over the kills' time."""
        if self.rate is not None and self.rate > 0:
            return self.rate
        mean = (self.kill_every[0] + self.kill_every[1]) / 2
        duration = max(15.0, self.min_kills * mean)
        return max(10.0, self.events / duration)


@dataclass
class ChaosResult:
    """A finished run: the verdict and what happened around it."""

    verdict: Verdict
    config: ChaosConfig
    kills: list[dict[str, Any]] = field(default_factory=list)
    produced: dict[str, int] = field(default_factory=dict)
    produce_failed: int = 0
    centres: dict[str, Any] = field(default_factory=dict)
    drained: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    workdir: str = ""
    restarts_exited: list[str] = field(default_factory=list)
    broker_kills: list[dict[str, Any]] = field(default_factory=list)
    #: the collector's own reading: undecodable records, fetches cut at skipped offsets
    collector: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The last-line JSON: the brief's keys first, then the details."""
        v = self.verdict
        return {
            "events": self.config.events,
            "kills": len(self.kills),
            "lost": v.lost,
            "duplicate_escalations": v.duplicate_escalations,
            "raw_duplicate_dispositions": v.raw_duplicate_dispositions,
            "dlq": v.dlq,
            "guarantee": self.config.guarantee,
            "broker_kills": len(self.broker_kills),
            "broker_kill_log": self.broker_kills,
            "passed": v.passed and self.drained,
            "drained": self.drained,
            "failures": v.failures() + ([] if self.drained else ["not_drained"]),
            "produce_failed": self.produce_failed,
            "produced": self.produced,
            "centres_feedback": self.centres.get("feedback", {}),
            "timings": {k: round(t, 1) for k, t in self.timings.items()},
            "workdir": self.workdir,
            "kill_log": self.kills,
            "collector": self.collector,
            "checker": v.as_dict(),
        }


class ChaosWorker:
    """One ``gridflow worker`` process with its own web port and data dir."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.data_dir = workdir / f"data-{name}"
        self.log_path = workdir / f"worker-{name}.log"
        self.env = dict(env)
        self.env.update(GRIDFLOW_WEB_PORT=str(self.port), GRIDFLOW_DATA_DIR=str(self.data_dir))
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        banner = f"\n===== start #{self.starts + 1} at {time.time():.3f} =====\n"
        self.proc = spawn_worker(self.env, self.log_path, banner)
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        return http_get(self.port, "/readyz", timeout=1)[0] == 200

    def kill(self) -> None:
        """SIGKILL the whole process group: no goodbye, no commit."""
        kill_group(self.proc)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not leave in time."""
        terminate(self.proc, timeout)


class Outputs:
    """Reads the output topics (and ``grid.feedback``) from the beginning, continuously."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Under exactly-once, what a read_committed consumer of the contract sees.
        self.isolation_level = (
            "read_committed"
            if settings.processing_guarantee == "exactly_once"
            else "read_uncommitted"
        )
        self.dispositions: list[dict[str, Any]] = []
        self.dlq: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.undecodable = 0
        #: highest offset seen + 1, per (topic, partition): the fetch's view of the end.
        self.seen_end: dict[tuple[str, int], int] = {}
        self.last_growth = time.monotonic()
        #: last time an input-driven output (not an SLA-timer disposition) arrived.
        self.last_input_driven = time.monotonic()
        self._topics = {
            settings.topic(DISPOSITIONS): self.dispositions,
            settings.topic(DLQ): self.dlq,
            settings.topic(FEEDBACK): self.feedback,
        }
        self._consumer: AIOKafkaConsumer | None = None
        #: the embedded broker's fetches can skip offsets (docs/PITFALLS.md): a record
        #: the collector skipped would count as lost. Turned on in ``start``.
        self.holes = FetchHoles(enabled=False, name="chaos collector ")

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_kwargs(self.settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            isolation_level=self.isolation_level,
        )
        await consumer.start()
        self.holes.enabled = await on_embedded_broker(self.settings)
        parts: list[TopicPartition] = []
        for topic in self._topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                await consumer._client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            parts.extend(TopicPartition(topic, p) for p in sorted(found))
        consumer.assign(parts)
        for tp in parts:
            # Every topic starts at 0 (each run creates its own); a hole at the start counts.
            consumer.seek(tp, 0)
            self.holes.expect(tp, 0)
        self._consumer = consumer

    async def poll(self, timeout_ms: int = 200) -> int:
        """Fetch what arrived; return how many records."""
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        self.holes.cut(self._consumer, batches)
        n = 0
        now = time.monotonic()
        for tp, msgs in batches.items():
            sink = self._topics[tp.topic]
            for msg in msgs:
                n += 1
                self.seen_end[(tp.topic, tp.partition)] = max(
                    self.seen_end.get((tp.topic, tp.partition), 0), msg.offset + 1
                )
                try:
                    doc = orjson.loads(msg.value or b"")
                except orjson.JSONDecodeError:
                    self.undecodable += 1
                    continue
                if not isinstance(doc, dict):
                    self.undecodable += 1
                    continue
                doc["_t"] = round(time.time(), 3)
                doc["_src"] = [tp.partition, msg.offset]
                sink.append(doc)
                if not _timer_driven(doc):
                    self.last_input_driven = now
        if n:
            self.last_growth = now
        return n

    def figures(self) -> dict[str, int]:
        """What the reading itself met (none of it is a worker's doing)."""
        return {
            "undecodable": self.undecodable,
            "fetch_refetches": self.holes.refetches,
            "fetch_holes_filled": self.holes.filled,
            "fetch_offsets_given_up": self.holes.given_up,
        }

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll()

    async def read_to_quiet(self, quiet_s: float, deadline: float) -> None:
        """Read until nothing new arrives for ``quiet_s`` (end offsets are not trusted)."""
        last = time.monotonic()
        while time.monotonic() < deadline:
            if await self.poll(timeout_ms=300):
                last = time.monotonic()
            elif time.monotonic() - last >= quiet_s:
                return

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


def _timer_driven(doc: dict[str, Any]) -> bool:
    """A record the SLA timer made on its own (they go on after the inputs stop)."""
    if "disposition_id" in doc:
        return any(r in str(doc.get("reason") or "") for r in _TIMER_REASONS)
    return doc.get("original") == '{"k":"tick"}'


def dump_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write records one JSON object a line (evidence for the report)."""
    with open(path, "wb") as out:
        for rec in records:
            out.write(orjson.dumps(rec) + b"\n")


async def changelog_dump(
    settings: Settings, topic: str, regions: set[str], quiet_s: float = 3.0
) -> tuple[dict[int, int], list[dict[str, Any]]]:
    """The changelog's true end per partition (read to quiet) and every row of ``regions``."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    ends: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    index: list[tuple[int, int, int]] = []
    try:
        await consumer._client.force_metadata_update()
        parts = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        last = time.monotonic()
        while time.monotonic() - last < quiet_s:
            batches = await consumer.getmany(timeout_ms=300, max_records=10000)
            for tp, msgs in batches.items():
                last = time.monotonic()
                for msg in msgs:
                    ends[tp.partition] = max(ends.get(tp.partition, 0), msg.offset + 1)
                    index.append((tp.partition, msg.offset, msg.timestamp))
                    key = (msg.key or b"").decode("utf-8", "replace")
                    if key in regions:
                        summary: Any = None
                        with contextlib.suppress(Exception):
                            doc = orjson.loads(msg.value or b"null")
                            summary = {
                                c.get("i"): {"s": c.get("s"), "t": c.get("t"), "q": c.get("q")}
                                for c in (doc or {}).get("c", [])
                            }
                        rows.append(
                            {
                                "partition": tp.partition,
                                "offset": msg.offset,
                                "ts": msg.timestamp,
                                "region": key,
                                "cases": summary,
                            }
                        )
    finally:
        await consumer.stop()
    # (partition, offset, timestamp ms) of every row: what a recovery at time T should
    # have read, to compare with the highwater Faust logged for it.
    rows.append({"index": index})
    return ends, rows


class StoredPositions:
    """The input reader's stored positions, followed incrementally on the changelog."""

    def __init__(self, settings: Settings, changelog: str) -> None:
        self.settings = settings
        self.changelog = changelog
        self.positions: dict[tuple[str, int], int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    async def refresh(self) -> dict[tuple[str, int], int]:
        """Read the changelog up to its current end; the latest position per partition."""
        consumer = self._consumer
        if consumer is None:
            consumer = AIOKafkaConsumer(
                **client_kwargs(self.settings),
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=100,
            )
            await consumer.start()
            self._consumer = consumer
            await consumer._client.force_metadata_update()
            parts = [
                TopicPartition(self.changelog, p)
                for p in sorted(consumer.partitions_for_topic(self.changelog) or ())
            ]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
        empty = 0
        while empty < 2:
            batches = await consumer.getmany(timeout_ms=200, max_records=20000)
            if not batches:
                empty += 1
                continue
            empty = 0
            for msgs in batches.values():
                for msg in msgs:
                    key = msg.key or b""
                    if key.startswith(POSITION_PREFIX) and msg.value is not None:
                        topic, _, part = key[len(POSITION_PREFIX) :].decode().rpartition("/")
                        self.positions[(topic, int(part))] = int(msg.value)
        return dict(self.positions)

    async def close(self) -> None:
        """Stop the consumer."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None


async def changelog_sample(settings: Settings, topic: str, limit: int = 20) -> list[dict[str, Any]]:
    """The first raw records of the table's changelog: how state is serialised there."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not parts:
            await consumer._client.force_metadata_update()
            parts = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        out: list[dict[str, Any]] = []
        batches = await consumer.getmany(timeout_ms=3000, max_records=limit)
        for tp, msgs in batches.items():
            for msg in msgs:
                out.append(
                    {
                        "partition": tp.partition,
                        "offset": msg.offset,
                        "key": repr(msg.key)[:80],
                        "value": repr(msg.value)[:300],
                    }
                )
        return out
    finally:
        await consumer.stop()


def _event_ids(value: bytes, regions: dict[str, str] | None = None) -> tuple[str, ...]:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return ()
    docs = [d for d in (doc if isinstance(doc, list) else [doc]) if isinstance(d, dict)]
    if regions is not None:
        for d in docs:
            if "event_id" in d and "region_code" in d:
                regions[str(d["event_id"])] = str(d["region_code"])
    return tuple(str(d["event_id"]) for d in docs if "event_id" in d)


class Chaos:
    """One run; see the module docstring."""

    def __init__(self, config: ChaosConfig, log: Log = print) -> None:
        self.config = config
        self.log = log
        self.rng = random.Random(config.seed)
        self.sent: list[tuple[Sent, asyncio.Future[Any]]] = []
        self.kills: list[dict[str, Any]] = []
        self.workers: list[ChaosWorker] = []
        self.timings: dict[str, float] = {}
        self.stream_done = asyncio.Event()
        self.events_end: dict[int, int] = {}
        self._committed_broken = False
        self._positions: StoredPositions | None = None
        self.commit_log: list[dict[str, Any]] = []
        #: event id -> region code, to find the changelog rows of a lost or split event.
        self.event_region: dict[str, str] = {}
        self.t0 = time.monotonic()
        #: set by run_chaos with ``kafka_nodes`` 3: the broker-failure task's cluster
        self.cluster: KafkaCluster | None = None
        self.broker_failures: BrokerFailures | None = None

    def _say(self, text: str) -> None:
        self.log(f"[chaos {time.monotonic() - self.t0:6.1f}s] {text}")

    # ------------------------------------------------------------------ setup
    def _settings(self, bootstrap: str) -> Settings:
        prefix = f"chaos{uuid.uuid4().hex[:8]}."
        return load_settings(
            kafka_bootstrap=bootstrap,
            topic_prefix=prefix,
            app_id=f"{prefix}gridflow",
            partitions=self.config.partitions,
            sla_scale=self.config.sla_scale,
            replication_factor=min(3, max(1, self.config.kafka_nodes)),
            processing_guarantee=self.config.guarantee,
        )

    def _worker_env(self, settings: Settings) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "GRIDFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                "GRIDFLOW_TOPIC_PREFIX": settings.topic_prefix,
                "GRIDFLOW_APP_ID": settings.app_id,
                "GRIDFLOW_PARTITIONS": str(settings.partitions),
                "GRIDFLOW_SLA_SCALE": str(self.config.sla_scale),
                "GRIDFLOW_LOG_FORMAT": "text",
                "GRIDFLOW_LOG_LEVEL": "INFO",
                "GRIDFLOW_TICK_INTERVAL": "0.5",
                "PYTHONUNBUFFERED": "1",
                "GRIDFLOW_REPLICATION_FACTOR": str(settings.replication_factor),
                "GRIDFLOW_PROCESSING_GUARANTEE": settings.processing_guarantee,
            }
        )
        return env

    async def _wait_ready(self, workers: list[ChaosWorker], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for w in workers:
                if not w.alive():
                    raise RuntimeError(f"worker {w.name} exited at start; see {w.log_path}")
            states = await asyncio.gather(*(asyncio.to_thread(w.ready) for w in workers))
            if all(states):
                return True
            await asyncio.sleep(0.5)
        return False

    # ------------------------------------------------------------- the tasks
    async def _produce(self, settings: Settings) -> None:
        cfg = self.config
        rate = cfg.planned_rate()
        generator = EventGenerator(
            cfg.seed,
            duplicate_rate=cfg.duplicate_rate,
            malformed_rate=cfg.malformed_rate,
            boundary_rate=cfg.boundary_rate,
            max_record_bytes=settings.max_record_bytes,
            max_batch_events=settings.max_batch_events,
        )
        producer = AIOKafkaProducer(
            **client_kwargs(settings),
            client_id=f"{settings.app_id}-chaos-producer",
            linger_ms=10,
            max_batch_size=1024 * 1024,
            max_request_size=4 * 1024 * 1024,
            # With replicas, only acks=all survives the leader's SIGKILL.
            acks="all" if settings.replication_factor > 1 else 1,
            enable_idempotence=settings.replication_factor > 1,
        )
        await producer.start()
        topic = settings.topic(EVENTS_IN)
        loop = asyncio.get_running_loop()
        start = loop.time()
        produced = 0
        try:
            while produced < cfg.events:
                due = start + produced / rate
                now = loop.time()
                if due > now:
                    await asyncio.sleep(min(due - now, 0.2))
                    continue
                record = generator.next_record(cfg.events - produced)
                ids = (
                    _event_ids(record.value, self.event_region)
                    if record.kind in VALID_KINDS
                    else ()
                )
                future = await producer.send(topic, value=record.value, key=record.key)
                self.sent.append((Sent(record.kind, ids, record.original_id), future))
                produced += record.events
                if produced % 2000 == 0:
                    self._say(f"produced {produced}/{cfg.events} events")
            await producer.flush()
            await asyncio.gather(*(f for _, f in self.sent), return_exceptions=True)
        finally:
            await producer.stop()
            self.stream_done.set()
            self._say(f"stream done: {produced} events at {rate:.0f}/s")

    async def _killer(self, stop: asyncio.Event) -> None:
        cfg = self.config
        low, high = cfg.kill_every
        while not stop.is_set():
            if self.stream_done.is_set() and len(self.kills) >= cfg.min_kills:
                return
            pause = self.rng.uniform(low, high)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
                return
            worker = self.rng.choice(self.workers)
            was_ready = await asyncio.to_thread(worker.ready)
            await asyncio.to_thread(worker.kill)
            worker.start()
            self.kills.append(
                {
                    "n": len(self.kills) + 1,
                    "worker": worker.name,
                    "at": round(time.time(), 3),
                    "t": round(time.monotonic() - self.t0, 1),
                    "was_ready": was_ready,
                }
            )
            self._say(
                f"kill #{len(self.kills)}: SIGKILL {worker.name} (ready={was_ready}), restarted"
            )

    async def _committed(self, settings: Settings) -> dict[tuple[str, int], int] | None:
        """The workers' stored read positions on their input topics (None: unavailable).

        The workers keep them as rows of the case table; its changelog is what a restart
        or a new owner resumes from, so that is what is read here.
        """
        if self._committed_broken:
            return None
        if self._positions is None:
            self._positions = StoredPositions(settings, f"{settings.app_id}-cases-changelog")
        try:
            stored = await asyncio.wait_for(self._positions.refresh(), timeout=30)
        except Exception as exc:
            self._committed_broken = True
            self._say(
                f"stored positions unavailable ({type(exc).__name__}: {exc}); drain waits for quiet only"
            )
            return None
        out: dict[tuple[str, int], int] = {}
        for topic in (settings.topic(EVENTS_IN), settings.topic(FEEDBACK)):
            for part in range(settings.partitions):
                out[(topic, part)] = stored.get((topic, part), 0)
        return out

    async def _sample_commits(
        self, settings: Settings, outputs: Outputs, stop: asyncio.Event
    ) -> None:
        """Every few seconds: the app's committed offsets against what its inputs hold."""
        while not stop.is_set():
            committed = await self._committed(settings)
            if committed is None:
                return
            self.commit_log.append(
                {
                    "t": round(time.monotonic() - self.t0, 1),
                    "lag": {
                        f"{t.rsplit('.', 1)[-1]}[{p}]": e - committed.get((t, p), 0)
                        for (t, p), e in sorted(self._ends(settings, outputs).items())
                    },
                }
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5.0)

    def _ends(self, settings: Settings, outputs: Outputs) -> dict[tuple[str, int], int]:
        ends = {(settings.topic(EVENTS_IN), p): e for p, e in self.events_end.items()}
        feedback = settings.topic(FEEDBACK)
        ends.update({k: e for k, e in outputs.seen_end.items() if k[0] == feedback})
        return ends

    async def _caught_up(self, settings: Settings, outputs: Outputs) -> bool:
        """True when the app committed past everything produced to its inputs."""
        committed = await self._committed(settings)
        if committed is None:
            return True
        return all(committed.get(k, 0) >= end for k, end in self._ends(settings, outputs).items())

    async def _lag_text(self, settings: Settings, outputs: Outputs) -> str:
        committed = await self._committed(settings)
        if committed is None:
            return "committed offsets unavailable"
        return "committed/end: " + ", ".join(
            f"{t.rsplit('.', 1)[-1]}[{p}] {committed.get((t, p))}/{e}"
            for (t, p), e in sorted(self._ends(settings, outputs).items())
        )

    # ------------------------------------------------------------------- run
    async def run_async(self, bootstrap: str, workdir: Path) -> ChaosResult:
        cfg = self.config
        settings = self._settings(bootstrap)
        changelog = f"{settings.app_id}-cases-changelog"
        await ensure_topics(settings, extra=(changelog,))
        self._say(f"broker {bootstrap}, prefix {settings.topic_prefix}, workdir {workdir}")
        env = self._worker_env(settings)
        self.workers = [ChaosWorker(f"w{i + 1}", env, workdir) for i in range(cfg.workers)]
        # One after the other, as an operator rolls workers out: on Apache Kafka, a worker
        # whose first table recovery was cut by the next worker's join sometimes never read
        # its changelog again (Faust logged "No event received for active tp" until the
        # deadline; faust-streaming issues #21 and #74). The drill's kills come after this.
        for w in self.workers:
            w.start()
            if not await self._wait_ready([w], cfg.worker_ready_timeout_s):
                raise RuntimeError(
                    f"worker {w.name} not ready in {cfg.worker_ready_timeout_s:.0f} s; "
                    f"logs in {workdir}"
                )
        self.timings["startup_s"] = time.monotonic() - self.t0
        self._say(f"{cfg.workers} workers ready; rate {cfg.planned_rate():.0f} events/s")

        outputs = Outputs(settings)
        await outputs.start()
        stop_follow = asyncio.Event()
        follower = asyncio.create_task(outputs.follow(stop_follow))
        stop_centres = asyncio.Event()
        centre_stats = CentreStats()
        centres = asyncio.create_task(
            run_centres(
                settings,
                seed=cfg.seed,
                stop=stop_centres,
                stats=centre_stats,
                delay_s=cfg.centre_delay_s,
            )
        )
        stop_kills = asyncio.Event()
        killer = asyncio.create_task(self._killer(stop_kills))
        stop_sampler = asyncio.Event()
        sampler = asyncio.create_task(self._sample_commits(settings, outputs, stop_sampler))
        stop_brokers = asyncio.Event()
        brokers = None
        if self.cluster is not None and cfg.kafka_nodes >= 3:
            self.broker_failures = BrokerFailures(
                self.cluster,
                settings.topic(EVENTS_IN),
                random.Random(cfg.seed + 1),
                self._say,
                min_kills=cfg.broker_kills,
                t0=self.t0,
            )
            brokers = asyncio.create_task(self.broker_failures.run(stop_brokers))
        stream_started = time.monotonic()
        await self._produce(settings)
        self.timings["stream_s"] = time.monotonic() - stream_started
        self.events_end = self._events_end(settings)
        await killer
        self._say(f"kills done: {len(self.kills)}")
        if brokers is not None:
            stop_brokers.set()
            await brokers
            self._say(f"broker kills done: {len(self.broker_failures.kills)}")  # type: ignore[union-attr]

        # Drain, phase 1: the centres go on answering for a while, then stop.
        tail_end = time.monotonic() + cfg.centres_tail_s
        while time.monotonic() < tail_end:
            await asyncio.sleep(0.5)
        stop_centres.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(centres, timeout=15)
        self._say(f"centres stopped: {centre_stats.sent} feedback sent")

        # Phase 2: every worker up, the app's committed offsets at the end of its inputs,
        # and no input-driven output for quiet_s.
        drained = False
        drain_start = time.monotonic()
        deadline = drain_start + cfg.drain_timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            quiet = time.monotonic() - outputs.last_input_driven >= cfg.quiet_s
            if not quiet:
                continue
            if not all(await asyncio.gather(*(asyncio.to_thread(w.ready) for w in self.workers))):
                continue
            if await self._caught_up(settings, outputs):
                drained = True
                break
        self.timings["drain_s"] = time.monotonic() - drain_start
        if drained:
            self._say("drained")
        else:
            self._say(
                f"drain timed out after {cfg.drain_timeout_s:.0f} s: last input-driven output "
                f"{time.monotonic() - outputs.last_input_driven:.0f} s ago; "
                f"{await self._lag_text(settings, outputs)}"
            )

        stop_sampler.set()
        with contextlib.suppress(Exception):
            await sampler
        exited = [w.name for w in self.workers if not w.alive()]
        for w in self.workers:
            await asyncio.to_thread(w.stop)
        stop_follow.set()
        await follower
        await outputs.read_to_quiet(quiet_s=3.0, deadline=time.monotonic() + 30)
        await outputs.close()
        if self._positions is not None:
            await self._positions.close()
        dump_jsonl(workdir / "dispositions.jsonl", outputs.dispositions)
        dump_jsonl(workdir / "dlq.jsonl", outputs.dlq)
        dump_jsonl(workdir / "feedback.jsonl", outputs.feedback)
        dump_jsonl(
            workdir / "sent.jsonl",
            [
                {
                    "kind": r.kind,
                    "ids": list(r.event_ids),
                    "original": r.original_id,
                    "ok": f.done() and not f.cancelled() and f.exception() is None,
                }
                for r, f in self.sent
            ],
        )
        dump_jsonl(workdir / "kills.jsonl", self.kills)
        with contextlib.suppress(Exception):
            dump_jsonl(
                workdir / "changelog-sample.jsonl", await changelog_sample(settings, changelog)
            )
        self.timings["total_s"] = time.monotonic() - self.t0

        sent: list[Sent] = []
        failed = 0
        produced: Counter[str] = Counter()
        for record, future in self.sent:
            if future.done() and not future.cancelled() and future.exception() is None:
                sent.append(record)
                produced[record.kind.split(":")[0]] += 1
            else:
                failed += 1
        verdict = check(
            sent,
            outputs.dispositions,
            outputs.dlq,
            outputs.feedback,
            events_topic=settings.topic(EVENTS_IN),
        )
        dump_jsonl(workdir / "committed.jsonl", self.commit_log)
        if outputs.holes.refetches or outputs.undecodable:
            self._say(f"collector: {outputs.figures()}")
        regions = {
            m
            for found in verdict.examples.values()
            for item in found
            for m in re.findall(r"\b(\d{12})-[0-9a-f]{12}\b", item)
        }
        for what in ("lost", "split", "rejected_valid"):
            for item in verdict.examples.get(what, []):
                region = self.event_region.get(item.split(" ")[0].rstrip(":"))
                if region:
                    regions.add(region)
        try:
            ends, rows = await changelog_dump(settings, changelog, regions)
            (workdir / "changelog-ends.json").write_bytes(
                orjson.dumps({str(p): e for p, e in sorted(ends.items())})
            )
            dump_jsonl(workdir / "changelog-regions.jsonl", rows)
            self._say(f"changelog true ends {dict(sorted(ends.items()))}; evidence in {workdir}")
        except Exception as exc:  # evidence only: never fail the run on it
            self._say(f"could not read the changelog: {type(exc).__name__}: {exc}")
        return ChaosResult(
            verdict=verdict,
            config=cfg,
            kills=self.kills,
            produced=dict(produced),
            produce_failed=failed,
            centres=centre_stats.as_dict(),
            drained=drained,
            timings=self.timings,
            workdir=str(workdir),
            restarts_exited=exited,
            broker_kills=self.broker_failures.kills if self.broker_failures else [],
            collector=outputs.figures(),
        )

    def _events_end(self, settings: Settings) -> dict[int, int]:
        """Highest acknowledged offset + 1 per partition of ``grid.events.in``."""
        ends: dict[int, int] = {}
        for _, future in self.sent:
            if future.done() and not future.cancelled() and future.exception() is None:
                meta = future.result()
                ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        return ends

    def kill_all(self) -> None:
        for w in self.workers:
            w.kill()


def run_chaos(config: ChaosConfig, log: Log = print) -> ChaosResult:
    """Run the whole scenario; the broker is embedded unless a bootstrap is given."""
    bootstrap = config.bootstrap or load_settings().kafka_bootstrap
    workdir = config.workdir or Path(tempfile.mkdtemp(prefix="gridflow-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    cluster: KafkaCluster | None = None
    if config.kafka_nodes:
        log(f"starting Apache Kafka, {config.kafka_nodes} node(s)…")
        cluster = KafkaCluster(nodes=config.kafka_nodes, directory=workdir / "kafka").start()
        bootstrap = cluster.bootstrap
    elif not bootstrap:
        broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
        bootstrap = broker.bootstrap
    chaos = Chaos(config, log)
    chaos.cluster = cluster
    try:
        return asyncio.run(chaos.run_async(bootstrap, workdir))
    finally:
        chaos.kill_all()
        if broker is not None:
            broker.stop()
        if cluster is not None:
            cluster.stop()


__all__ = ["ChaosConfig", "ChaosResult", "ChaosWorker", "run_chaos"]
