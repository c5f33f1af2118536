"""gridflow end to end: a real ``gridflow worker`` process on the bench's broker.

* :func:`run_throughput`: pre-load N events into ``grid.events.in``, start the worker(s),
  time from the worker's "Worker ready" (its log line: recovery done, streams resumed) to
  the last disposition's produce timestamp. Every valid event ends in exactly one
  ``dispatch`` (it opened a case) or ``merge`` (it joined one) disposition, so those are
  what is counted; ``inform`` copies and timer steps are not events. Both ends are the
  worker's own clock readings, so the bench's polling does not enter the interval.
* :func:`run_latency`: single-event records at a fixed rate into a running worker; the
  latency of an event is its disposition's produce time minus its own produce time
  (``p50_ms`` / ``p99_ms``), and, as seen by a consumer, receipt time minus produce time.
* :func:`core_eps`: :class:`gridflow.runtime.pipeline.Pipeline` alone, no Faust, no broker: how much
  of the cost is the domain work.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gridflow.broker import free_port
from gridflow.config import Settings
from gridflow.kafka_client import ensure_topics
from gridflow.topics import DISPOSITIONS, EVENTS_IN
from gridflow.worker_process import http_get, spawn_worker, terminate
from tools.bench import BATCH_EVENTS, BenchRecord, percentile
from tools.bench.raw_baseline import preload

#: Actions that account for one input event each.
EVENT_ACTIONS = frozenset({"dispatch", "merge"})
#: Input forms of grid.events.in measured for throughput.
FORMS = ("single", "batch", "batch_keyed")


# ------------------------------------------------------------------ records


def _isolation() -> str:
    """What a consumer of the contract reads with under the measured guarantee."""
    if os.environ.get("GRIDFLOW_PROCESSING_GUARANTEE") == "exactly_once":
        return "read_committed"
    return "read_uncommitted"


def make_records(n: int, seed: int = 1) -> list[tuple[bytes | None, bytes, str]]:
    """``n`` valid simulator events: (key, value, region_code), ~500 bytes each."""
    from gridflow.simulator.events import generate

    out = []
    for rec in generate(n, seed, duplicate_rate=0.0, malformed_rate=0.0):
        if (
            rec.kind != "valid"
        ):  # cannot happen with both rates at 0; the bench wants valid ones only
            continue
        out.append((rec.key, rec.value, orjson.loads(rec.value)["region_code"]))
    return out


def as_form(
    events: Sequence[tuple[bytes | None, bytes, str]], form: str, partitions: int = 4
) -> list[BenchRecord]:
    """The same events as records of one input form.

    ``single``: one event per record, keyed as the simulator keys them (3 % badly).
    ``batch``: JSON arrays of 100 events in arrival order, unkeyed, as the simulator sends
    them (the worker re-keys the ~3/4 of events not on their home partition).
    ``batch_keyed``: arrays of 100 events of one home partition, sent to that partition
    (a gateway that partitions its batches by region: no re-keying).
    """
    if form == "single":
        return [BenchRecord(key, value) for key, value, _ in events]
    if form == "batch":
        return [
            BenchRecord(
                None,
                b"[" + b",".join(v for _, v, _ in events[i : i + BATCH_EVENTS]) + b"]",
                len(events[i : i + BATCH_EVENTS]),
            )
            for i in range(0, len(events), BATCH_EVENTS)
        ]
    if form == "batch_keyed":
        from gridflow.runtime.partitioning import partition_for

        groups: dict[int, list[tuple[bytes, str]]] = {}
        out: list[BenchRecord] = []
        for _, value, region in events:
            p = partition_for(region, partitions)
            group = groups.setdefault(p, [])
            group.append((value, region))
            if len(group) >= BATCH_EVENTS:
                out.append(_keyed_batch(group, p))
                groups[p] = []
        out.extend(_keyed_batch(g, p) for p, g in groups.items() if g)
        return out
    raise ValueError(f"unknown input form {form!r}")


def _keyed_batch(group: list[tuple[bytes, str]], partition: int) -> BenchRecord:
    return BenchRecord(
        group[0][1].encode(), b"[" + b",".join(v for v, _ in group) + b"]", len(group), partition
    )


# ------------------------------------------------------------------ workers
@dataclass
class Deployment:
    """One isolated gridflow deployment on the bench's broker: own prefix and app id."""

    bootstrap: str
    tmp: Path
    partitions: int = 4
    prefix: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}.")

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            topic_prefix=self.prefix,
            app_id=f"{self.prefix}gridflow",
            partitions=self.partitions,
            sla_scale=1.0,
        )

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def create_topics(self) -> None:
        asyncio.run(ensure_topics(self.settings, extra=(f"{self.prefix}gridflow-cases-changelog",)))


