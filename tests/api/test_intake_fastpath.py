"""``POST /v1/events`` is served beside FastAPI's router (gridflow/api/fastpath.py): every
answer, refusal, header and produced record is the FastAPI route's, request for request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from api_world import OTHER_COUNTY_VILLAGE, TOKENS, VILLAGE
from fastapi import FastAPI

from gridflow.api import db
from gridflow.api.app import create_app
from gridflow.api.fastpath import IntakeFastPath
from gridflow.api.service import build_context
from gridflow.api.sink import MemorySink
from gridflow.api.tokens import TokenStore
from gridflow.config import ApiSettings, Settings

JSON = {"Content-Type": "application/json"}


def ev(event_id: str, region: str = VILLAGE, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": region,
        "title": "井盖缺失",
        **extra,
    }


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **JSON}


#: (case, headers, body): every kind of answer POST /v1/events gives.
REQUESTS: list[tuple[str, dict[str, str], bytes]] = [
    ("one event", bearer("t-app"), orjson.dumps(ev("f1"))),
    ("a centre reports too", bearer("t-village"), orjson.dumps(ev("f2"))),
    ("a batch, partly refused", bearer("t-app"), orjson.dumps([ev("f3"), {"event_id": "f4"}])),
    ("an unknown field", bearer("t-app"), orjson.dumps(ev("f5", descripton="typo"))),
    ("outside the token's region", bearer("t-app"), orjson.dumps(ev("f6", OTHER_COUNTY_VILLAGE))),
    ("every event refused", bearer("t-app"), orjson.dumps([{"event_id": "f7"}])),
    ("malformed JSON", bearer("t-app"), b'{"event_id": '),
    ("not UTF-8", bearer("t-app"), b'{"event_id": "\xff"}'),
    ("too many events", bearer("t-app"), orjson.dumps([ev(f"g{i}") for i in range(11)])),
    ("body over the limit", bearer("t-app"), b" " * (64 * 1024 + 1)),
    ("no content type", {"Authorization": "Bearer t-app"}, orjson.dumps(ev("f8"))),
    ("a form body", {**bearer("t-app"), "Content-Type": "text/plain"}, b"x"),
    ("no token", JSON, orjson.dumps(ev("f9"))),
    ("another scheme", {"Authorization": "Basic t-app", **JSON}, orjson.dumps(ev("f9"))),
    ("an empty bearer", {"Authorization": "Bearer  ", **JSON}, orjson.dumps(ev("f9"))),
    ("lower-case scheme", {"Authorization": "bearer t-app", **JSON}, orjson.dumps(ev("fa"))),
    ("an unknown token", bearer("nope"), orjson.dumps(ev("f9"))),
    ("an ops token", bearer("t-ops"), orjson.dumps(ev("f9"))),
]


@asynccontextmanager
async def client(
    tmp_path: Path, fast: bool, **api: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, MemorySink, FastAPI]]:
    """The app with or without the fast path (without: FastAPI's route answers)."""
    sink = MemorySink()
    settings = ApiSettings(max_body_bytes=64 * 1024, **{"rate_burst": 1000, **api})
    ctx = build_context(
        Settings(data_dir=tmp_path / "data", max_batch_events=10),
        settings,
        sink=sink,
        tokens=TokenStore.from_secrets(list(TOKENS.items())),
        database_url=f"sqlite+aiosqlite:///{tmp_path / f'rm-{fast}.sqlite3'}",
    )
    await db.create_schema(ctx.engine)
    app = create_app(ctx)
    if not fast:
        fast_path: Any = IntakeFastPath
        app.user_middleware = [m for m in app.user_middleware if m.cls is not fast_path]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c, sink, app
    finally:
        await ctx.engine.dispose()


def seen(r: httpx.Response) -> tuple[int, str | None, str | None, str | None, Any]:
    return (
        r.status_code,
        r.headers.get("content-type"),
        r.headers.get("www-authenticate"),
        r.headers.get("retry-after"),
        r.json(),
    )


@pytest.mark.parametrize(("case", "headers", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
async def test_the_fast_path_answers_as_the_route(
    tmp_path: Path, case: str, headers: dict[str, str], body: bytes
) -> None:
    answers = []
    for fast in (True, False):
        async with client(tmp_path, fast) as (c, sink, _):
            r = await c.post("/v1/events", content=body, headers=headers)
            answers.append((seen(r), sink.records))
    assert answers[0] == answers[1]


async def test_the_rate_limit_answers_as_the_route(tmp_path: Path) -> None:
    answers = []
    for fast in (True, False):
        async with client(tmp_path, fast, rate_per_s=0.001, rate_burst=1) as (c, _, _):
            first = await c.post(
                "/v1/events", content=orjson.dumps(ev("r1")), headers=bearer("t-app")
            )
            second = await c.post(
                "/v1/events", content=orjson.dumps(ev("r2")), headers=bearer("t-app")
            )
            answers.append((first.status_code, seen(second)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 202 and answers[0][1][0] == 429


async def test_intake_is_answered_without_the_router(tmp_path: Path) -> None:
    async with client(tmp_path, fast=True) as (c, sink, app):
        app.router.routes.clear()  # FastAPI itself would now answer 404 to everything
        r = await c.post("/v1/events", content=orjson.dumps(ev("n1")), headers=bearer("t-app"))
        assert r.status_code == 202 and len(sink.records) == 1
        assert (await c.get("/v1/events/n1", headers=bearer("t-app"))).status_code == 404
        # Other methods and paths go on to FastAPI.
        r = await c.post("/v1/events/", content=b"{}", headers=bearer("t-app"))
        assert r.status_code == 404


async def test_the_access_log_names_the_route_template(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="gridflow.api.access")
    async with client(tmp_path, fast=True) as (c, _, app):
        await c.post("/v1/events", content=orjson.dumps(ev("m1")), headers=bearer("t-app"))
        await c.post("/v1/events", content=b"{", headers=bearer("t-app"))
        metrics = app.state.ctx.metrics.registry.get_sample_value
    labels = {"route": "/v1/events", "method": "POST"}
    assert metrics("gridflow_api_requests_total", {**labels, "status": "202"}) == 1
    assert metrics("gridflow_api_requests_total", {**labels, "status": "400"}) == 1
    assert [m for m in caplog.messages if "POST /v1/events 202" in m and "token=app" in m]
