"""``gridflow bench --api``: the HTTP API on this machine.

* :func:`run_intake`: batched ``POST /v1/events`` from a bounded loopback client
  (``concurrency`` requests in flight, ``batch`` events each) into one ``gridflow api``
  process: events/s acknowledged (acks=all) and the POST latency.
* :func:`run_latency`: single-event POSTs at a fixed rate into the API, with a worker
  behind it: POST → disposition, the disposition's produce time minus the POST's send
  time (p50/p99), and POST → 202.
* :func:`run_query`: a read model of ``cases`` cases (SQLite, filled directly), then a
  centre's first page (``GET /v1/centres/{code}/cases?state=open``) for random village,
  town, county and city centres through the app in-process (httpx ASGI transport: the
  query, the models and the JSON, without the HTTP server's own parsing).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from sqlalchemy.dialects import sqlite

from gridflow import topics
from gridflow.api.tokens import hash_token
from gridflow.broker import free_port
from gridflow.parent_death import orphan_env, signal_on_parent_death
from gridflow.worker_process import http_get, terminate
from tools.bench import cpu_seconds, percentile
from tools.bench.pipeline_bench import Deployment, Worker, event_of, wait_until

TOKEN = "bench-field-app"
CENTRE_TOKEN = "bench-city-centre"


class ApiServer:
    """``python -m gridflow api`` for one deployment, with a field-app and a city token."""

    def __init__(self, dep: Deployment, name: str = "api", **env: str) -> None:
        self.port = free_port()
        self.log_path = dep.tmp / f"{dep.prefix}{name}.log"
        tokens = dep.tmp / f"{dep.prefix}{name}-tokens.yaml"
        tokens.write_text(
            "tokens:\n"
            f"  - name: bench-app\n    role: field_app\n    region: '500000000000'\n"
            f"    sha256: {hash_token(TOKEN)}\n    rate_per_s: 1000000\n"
            f"  - name: bench-city\n    role: centre\n    region: '500000000000'\n"
            f"    sha256: {hash_token(CENTRE_TOKEN)}\n    rate_per_s: 1000000\n",
            encoding="utf-8",
        )
        self.env = Worker(dep, name).env
        self.env.update(
            {
                "GRIDFLOW_API_PORT": str(self.port),
                "GRIDFLOW_API_TOKENS_FILE": str(tokens),
                "GRIDFLOW_API_RATE_BURST": "1000000",
                "GRIDFLOW_DATA_DIR": str(dep.tmp / f"{dep.prefix}{name}-data"),
                "GRIDFLOW_API_MAX_BODY_BYTES": str(8 * 1024 * 1024),
                "GRIDFLOW_LOG_LEVEL": "WARNING",
                **orphan_env(),
            }
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gridflow", "api"],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
                # An API whose bench died stops instead of running on (SIGKILL if it hangs).
                preexec_fn=signal_on_parent_death(signal.SIGTERM),
            )
        wait_until(self.ready, 90, "gridflow api ready", interval=0.2)
        return self

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"gridflow api exited; see {self.log_path}")
        return http_get(self.port, "/readyz")[0] == 200

    def stop(self) -> None:
        terminate(self.proc, 15)


def _renamed(events: Sequence[tuple[bytes | None, bytes, str]], tag: str) -> list[dict[str, Any]]:
    out = []
    for _key, value, _region in events:
        doc = orjson.loads(value)
        doc["event_id"] = f"{tag}-{doc['event_id']}"
        out.append(doc)
    return out


def run_intake(
    bootstrap: str,
    tmp: Path,
    events: Sequence[tuple[bytes | None, bytes, str]],
    batch: int = 200,
    concurrency: int = 4,
) -> dict[str, Any]:
    dep = Deployment(bootstrap, tmp)
    dep.create_topics()
    api = ApiServer(dep).start()
    try:
        docs = _renamed(events, "in")
        bodies = [orjson.dumps(docs[i : i + batch]) for i in range(0, len(docs), batch)]
        return asyncio.run(_post_all(api.url, bodies, concurrency, len(docs)))
    finally:
        api.stop()


async def _post_all(url: str, bodies: list[bytes], concurrency: int, n: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    queue = list(reversed(bodies))
    latencies: list[float] = []
    accepted = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        # Warm the connection and the API's producer before timing.
        await client.get("/healthz")

        async def lane() -> None:
            nonlocal accepted
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                r = await client.post("/v1/events", content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                if r.status_code != 202:
                    raise RuntimeError(f"POST answered {r.status_code}: {r.text[:200]}")
                accepted += len(r.json()["accepted"])

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events": n,
        "accepted": accepted,
        "batch": len(orjson.loads(bodies[0])) if bodies else 0,
        "concurrency": concurrency,
        "eps": accepted / elapsed if elapsed > 0 else None,
        "post_p50_ms": percentile(latencies, 0.50),
        "post_p99_ms": percentile(latencies, 0.99),
    }


#: One event's path, stage by stage: (name, what it covers). Each stage ends where the
#: next begins, so they add up to client-observed latency from the due instant.
STAGES = (
    ("send_lag", "due instant -> the client starts the POST (client CPU, loop lag)"),
    ("api_in", "POST start -> the API hands the record to its producer (HTTP, auth, validation)"),
    (
        "to_worker",
        "API produce -> the worker's batch is fetched (linger, broker, fetch wait, the "
        "worker busy with the batch before)",
    ),
    ("journal", "batch fetched -> its journal row is sent (rules catch-up)"),
    ("decide", "journal sent -> the disposition is sent (journal ack, silences, pipeline)"),
    ("observe", "disposition sent -> the bench's consumer has it (it reads every 0.2 s)"),
)


#: How often the latency run's consumer of ``grid.dispositions`` reads (see ``_latency``).
OBSERVE_EVERY_S = 0.2
#: Longest wait on one client step (a warm-up answer, a consumer's start or stop): each
#: is normally well under a second; unbounded, one hang would hold make test until CI's end.
WAIT_S = 30.0
#: Longest read-back of the inputs and journals after a run (a 30 s run at 1,000/s
#: reads back in a few seconds).
READ_BACK_S = 120.0


class StageClock:
    """Where one event's latency goes, read from the records themselves (no hook in gridflow).

    Every timestamp is wall-clock ms on this machine: the POST's start and its answer
    (client), the ``grid.events.in`` record's create time (the API's produce call), the
    worker's journal row in the case table's changelog (the batch clock ``now``, taken
    when its fetch returned, and the row's own create time), the disposition's create
    time and the instant the bench's consumer returned it. Kafka timestamps are whole
    milliseconds.
    """

    def __init__(self, events_topic: str) -> None:
        self.events_topic = events_topic
        self.sent: dict[str, float] = {}
        self.acked: dict[str, float] = {}
        #: event id -> (partition, offset, create time) of its grid.events.in record
        self.inputs: dict[str, tuple[int, int, float]] = {}
        #: partition -> [(first offset, end offset, batch now ms, journal create ms)]
        self.journals: dict[int, list[tuple[int, int, float, float]]] = {}
        #: event id -> (disposition create ms, seen by the bench ms)
        self.outputs: dict[str, tuple[float, float]] = {}

    def produced(self, msgs: Sequence[Any]) -> None:
        for msg in msgs:
            doc = orjson.loads(msg.value)
            for one in doc if isinstance(doc, list) else [doc]:
                self.inputs[one["event_id"]] = (msg.partition, msg.offset, float(msg.timestamp))

    def journaled(self, partition: int, msgs: Sequence[Any]) -> None:
        from gridflow.runtime.checkpoint import journal_key

        key = journal_key(partition)
        for msg in msgs:
            if msg.key != key or msg.value is None:
                continue
            doc = orjson.loads(msg.value)
            start = doc["from"].get(self.events_topic)
            if start is not None:
                end = doc["to"][self.events_topic]
                row = (start, end, doc["now"] * 1000, float(msg.timestamp))
                self.journals.setdefault(partition, []).append(row)

    def decided(self, event_id: str, created_ms: float, seen_ms: float) -> None:
        self.outputs[event_id] = (created_ms, seen_ms)

    def _journal(self, partition: int, offset: int) -> tuple[float, float] | None:
        # The last journal covering the offset: a replayed batch repeats an earlier one.
        for start, end, now_ms, sent_ms in reversed(self.journals.get(partition, [])):
            if start <= offset < end:
                return now_ms, sent_ms
        return None

    def report(self, event_ids: Sequence[str], due_ms: dict[str, float]) -> dict[str, Any]:
        """p50/p99 (ms) of each stage over ``event_ids``, and how many could be traced."""
        spans: dict[str, list[float]] = {name: [] for name, _ in STAGES}
        spans["post_answer"] = []
        batch_sizes: list[int] = []
        traced = 0
        for eid in event_ids:
            sent, inp, dispo = self.sent.get(eid), self.inputs.get(eid), self.outputs.get(eid)
            if sent is None or inp is None or dispo is None:
                continue
            journal = self._journal(inp[0], inp[1])
            if journal is None:
                continue
            traced += 1
            now_ms, journal_ms = journal
            marks = (due_ms[eid], sent, inp[2], now_ms, journal_ms, dispo[0], dispo[1])
            for (name, _), begin, end in zip(STAGES, marks[:-1], marks[1:], strict=True):
                spans[name].append(end - begin)
            if eid in self.acked:
                spans["post_answer"].append(self.acked[eid] - inp[2])
        for rows in self.journals.values():
            batch_sizes.extend(end - start for start, end, _, _ in rows)
        out: dict[str, Any] = {"traced": traced}
        for name, values in spans.items():
            values.sort()
            p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
            out[name] = {
                "p50": None if p50 is None else round(p50, 1),
                "p99": None if p99 is None else round(p99, 1),
            }
        batch_sizes.sort()
        out["worker_batch_events"] = {
            "batches": len(batch_sizes),
            "p50": percentile(batch_sizes, 0.50),
            "p99": percentile(batch_sizes, 0.99),
        }
        return out


#: ``run_latency``'s API topologies: one process takes the POSTs and projects the read
#: model, or an intake replica (no projector) beside a projecting replica (no POSTs).
TOPOLOGIES = ("single", "split")


def latency_apis(
    dep: Deployment, topology: str, projection_interval_ms: float, **env: str
) -> list[ApiServer]:
    """The API processes of a latency run, the intake replica first (not yet started).

    ``split`` is the production topology of stateless replicas on one read model: the
    intake replica runs with ``GRIDFLOW_API_PROJECTOR=false``, the projecting one takes no
    POSTs and gathers its transactions (``projection_interval_ms``). They share the
    read model (one SQLite file here, PostgreSQL in production).
    """
    if topology == "single":
        return [ApiServer(dep, **env)]
    if topology != "split":
        raise ValueError(f"unknown API topology {topology!r}: one of {', '.join(TOPOLOGIES)}")
    data_dir = str(dep.tmp / f"{dep.prefix}api-data")
    intake = ApiServer(dep, GRIDFLOW_API_PROJECTOR="false", GRIDFLOW_DATA_DIR=data_dir, **env)
    projector = ApiServer(
        dep,
        "api-projector",
        GRIDFLOW_API_PROJECTION_INTERVAL_MS=f"{projection_interval_ms:g}",
        GRIDFLOW_DATA_DIR=data_dir,
        **env,
    )
    return [intake, projector]


#: ``GRIDFLOW_INPUT_GATHER_MS`` of the latency run's worker unless the environment sets
#: one: at 1,000 POSTs/s it cut the p99 on the embedded broker (docs/api.md "Speed").
WORKER_GATHER_MS = 10


def latency_worker(dep: Deployment, environ: Mapping[str, str] = os.environ) -> Worker:
    """The latency run's worker, gathering its inputs for ``WORKER_GATHER_MS`` by default.

    ``GRIDFLOW_INPUT_GATHER_MS`` in the bench's environment wins (``=0``: the product's
    default), so A/B runs need no option.
    """
    gather = environ.get("GRIDFLOW_INPUT_GATHER_MS", str(WORKER_GATHER_MS))
    return Worker(dep, GRIDFLOW_INPUT_GATHER_MS=gather)


def run_latency(
    bootstrap: str,
    tmp: Path,
    events: Sequence[tuple[bytes | None, bytes, str]],
    rate: float = 1000.0,
    seconds: float = 30.0,
    warmup: float = 3.0,
    *,
    drain_s: float = 15.0,
    say: Callable[[str], None] = print,
    broker_pid: int | None = None,
    topology: str = "single",
    projection_interval_ms: float = 100.0,
    api_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST -> disposition at ``rate``; ``broker_pid``: also report the broker's CPU per event.

    ``topology``: one API process (``single``) or an intake and a projecting replica
    (``split``, :func:`latency_apis`); the CPU of both is reported. ``api_env``: further
    ``GRIDFLOW_API_*`` settings for the API processes.
    """
    dep = Deployment(bootstrap, tmp)
    dep.create_topics()
    worker = latency_worker(dep).start()
    apis = latency_apis(dep, topology, projection_interval_ms, **(api_env or {}))
    try:
        wait_until(worker.ready, 90, "worker ready", interval=0.2)
        for server in apis:
            server.start()
        api = apis[0]
        say(
            "  latency: one API process takes the POSTs and projects"
            if topology == "single"
            else "  latency: an intake replica (no projector) beside a projecting replica "
            f"(no POSTs, projection interval {projection_interval_ms:g} ms)"
        )
        n = min(len(events), int(rate * seconds))
        docs = _renamed(events[:n], "lat")
        assert worker.proc is not None
        pids = {"worker": worker.proc.pid}
        for server, name in zip(apis, ("api", "api_projector"), strict=False):
            assert server.proc is not None
            pids[name] = server.proc.pid
        if broker_pid is not None:
            pids["broker"] = broker_pid
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        own_before = time.process_time()
        cpu_used: dict[str, float] = {}

        def sent_and_drained() -> None:
            # Up to here, not through the read-back of the inputs and journals after it
            # (that costs the broker and the client as much again, and is the bench's).
            for name, pid in pids.items():
                cpu_used[name] = cpu_seconds(pid) - cpu_before[name]
            cpu_used["client"] = time.process_time() - own_before

        # uvloop, as the API's uvicorn runs: the client shares the 2 cores with what it
        # measures, and asyncio's own loop cost it ~10 % more CPU per POST.
        result = uvloop.run(
            _latency(
                api.url,
                dep,
                docs,
                rate,
                warmup,
                drain_s=drain_s,
                say=say,
                on_drained=sent_and_drained,
            )
        )
        # CPU per sent event, sending and draining: on a shared machine the rates move
        # with the load, the CPU each process spends per event much less.
        sent = max(1, result["sent"])
        for name, used in cpu_used.items():
            result[f"{name}_cpu_us_per_event"] = round(used / sent * 1e6)
        # Everything the bench started, the client included: what the cores had to give.
        result["total_cpu_us_per_event"] = round(sum(cpu_used.values()) / sent * 1e6)
        result["topology"] = topology
        result["worker_gather_ms"] = int(worker.env["GRIDFLOW_INPUT_GATHER_MS"])
        if topology == "split":
            result["projection_interval_ms"] = projection_interval_ms
        if api_env:
            result["api_env"] = dict(api_env)
        return result
    finally:
        for server in apis:
            server.stop()
        worker.stop()


