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
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from gridflow import topics
from gridflow.api.tokens import hash_token
from gridflow.broker import free_port
from gridflow.parent_death import orphan_env, signal_on_parent_death
from gridflow.worker_process import http_get, terminate
from tools.bench import percentile
from tools.bench.pipeline_bench import Deployment, Worker, event_of, wait_until

TOKEN = "bench-field-app"
CENTRE_TOKEN = "bench-city-centre"


class ApiServer:
    """``python -m gridflow api`` for one deployment, with a field-app and a city token."""

    def __init__(self, dep: Deployment, name: str = "api") -> None:
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


def run_latency(
    bootstrap: str,
    tmp: Path,
    events: Sequence[tuple[bytes | None, bytes, str]],
    rate: float = 1000.0,
    seconds: float = 10.0,
    warmup: float = 3.0,
) -> dict[str, Any]:
    dep = Deployment(bootstrap, tmp)
    dep.create_topics()
    worker = Worker(dep).start()
    api = None
    try:
        wait_until(worker.ready, 90, "worker ready", interval=0.2)
        api = ApiServer(dep).start()
        n = min(len(events), int(rate * seconds))
        docs = _renamed(events[:n], "lat")
        return asyncio.run(_latency(api.url, dep, docs, rate, warmup))
    finally:
        if api is not None:
            api.stop()
        worker.stop()


async def _latency(
    url: str, dep: Deployment, docs: list[dict[str, Any]], rate: float, warmup: float
) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        dep.topic(topics.DISPOSITIONS),
        bootstrap_servers=dep.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sent: dict[str, int] = {}
    answered: dict[str, int] = {}
    post_ms: list[float] = []
    warm: set[str] = set()
    sending = True

    async def consume() -> None:
        while sending or len(answered) < len(sent):
            batches = await consumer.getmany(timeout_ms=100)
            for msgs in batches.values():
                for msg in msgs:
                    eid = event_of(orjson.loads(msg.value))
                    if eid is not None and eid in sent and eid not in answered:
                        answered[eid] = msg.timestamp - sent[eid]

    async with httpx.AsyncClient(
        base_url=url, timeout=httpx.Timeout(30, pool=None), limits=httpx.Limits(max_connections=64)
    ) as client:
        await client.get("/healthz")

        async def post(doc: dict[str, Any]) -> None:
            t0 = time.perf_counter()
            sent[doc["event_id"]] = int(time.time() * 1000)
            r = await client.post("/v1/events", content=orjson.dumps(doc), headers=headers)
            post_ms.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 202:
                raise RuntimeError(f"POST answered {r.status_code}: {r.text[:200]}")

        reader = asyncio.create_task(consume())
        tasks = []
        start = time.perf_counter()
        for i, doc in enumerate(docs):
            ahead = start + i / rate - time.perf_counter()
            if ahead > 0.001:
                await asyncio.sleep(ahead)
            if i / rate < warmup:
                warm.add(doc["event_id"])
            tasks.append(asyncio.create_task(post(doc)))
        await asyncio.gather(*tasks)
        sent_s = time.perf_counter() - start
        sending = False
        try:
            await asyncio.wait_for(reader, timeout=30)
        except TimeoutError:
            reader.cancel()
    await consumer.stop()
    lat = sorted(v for k, v in answered.items() if k not in warm)
    post_ms.sort()
    return {
        "sent": len(sent),
        "answered": len(answered),
        "rate": len(sent) / sent_s if sent_s > 0 else None,
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "post_p50_ms": percentile(post_ms, 0.50),
        "post_p99_ms": percentile(post_ms, 0.99),
        "warmup_s": warmup,
    }


def run_query(
    tmp: Path, cases: int = 1_000_000, queries: int = 300, say: Callable[[str], None] = print
) -> dict[str, Any]:
    from gridflow.api import db
    from gridflow.api.app import create_app
    from gridflow.api.service import build_context
    from gridflow.api.sink import MemorySink
    from gridflow.api.tokens import Role, Token, TokenStore
    from gridflow.config import ApiSettings, Settings
    from gridflow.core.regions import RegionGraph
    from schemas.common import Tier

    path = tmp / f"query-{cases}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    async def schema() -> None:
        engine = db.make_engine(url)
        await db.create_schema(engine)
        await engine.dispose()

    asyncio.run(schema())
    regions = RegionGraph.default()
    villages = [r.code for r in regions.by_tier(Tier.VILLAGE)]
    rng = random.Random(1)
    now = time.time()
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    with conn:
        rows = []
        for i in range(cases):
            village = rng.choice(villages)
            holder = rng.choices(
                [
                    village,
                    regions.ancestor(village, Tier.TOWN),
                    regions.ancestor(village, Tier.COUNTY),
                ],
                [0.7, 0.2, 0.1],
            )[0]
            closed = rng.random() < 0.5
            deadline = None if closed else now + rng.uniform(-86400, 7 * 86400)
            rows.append(
                (
                    f"{village}-{i:012x}",
                    village,
                    holder,
                    holder[:6],
                    holder[:9],
                    "village",
                    "closed" if closed else "accepted",
                    "resolve",
                    "SJ0102",
                    "normal",
                    "城市管理局",
                    deadline,
                    deadline if deadline is not None else db.NO_DEADLINE,
                    "菜市场旁垃圾堆积无人清运",
                    '["chengguan"]',
                    1,
                    now - 3600,
                    now,
                    closed,
                )
            )
            if len(rows) == 50_000:
                conn.executemany(f"INSERT INTO cases VALUES ({','.join('?' * 19)})", rows)
                rows.clear()
        if rows:
            conn.executemany(f"INSERT INTO cases VALUES ({','.join('?' * 19)})", rows)
        conn.execute("ANALYZE")
    conn.close()
    load_s = time.perf_counter() - started
    say(f"  {cases:,} cases loaded in {load_s:.0f} s")
    ctx = build_context(
        Settings(data_dir=tmp),
        ApiSettings(rate_per_s=1e9, rate_burst=10**9),
        sink=MemorySink(),
        tokens=TokenStore.from_secrets([("q", Token("q", Role.CENTRE, regions.city))]),
        database_url=url,
    )
    centres = {
        "village": villages,
        "town": [r.code for r in regions.by_tier(Tier.TOWN)],
        "county": [r.code for r in regions.by_tier(Tier.COUNTY)],
        "city": [regions.city],
    }
    result: dict[str, Any] = {"cases": cases, "load_s": round(load_s, 1)}

    async def measure() -> None:
        app = create_app(ctx)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            all_ms: list[float] = []
            for tier, codes in centres.items():
                times: list[float] = []
                for _ in range(queries // 4):
                    code = rng.choice(codes)
                    t0 = time.perf_counter()
                    r = await client.get(
                        f"/v1/centres/{code}/cases",
                        params={"state": "open"},
                        headers={"Authorization": "Bearer q"},
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(f"query answered {r.status_code}: {r.text[:200]}")
                times.sort()
                all_ms.extend(times)
                result[f"{tier}_p99_ms"] = percentile(times, 0.99)
            all_ms.sort()
            result["p50_ms"] = percentile(all_ms, 0.50)
            result["p99_ms"] = percentile(all_ms, 0.99)
        await ctx.engine.dispose()

    asyncio.run(measure())
    return result