class Worker:
    """``python -m gridflow worker`` in its own process group, with its own web port."""

    def __init__(self, dep: Deployment, name: str = "w1", **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = dep.tmp / f"{dep.prefix}{name}.log"
        self.env = dict(os.environ)
        self.env.update(
            {
                "GRIDFLOW_KAFKA_BOOTSTRAP": dep.bootstrap,
                "GRIDFLOW_TOPIC_PREFIX": dep.prefix,
                "GRIDFLOW_APP_ID": f"{dep.prefix}gridflow",
                "GRIDFLOW_PARTITIONS": str(dep.partitions),
                "GRIDFLOW_SLA_SCALE": "1",
                "GRIDFLOW_LOG_FORMAT": "text",
                "GRIDFLOW_LOG_LEVEL": "INFO",
                "GRIDFLOW_WEB_PORT": str(self.port),
                "GRIDFLOW_DATA_DIR": str(dep.tmp / f"{dep.prefix}{name}-data"),
            }
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.proc = spawn_worker(self.env, self.log_path)
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        return http_get(self.port, path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise RuntimeError(f"worker {self.name} exited ({code}):\n{self.log_tail()}")

    def ready(self) -> bool:
        self.check()
        return self.get("/readyz")[0] == 200

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples matching ``labels`` (0 when unreachable)."""
        _, body = self.get("/metrics")
        total = 0.0
        for line in body.decode(errors="replace").splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            if head.split("{")[0] != name:
                continue
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total

    def events_done(self) -> float:
        return sum(self.metric("gridflow_dispositions_total", action=a) for a in EVENT_ACTIONS)

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker process so far (from /proc)."""
        if self.proc is None:
            return 0.0
        try:
            with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def ready_at(self) -> float | None:
        """Epoch seconds of Faust's "Worker ready" log line (text log format), or None."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if "Worker ready" in line:
                try:
                    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                except ValueError:
                    return None
        return None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        terminate(self.proc, 15)


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- throughput
async def read_dispositions(
    bootstrap: str, topic: str, expected: int, timeout: float
) -> list[tuple[int, str]]:
    """(record timestamp ms, event id) of each event-accounting disposition, first seen only."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=_isolation(),
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    seen: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for msgs in batches.values():
                for msg in msgs:
                    eid = event_of(orjson.loads(msg.value))
                    if eid is not None and eid not in seen:
                        seen[eid] = msg.timestamp
    finally:
        await consumer.stop()
    return [(ts, eid) for eid, ts in seen.items()]


async def read_dispositions_actions(
    bootstrap: str, topic: str, action: str, expected: int, timeout: float
) -> int:
    """How many distinct dispositions of ``action`` arrive (stops at ``expected``)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=_isolation(),
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for msgs in batches.values():
                for msg in msgs:
                    doc = orjson.loads(msg.value)
                    if doc.get("action") == action:
                        seen.add(str(doc.get("disposition_id")))
    finally:
        await consumer.stop()
    return len(seen)


def event_of(doc: dict[str, Any]) -> str | None:
    """The input event a disposition accounts for: the opener of a dispatch, the merged report."""
    action = doc.get("action")
    if action == "dispatch":
        events = doc.get("events") or []
        return str(events[0]) if events else None
    if action == "merge":
        return str(doc["disposition_id"]).rsplit("/merge/", 1)[-1]
    return None


def rate_from_timestamps(stamps: Sequence[int]) -> float | None:
    """Events per second from produce timestamps (ms), excluding the first millisecond's group.

    The first batch's dispositions all carry the first timestamp and its processing time
    is before it, so it is left out of both the count and the interval.
    """
    if len(stamps) < 2:
        return None
    ordered = sorted(stamps)
    first, last = ordered[0], ordered[-1]
    if last <= first:
        return None
    counted = sum(1 for ts in ordered if ts > first)
    return counted / ((last - first) / 1000.0)


def run_throughput(
    bootstrap: str,
    tmp: Path,
    records: Sequence[BenchRecord],
    partitions: int = 4,
    workers: int = 1,
    preload_first: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One throughput run of ``workers`` fresh workers over ``records``.

    ``preload_first``: records are in the topic before the worker starts (the worker only
    processes); else the workers start first, become ready (needed for a fair 2-vs-1 run:
    nobody starts alone) and the records are then produced as fast as possible.
    """
    dep = Deployment(bootstrap, tmp, partitions)
    dep.create_topics()
    events = sum(r.events for r in records)
    in_topic = dep.topic(EVENTS_IN)
    limit = timeout if timeout is not None else 90.0 + events / 300.0
    procs = [Worker(dep, name=f"w{i + 1}") for i in range(workers)]
    start: float | None = None
    try:
        if preload_first:
            asyncio.run(preload(bootstrap, in_topic, records, partitions))
        for w in procs:
            w.start()

        # Worker CPU is read when the workers log "Worker ready" (they consume from then on)
        # and at the end: CPU per event without start-up, which a busy machine disturbs
        # less than a rate. The log is polled, not /readyz: a worker busy with its first
        # big batch answers HTTP only after it.
        def logged_ready() -> bool:
            for w in procs:
                w.check()
            return all(w.ready_at() is not None for w in procs)

        wait_until(logged_ready, 90, "workers ready", interval=0.02)
        cpu0 = sum(w.cpu_seconds() for w in procs)
        if not preload_first:
            wait_until(
                lambda: (
                    sum(w.metric("gridflow_assigned_partitions") for w in procs) >= partitions
                    and all(w.ready() for w in procs)
                ),
                60,
                "partitions assigned",
                interval=0.2,
            )
            cpu0 = sum(w.cpu_seconds() for w in procs)
            start = time.time()
            asyncio.run(preload(bootstrap, in_topic, records, partitions))

        def finished() -> bool:
            for w in procs:
                w.check()
            return sum(w.events_done() for w in procs) >= events

        wait_until(finished, limit, f"{events} events through gridflow", interval=0.25)
        cpu = sum(w.cpu_seconds() for w in procs) - cpu0
        got = asyncio.run(read_dispositions(bootstrap, dep.topic(DISPOSITIONS), events, timeout=60))
    finally:
        for w in procs:
            w.stop()
    stamps = [ts for ts, _ in got]
    if preload_first:
        # The worker consumes from the moment it is ready (recovery done, streams resumed).
        readies = [t for t in (w.ready_at() for w in procs) if t is not None]
        start = min(readies) if len(readies) == len(procs) else None
    eps: float | None
    if start is not None and stamps and max(stamps) / 1000.0 > start:
        eps = len(stamps) / (max(stamps) / 1000.0 - start)
    else:
        eps = rate_from_timestamps(stamps)
    return {
        "events": events,
        "accounted": len(got),
        "eps": eps,
        "seconds": max(stamps) / 1000.0 - start if stamps and start else None,
        "timed_from": "ready" if preload_first and start else ("produce" if start else "first"),
        "worker_cpu_s": cpu,
        "cpu_us_per_event": cpu / events * 1e6,
        "workers": workers,
    }


# ------------------------------------------------------------------- latency
def run_latency(
    bootstrap: str,
    tmp: Path,
    events: Sequence[tuple[bytes | None, bytes, str]],
    rate: float = 2000.0,
    duration: float = 10.0,
    warmup: float = 3.0,
    partitions: int = 4,
) -> dict[str, Any]:
    """Single-event records at ``rate``/s for ``duration`` s into a ready worker.

    Each record carries its produce time as its timestamp. Latency = the disposition's
    produce timestamp − the event's (``p50_ms``/``p99_ms``); ``recv_*`` is as seen by a
    consumer of grid.dispositions. Events sent during the first ``warmup`` s are reported
    apart (``cold_*``): a fresh worker has a start-up transient of a second or two (first
    sends to each output topic, first batches), which is not the steady state.
    """
    dep = Deployment(bootstrap, tmp, partitions)
    dep.create_topics()
    n = min(len(events), int(rate * duration))
    todo = [(key, value, orjson.loads(value)["event_id"]) for key, value, _ in events[:n]]
    worker = Worker(dep)
    try:
        worker.start()
        wait_until(worker.ready, 90, "worker ready", interval=0.2)
        result = asyncio.run(_latency_run(bootstrap, dep, todo, rate, warmup))
        result["worker_cpu_s"] = worker.cpu_seconds()
        worker.check()
    finally:
        worker.stop()
    return result


async def _latency_run(
    bootstrap: str,
    dep: Deployment,
    todo: list[tuple[bytes | None, bytes, str]],
    rate: float,
    warmup: float,
) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        dep.topic(DISPOSITIONS),
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=_isolation(),
        fetch_max_wait_ms=20,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()
    sent: dict[str, int] = {}
    produce_lat: dict[str, int] = {}
    recv_lat: dict[str, int] = {}
    sending = True

    async def consume() -> None:
        while sending or len(produce_lat) < len(sent):
            batches = await consumer.getmany(timeout_ms=100)
            now_ms = int(time.time() * 1000)
            for msgs in batches.values():
                for msg in msgs:
                    eid = event_of(orjson.loads(msg.value))
                    if eid is None or eid in produce_lat or eid not in sent:
                        continue
                    produce_lat[eid] = msg.timestamp - sent[eid]
                    recv_lat[eid] = now_ms - sent[eid]

    reader = asyncio.create_task(consume())
    start = time.perf_counter()
    warm_ids: set[str] = set()
    try:
        for i, (key, value, eid) in enumerate(todo):
            target = start + i / rate
            ahead = target - time.perf_counter()
            if ahead > 0.001:
                await asyncio.sleep(ahead)
            ts = int(time.time() * 1000)
            sent[eid] = ts
            if i / rate < warmup:
                warm_ids.add(eid)
            await producer.send(dep.topic(EVENTS_IN), value=value, key=key, timestamp_ms=ts)
        await producer.flush()
        sent_s = time.perf_counter() - start
        sending = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=30)
    finally:
        sending = False
        reader.cancel()
        await producer.stop()
        await consumer.stop()
    lat = sorted(v for k, v in produce_lat.items() if k not in warm_ids)
    recv = sorted(v for k, v in recv_lat.items() if k not in warm_ids)
    cold = sorted(v for k, v in produce_lat.items() if k in warm_ids)
    return {
        "sent": len(sent),
        "answered": len(produce_lat),
        "rate": len(sent) / sent_s if sent_s > 0 else None,
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else None,
        "recv_p50_ms": percentile(recv, 0.50),
        "recv_p99_ms": percentile(recv, 0.99),
        "cold_p50_ms": percentile(cold, 0.50),
        "cold_p99_ms": percentile(cold, 0.99),
        "warmup_s": warmup,
    }


# ---------------------------------------------------------------- pure core
def core_eps(
    events: Sequence[tuple[bytes | None, bytes, str]], partitions: int = 4, batch: int = 500
) -> dict[str, Any]:
    """:class:`Pipeline.process` on single-event records, in this process: no Faust, no broker.

    Records are put on their home partition (as a region-keyed producer does), so this is
    validate + classify + route + merge + open + serialise state + encode dispositions.
    """
    from gridflow.runtime.heap import settle_startup_heap
    from gridflow.runtime.partitioning import partition_for
    from gridflow.runtime.records import InRecord
    from tools.bench.offline_pipeline import offline_pipeline

    pipeline, table = offline_pipeline(partitions)
    # As the worker does after start-up: what exists now lives as long as the process.
    # Undone at the end: the rest of the bench runs in this process.
    thresholds = gc.get_threshold()
    settle_startup_heap()
    topic = pipeline.topics.events_in
    now = time.time()
    # Record timestamps as a live stream of 10,000 events/s stamps them (Kafka's are in
    # milliseconds): a few records share an instant, most do not. One shared timestamp
    # would flatter the core, which computes SLA deadlines once per start instant.
    records = [
        InRecord(
            topic,
            partition_for(region, partitions),
            i,
            round(now + i / 10_000, 3),
            region.encode(),
            value,
        )
        for i, (_, value, region) in enumerate(events)
    ]
    outputs = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    for i in range(0, len(records), batch):
        result = pipeline.process(records[i : i + batch], time.time())
        outputs += len(result.outputs)
        for rows in result.writes.values():
            for region, value in rows.items():
                if value is None:
                    table.pop(region, None)
                else:
                    table[region] = value
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    return {
        "events": len(records),
        "seconds": elapsed,
        "eps": len(records) / elapsed,
        "cpu_us_per_event": cpu / len(records) * 1e6,
        "outputs": outputs,
    }


__all__ = [
    "FORMS",
    "as_form",
    "core_eps",
    "event_of",
    "make_records",
    "rate_from_timestamps",
    "run_latency",
    "run_throughput",
]
