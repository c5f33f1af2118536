"""Fixtures of the API's tests: an app on a memory sink, SQLite and PostgreSQL read models."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from api_world import TOKENS, Api
from postgres import postgres_server

from gridflow.api import db
from gridflow.api.app import create_app
from gridflow.api.service import build_context
from gridflow.api.sink import MemorySink
from gridflow.api.tokens import TokenStore
from gridflow.config import ApiSettings, Settings


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for the session; skips saying how to get one when absent."""
    if os.environ.get("GRIDFLOW_TEST_POSTGRES") == "testcontainers":
        from testcontainers.postgres import PostgresContainer

        try:
            with PostgresContainer("postgres:16", driver=None) as pg:
                yield pg.get_connection_url()
        except Exception as exc:
            pytest.skip(f"GRIDFLOW_TEST_POSTGRES=testcontainers but no container: {exc}")
        return
    try:
        with postgres_server() as dsn:
            yield dsn
    except FileNotFoundError as exc:
        pytest.skip(f"PostgreSQL is not installed: {exc}")


async def _new_database(dsn: str) -> str:
    import asyncpg

    name = f"t{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def database_url(
    database_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A fresh, empty read model database of each kind."""
    if database_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'readmodel.sqlite3'}"
        return
    dsn = request.getfixturevalue("postgres_dsn")
    yield await _new_database(dsn)


@pytest_asyncio.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app on a memory sink (no broker) over an empty read model, with httpx in front."""
    settings = Settings(data_dir=tmp_path / "data", max_batch_events=10)
    sink = MemorySink()
    ctx = build_context(
        settings,
        ApiSettings(max_body_bytes=64 * 1024, rate_per_s=1000, rate_burst=1000),
        sink=sink,
        tokens=TokenStore.from_secrets(list(TOKENS.items())),
        database_url=database_url,
    )
    await db.create_schema(ctx.engine)
    app = create_app(ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield Api(ctx, client, sink)
    await ctx.engine.dispose()