async def _latency(
    url: str,
    dep: Deployment,
    docs: list[dict[str, Any]],
    rate: float,
    warmup: float,
    *,
    drain_s: float = 15.0,
    connections: int = 64,
    progress_s: float = 5.0,
    say: Callable[[str], None] = print,
    on_drained: Callable[[], None] = lambda: None,
    observe_every_s: float = OBSERVE_EVERY_S,
) -> dict[str, Any]:
    """Open loop: POST ``docs`` one per request at ``rate``/s, whatever the answers do.

    Each event's latency runs from the instant it was *due* to be sent (not when the
    client got round to it, so a late client cannot hide queueing) to the produce
    timestamp of its dispatch/merge disposition. Waits at most ``drain_s`` after the last
    send; events still unanswered then are counted, and count as slower than any answered
    one in the percentiles.

    The client is :mod:`tools.bench.loopback_http` (keep-alive connections, requests
    encoded before the run, no task per POST): it shares the cores with what it
    measures, and aiohttp cost ~330 µs of CPU per POST, a third of a core at 1,000/s.
    (httpx before it never finished: with requests queued for a connection httpcore's
    pool scans every queued request on every state change.)
    """
    from urllib.parse import urlsplit

    from aiokafka import AIOKafkaConsumer

    from tools.bench.loopback_http import LoopbackPool, post_request

    dispositions = dep.topic(topics.DISPOSITIONS)
    events_in = dep.topic(topics.EVENTS_IN)
    # The case table's changelog: each worker batch's journal row names the input offsets
    # it covers and the clock it read them at (gridflow/runtime/checkpoint.py).
    changelog = f"{dep.prefix}gridflow-cases-changelog"
    consumer = AIOKafkaConsumer(
        dispositions,
        bootstrap_servers=dep.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    # Encoded before the clock starts: the run spends its CPU on sending, not on building.
    requests = [
        post_request(f"{host}:{port}", "/v1/events", headers, orjson.dumps(doc)) for doc in docs
    ]
    due_ms: dict[str, float] = {}  # event id -> wall-clock ms it was due to be sent
    answered: dict[str, float] = {}
    stages = StageClock(events_in)
    refused: dict[int, int] = {}  # HTTP status (0: no answer) -> POSTs
    post_ms: list[float] = []
    lag_ms: list[float] = []  # how late the client started each POST
    warm: set[str] = set()
    done = asyncio.Event()
    outstanding = 0

    async def consume() -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            seen_ms = time.time() * 1000
            for msgs in batches.values():
                for msg in msgs:
                    eid = event_of(orjson.loads(msg.value))
                    if eid is not None and eid in due_ms and eid not in answered:
                        answered[eid] = msg.timestamp - due_ms[eid]
                        stages.decided(eid, msg.timestamp, seen_ms)
            if batches and observe_every_s > 0:
                # The answer is the record's own timestamp, so reading late costs the
                # figure nothing; reading eagerly cost the broker a fetch per few
                # dispositions, and on the embedded broker a fetch costs more the longer
                # the topic (docs/api.md), all on the cores being measured.
                await asyncio.sleep(observe_every_s)

    pool = LoopbackPool(host, port, connections)
    await pool.open()
    try:
        warmup_req = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        for _ in range(connections):  # every connection once, before timing
            answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            pool.submit(warmup_req, _resolver(answer))
            # Bounded: an API that took the connection and never answers must fail the
            # run, not hold it (and make test) until an outer timeout.
            await asyncio.wait_for(answer, WAIT_S)

        def answered_by(event_id: str, due: float) -> Callable[[int, bytes], None]:
            def answer(status: int, _body: bytes) -> None:
                nonlocal outstanding
                if done.is_set():
                    return
                outstanding -= 1
                post_ms.append((time.perf_counter() - due) * 1000)
                stages.acked[event_id] = time.time() * 1000
                if status != 202:
                    refused[status] = refused.get(status, 0) + 1
                    # Not accepted as far as we know: not waited for, not in the
                    # percentiles (answered stays a subset of due_ms, which the drain
                    # loop relies on).
                    due_ms.pop(event_id, None)
                    answered.pop(event_id, None)

            return answer

        def report(phase: str) -> None:
            say(
                f"  latency {phase}: {len(lag_ms):,}/{len(docs):,} sent, "
                f"{len(answered):,} answered, {pool.in_flight} POSTs in flight"
                + (f", {pool.queued} queued in the client" if pool.queued else "")
                + (f", refused {refused}" if refused else "")
            )

        reader = asyncio.create_task(consume())
        start = time.perf_counter()
        start_ms = time.time() * 1000
        next_report = start + progress_s
        for i, doc in enumerate(docs):
            due = start + i / rate
            ahead = due - time.perf_counter()
            # Behind schedule it still yields once per event, so the answers and the
            # disposition reader run between sends.
            await asyncio.sleep(ahead if ahead > 0.0005 else 0)
            event_id = doc["event_id"]
            if i / rate < warmup:
                warm.add(event_id)
            due_ms[event_id] = start_ms + i / rate * 1000
            lag_ms.append((time.perf_counter() - due) * 1000)
            stages.sent[event_id] = time.time() * 1000
            outstanding += 1
            pool.submit(requests[i], answered_by(event_id, due))
            if time.perf_counter() >= next_report:
                report(f"{time.perf_counter() - start:.0f} s")
                next_report += progress_s
        sent_s = time.perf_counter() - start
        drain_until = time.perf_counter() + drain_s
        while (outstanding or len(answered) < len(due_ms)) and time.perf_counter() < drain_until:
            await asyncio.sleep(0.05)
        on_drained()
        report("end")
        done.set()
        await asyncio.gather(reader, return_exceptions=True)
    finally:
        done.set()
        pool.close()
    await asyncio.wait_for(consumer.stop(), WAIT_S)
    # The inputs and the journals only after the run: read live, their fetches cost the
    # broker and the client as much CPU again as the POSTs (seen at 300/s), on the cores
    # the figure is measured on. Their create times are in the records.
    await _read_back(dep.bootstrap, (events_in, changelog), dep.partitions, stages, changelog)
    traced = stages.report([k for k in due_ms if k not in warm and k in answered], due_ms)
    say(f"  stages (ms, p50/p99) of {traced['traced']:,} traced events:")
    for name, what in (*STAGES, ("post_answer", "API produce -> 202 at the client (acks=all)")):
        say(f"    {name:<11} {traced[name]['p50']!s:>7} / {traced[name]['p99']!s:<7}  {what}")
    by_window = p99_by_window(due_ms, answered, start_ms)
    say(f"  p99 (ms) of the events due in each 5 s: {by_window}")
    measured = [k for k in due_ms if k not in warm]
    unanswered = sum(1 for k in measured if k not in answered)
    lat = sorted(answered[k] for k in measured if k in answered)
    lat_all = lat + [float("inf")] * unanswered
    post_ms.sort()
    lag_ms.sort()

    def finite(v: float | None) -> float | None:
        return None if v is None or v == float("inf") else round(v, 1)

    return {
        "sent": len(lag_ms),
        "answered": len(answered),
        "unanswered": sum(1 for k in due_ms if k not in answered),
        "measured": len(measured),
        "measured_unanswered": unanswered,
        "refused": {str(k): v for k, v in sorted(refused.items())},
        "rate": round(len(lag_ms) / sent_s, 1) if sent_s > 0 else None,
        "seconds": round(sent_s, 1),
        # None when more than 1 % (50 %) of the measured events had no answer in time.
        "p50_ms": finite(percentile(lat_all, 0.50)),
        "p99_ms": finite(percentile(lat_all, 0.99)),
        "max_ms": finite(lat_all[-1] if lat_all else None),
        "post_p50_ms": finite(percentile(post_ms, 0.50)),
        "post_p99_ms": finite(percentile(post_ms, 0.99)),
        "send_lag_p99_ms": finite(percentile(lag_ms, 0.99)),
        "warmup_s": warmup,
        "drain_s": drain_s,
        # Warm-up included: the first window is the machine before the queues built up.
        "p99_ms_by_5s": by_window,
        "stages": traced,
    }


def p99_by_window(
    due_ms: dict[str, float],
    answered: dict[str, float],
    start_ms: float,
    window_s: float = 5.0,
) -> list[float | None]:
    """p99 latency (ms) of the events due in each ``window_s`` of the run, in order.

    Shows whether the tail grows as the run goes on (on the embedded broker it does:
    docs/api.md). An event in ``due_ms`` without an answer ranks above every answer, and a
    window where more than 1 % went unanswered has no p99 (None), as the run's figure.
    """
    windows: dict[int, list[float]] = {}
    for event_id, due in due_ms.items():
        latency = answered.get(event_id, float("inf"))
        windows.setdefault(int((due - start_ms) / 1000 / window_s), []).append(latency)
    out: list[float | None] = []
    for index in range(max(windows) + 1 if windows else 0):
        values = sorted(windows.get(index, []))
        p99 = percentile(values, 0.99)
        out.append(None if p99 is None or p99 == float("inf") else round(p99, 1))
    return out


def _resolver(future: asyncio.Future[int]) -> Callable[[int, bytes], None]:
    def resolve(status: int, _body: bytes) -> None:
        if not future.done():
            future.set_result(status)

    return resolve


async def _read_back(
    bootstrap: str, names: Sequence[str], partitions: int, stages: StageClock, changelog: str
) -> None:
    """Every record of ``names`` so far into ``stages`` (inputs and the worker's journals)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=200,
    )
    await asyncio.wait_for(consumer.start(), WAIT_S)
    try:
        tps = [TopicPartition(topic, p) for topic in names for p in range(partitions)]
        consumer.assign(tps)
        await asyncio.wait_for(consumer.seek_to_beginning(*tps), WAIT_S)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), WAIT_S)
        # Each partition up to its end offset taken above (everything the run wrote), then
        # paused: the worker runs on and may write its changelog all the while, so "until
        # a fetch comes back empty" alone never ended (a CI run hung an hour here). The
        # embedded broker's end offsets are wrong across multi-record batches
        # (docs/PITFALLS.md), so a partition short of its end that gives nothing for
        # three fetches in a row is taken as read too.
        pending = set(tps)
        idle = 0
        deadline = time.monotonic() + READ_BACK_S
        while pending and idle < 3:
            if time.monotonic() > deadline:
                where = {
                    f"{tp.topic}[{tp.partition}]": (await consumer.position(tp), ends[tp])
                    for tp in sorted(pending)
                }
                raise TimeoutError(
                    f"read-back not done after {READ_BACK_S:.0f} s; (position, end) of the "
                    f"partitions left: {where}"
                )
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=10_000)
            for tp, msgs in batches.items():
                if tp.topic == changelog:
                    stages.journaled(tp.partition, msgs)
                else:
                    stages.produced(msgs)
            done = {tp for tp in pending if await consumer.position(tp) >= ends[tp]}
            if done:
                consumer.pause(*done)
                pending -= done
            idle = 0 if batches else idle + 1
    finally:
        await asyncio.wait_for(consumer.stop(), WAIT_S)


def run_query(
    bootstrap: str,
    tmp: Path,
    cases: int = 1_000_000,
    queries: int = 1000,
    *,
    database_url: str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """A centre's first page of open cases through HTTP, with ``cases`` cases projected.

    The read model (SQLite in ``tmp`` unless ``database_url`` names another) is seeded
    with :func:`seed_cases`; the plan of each tier's query is read back with EXPLAIN; then
    one ``gridflow api`` process (projector off, so nothing but the queries runs in it)
    answers ``queries`` sequential ``GET /v1/centres/{code}/cases?state=open`` for random
    village, town, county and city centres in turn, over keep-alive HTTP from aiohttp.
    """
    from gridflow.core.regions import RegionGraph
    from schemas.common import Tier

    url = database_url or f"sqlite+aiosqlite:///{tmp / f'query-{cases}.sqlite3'}"
    say(f"  seeding {cases:,} cases into {url.split(':', 1)[0]} …")
    load_s = seed_cases(url, cases)
    say(f"  {cases:,} cases seeded in {load_s:.1f} s")
    regions = RegionGraph.default()
    centres = {
        "village": [r.code for r in regions.by_tier(Tier.VILLAGE)],
        "town": [r.code for r in regions.by_tier(Tier.TOWN)],
        "county": [r.code for r in regions.by_tier(Tier.COUNTY)],
        "city": [regions.city],
    }
    rng = random.Random(2)
    plans = asyncio.run(_plans(url, {t: rng.choice(c) for t, c in centres.items()}, regions))
    result: dict[str, Any] = {"cases": cases, "load_s": round(load_s, 1), "plans": plans}
    sorts = [tier for tier, plan in plans.items() if _sorts(plan)]
    if sorts:
        result["sorted_tiers"] = sorts  # a page that sorts is no longer one index range
    dep = Deployment(bootstrap, tmp)
    api = ApiServer(
        dep,
        "query-api",
        GRIDFLOW_API_DATABASE_URL=url,
        GRIDFLOW_API_PROJECTOR="false",
    ).start()
    try:
        assert api.proc is not None
        cpu_before = cpu_seconds(api.proc.pid)
        times = asyncio.run(_query_all(api.url, centres, queries, rng))
        cpu_used = cpu_seconds(api.proc.pid) - cpu_before
    finally:
        api.stop()
    all_ms: list[float] = []
    for tier, ms in times.items():
        ms.sort()
        all_ms.extend(ms)
        result[f"{tier}_p50_ms"] = round(percentile(ms, 0.50) or 0, 2)
        result[f"{tier}_p99_ms"] = round(percentile(ms, 0.99) or 0, 2)
    all_ms.sort()
    result.update(
        queries=len(all_ms),
        p50_ms=round(percentile(all_ms, 0.50) or 0, 2),
        p99_ms=round(percentile(all_ms, 0.99) or 0, 2),
        max_ms=round(all_ms[-1], 2) if all_ms else None,
        # incl. the warm-up queries; on a shared machine steadier than the times
        api_cpu_ms_per_query=round(cpu_used / (len(all_ms) + 20) * 1000, 2),
    )
    return result


async def _query_all(
    url: str, centres: dict[str, list[str]], queries: int, rng: random.Random
) -> dict[str, list[float]]:
    import aiohttp

    headers = {"Authorization": f"Bearer {CENTRE_TOKEN}"}
    times: dict[str, list[float]] = {tier: [] for tier in centres}
    tiers = list(centres)
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def get(code: str) -> float:
            t0 = time.perf_counter()
            async with client.get(
                f"/v1/centres/{code}/cases", params={"state": "open"}, headers=headers
            ) as r:
                body = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"query answered {r.status}: {body[:200]!r}")
            return (time.perf_counter() - t0) * 1000

        for tier in tiers:  # warm the connection, the statement cache and the pages
            for _ in range(5):
                await get(rng.choice(centres[tier]))
        for i in range(queries):
            tier = tiers[i % len(tiers)]
            times[tier].append(await get(rng.choice(centres[tier])))
    return times


async def _plans(url: str, sample: dict[str, str], regions: Any) -> dict[str, str]:
    """Each tier's first-page query as the database plans it (EXPLAIN), one line each."""
    from gridflow.api import db
    from gridflow.api.readmodel import CaseQuery, cases_query
    from gridflow.api.scope import code_prefix

    engine = db.make_engine(url)
    plans: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            for tier, code in sample.items():
                stmt = cases_query(
                    CaseQuery(code_prefix(regions, code), now=time.time(), state="open")
                )
                sql = str(
                    stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
                )
                if conn.dialect.name == "sqlite":
                    rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
                    plans[tier] = "; ".join(str(r[-1]) for r in rows)
                else:
                    rows = await conn.exec_driver_sql(f"EXPLAIN {sql}")
                    plans[tier] = "; ".join(" ".join(str(r[0]).split()) for r in rows)
    finally:
        await engine.dispose()
    return plans


def _sorts(plan: str) -> bool:
    return "TEMP B-TREE" in plan or "Sort" in plan


def seed_cases(url: str, cases: int, seed: int = 1) -> float:
    """Fill the read model at ``url`` with ``cases`` cases, as the projection would hold them.

    Rows follow the ``cases`` table of gridflow/api/db.py (its columns, in its order); the
    secondary indexes are dropped for the load and built after it, then the statistics
    are gathered (``ANALYZE``). SQLite through the standard library's driver in one
    transaction; PostgreSQL by COPY (asyncpg). Half the cases are open, spread over every
    village; 70 % are held by the village, 20 % by its town, 10 % by its county.
    Returns the seconds it took.
    """
    from sqlalchemy.schema import CreateIndex

    from gridflow.api import db
    from gridflow.core.regions import RegionGraph
    from schemas.common import Tier

    started = time.perf_counter()

    async def schema() -> None:
        engine = db.make_engine(url)
        try:
            await db.create_schema(engine)
            await db.clear(engine)
        finally:
            await engine.dispose()

    asyncio.run(schema())
    regions = RegionGraph.default()
    holders = [
        (
            v.code,
            regions.ancestor(v.code, Tier.TOWN),
            regions.ancestor(v.code, Tier.COUNTY),
        )
        for v in regions.by_tier(Tier.VILLAGE)
    ]
    columns = [c.name for c in db.cases.columns]
    rng = random.Random(seed)
    now = time.time()

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(cases):
            village, town, county = rng.choice(holders)
            pick = rng.random()
            holder, tier = (
                (village, "village")
                if pick < 0.7
                else (town, "town")
                if pick < 0.9
                else (county, "county")
            )
            closed = rng.random() < 0.5
            deadline = None if closed else now + rng.uniform(-86400, 7 * 86400)
            row = {
                "case_id": f"{village}-{i:012x}",
                "region_code": village,
                "holder": holder,
                "holder_county": holder[:6],
                "holder_town": holder[:9],
                "tier": tier,
                "state": "closed" if closed else "accepted",
                "stage": "resolve",
                "category": "SJ0102",
                "priority": "normal",
                "department": "城市管理局",
                "deadline": deadline,
                "due": db.NO_DEADLINE if deadline is None else deadline,
                "title": "菜市场旁垃圾堆积无人清运",
                "networks": '["chengguan"]',
                "events": 1,
                "opened_at": now - 3600,
                "updated_at": now,
                "closed": closed,
                "lat": 29.55,
                "lon": 106.57,
                "grid_code": None,
            }
            # A column added later (nullable: supervisor, verifier …) stays empty here;
            # a NOT NULL one missing from ``row`` fails the insert, loudly.
            yield tuple(row.get(c) for c in columns)

    indexes = sorted(db.cases.indexes, key=lambda ix: str(ix.name))
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        dialect = sqlite.dialect()
        conn = sqlite3.connect(path)
        try:
            with conn:
                for ix in indexes:
                    conn.execute(f"DROP INDEX IF EXISTS {ix.name}")
                marks = ",".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO cases ({','.join(columns)}) VALUES ({marks})", rows()
                )
                for ix in indexes:
                    conn.execute(str(CreateIndex(ix).compile(dialect=dialect)))
            conn.execute("ANALYZE")
        finally:
            conn.close()
    else:
        asyncio.run(_copy_postgres(url, columns, rows(), indexes))
    return time.perf_counter() - started


async def _copy_postgres(
    url: str, columns: list[str], rows: Iterator[tuple[Any, ...]], indexes: list[Any]
) -> None:
    from sqlalchemy.schema import CreateIndex

    from gridflow.api import db

    engine = db.make_engine(url)
    try:
        async with engine.begin() as conn:
            for ix in indexes:
                await conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix.name}")
            raw = await conn.get_raw_connection()
            # asyncpg's COPY: the fastest way in, one round trip per buffer of rows.
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "cases", records=rows, columns=columns
            )
            for ix in indexes:
                await conn.exec_driver_sql(str(CreateIndex(ix).compile(dialect=conn.dialect)))
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE cases")
            await conn.commit()
    finally:
        await engine.dispose()
