"""The read model's tables and the one database layer (SQLAlchemy 2 Core, async).

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) serves replicas. Times
are stored as Unix seconds (float): one sortable type on both engines, no time zone
conversions. Only ``insert … on conflict`` differs per dialect (:func:`upsert`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gridflow.core.kpi import COUNTS
from schemas import MergeMetrics

metadata = MetaData()

#: ``cases.due`` of a case without a running deadline (after every real one).
NO_DEADLINE = 1.0e12

#: An auto-incrementing 64-bit key (SQLite only auto-increments INTEGER PRIMARY KEY).
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

#: One row per case: the latest state the dispositions told.
cases = Table(
    "cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("region_code", String(12), nullable=False, index=True),
    #: the centre holding the case (the target of its last dispatch/escalate/reroute).
    #: no index of its own: ix_cases_holder_due begins with it (one index less per write).
    Column("holder", String(12), nullable=False),
    #: the holder's county and town code prefixes (6 and 9 digits): a supervising centre's
    #: list is then one index range in deadline order, not a sort of all its cases.
    Column("holder_county", String(6), nullable=False),
    Column("holder_town", String(9), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("state", String(24), nullable=False),
    Column("stage", String(16)),
    Column("category", String(32)),
    Column("priority", String(8)),
    Column("department", String(64)),
    Column("deadline", Float),
    #: the sort key of a centre's list: the deadline, or NO_DEADLINE when none runs, so
    #: "by deadline, the rest last" is a plain index order on both engines.
    Column("due", Float, nullable=False),
    Column("title", String(200)),
    Column("networks", Text, nullable=False, default="[]"),
    Column("events", Integer, nullable=False, default=0),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    # Where the case is (the console's map): the first located report's coordinates.
    Column("lat", Float),
    Column("lon", Float),
    Column("grid_code", String(15)),
    Column("supervisor", String(12)),
    #: a region centre's code or a department office's (``500103000000-zjz``).
    Column("verifier", String(32)),
    Index("ix_cases_holder_due", "holder", "due", "case_id"),
    #: a verifying office's list: the cases it verifies, by deadline.
    Index("ix_cases_verifier_due", "verifier", "due", "case_id"),
    Index("ix_cases_county_due", "holder_county", "due", "case_id"),
    Index("ix_cases_town_due", "holder_town", "due", "case_id"),
    Index("ix_cases_due", "due", "case_id"),
)

#: Every step of every case: dispositions and refusals of feedback, in projection order.
timeline = Table(
    "timeline",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    #: disposition_id, or ``refusal/<feedback_id>``: the idempotency key of the projection.
    Column("entry_id", String(255), nullable=False, unique=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("kind", String(12), nullable=False),
    Column("action", String(24), nullable=False),
    #: the centre told (a region's code, or a verifying department office's).
    Column("center_code", String(32), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("feedback_id", String(128), index=True),
    Column("reason", Text),
    Column("body", Text, nullable=False),
)

#: Which case each report (event id) ended in.
case_events = Table(
    "case_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("case_id", String(64), nullable=False),
)

#: Every partial KPI record of grid.metrics, keyed by its topic position (idempotent).
kpi_records = Table(
    "kpi_records",
    metadata,
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("region_code", String(12), nullable=False),
    Column("window", String(8), nullable=False),
    Column("window_start", Float, nullable=False),
    Column("window_end", Float, nullable=False),
    Column("events_in", Integer, nullable=False),
    Column("cases_opened", Integer, nullable=False),
    Column("cases_closed", Integer, nullable=False),
    Column("closed_on_time", Integer, nullable=False),
    Column("merges", Integer, nullable=False),
    Column("reworks", Integer, nullable=False),
    Column("extensions", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    #: JSON: the per-network maps, the counts of ``EXTRA_COUNTS`` ("counts") and the
    #: ``by_department`` / ``by_centre`` breakdowns.
    Column("maps", Text, nullable=False),
    Index("ix_kpi_window", "window", "window_start", "region_code"),
)
#: The KPI counts with a column of their own; every other count of
#: ``gridflow.core.kpi.COUNTS`` is kept in ``maps``.
COLUMN_COUNTS = tuple(name for name in COUNTS if name in kpi_records.c)
#: The contract's per-network maps (its ``dict[str, int]`` fields), kept in ``maps``.
NETWORK_MAPS = tuple(
    name for name, field in MergeMetrics.model_fields.items() if field.annotation == dict[str, int]
)

#: The projector's next offset per topic partition, written with the rows it covers.
positions = Table(
    "positions",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)

PROJECTED = (cases, timeline, case_events, kpi_records, positions)


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL so readers never wait for the projector."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def make_thread_engine(engine: AsyncEngine) -> Engine | None:
    """For SQLite, a synchronous engine on the same file, for work done whole in a thread.

    Through aiosqlite every statement is several hops between the event loop and the
    driver's thread; a transaction run in one thread with the standard driver makes none.
    None for other databases (asyncpg talks to its server from the loop without threads).
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None  # an in-memory database is one per connection: no second engine on it
    url = engine.url.set(drivername="sqlite+pysqlite")
    sync = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(sync, "connect", _pragmas)
    event.listen(sync, "connect", _writer_pragmas)
    return sync


#: The projector's connection (the one writer) checkpoints the WAL at 64 MB, not SQLite's
#: 4 MB: a transaction's rows land on pages all over the 13 indexes, so the same pages were
#: copied back into the file again and again; with a larger page cache, ~15 % less CPU
#: per projected record, more as the read model grows (docs/api.md, Speed).
WRITER_PRAGMAS = ("PRAGMA wal_autocheckpoint=16000", "PRAGMA cache_size=-32768")


def _writer_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in WRITER_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables, and add missing nullable columns to existing ones.

    The schema is the projection's: other changes need a rebuild. A column added later
    (``cases.supervisor``, ``cases.verifier``) is nullable, so a database created before it
    gains it in place; its old rows read ``NULL`` until a rebuild re-projects them. A
    column widened later (``verifier`` and ``timeline.center_code`` to 32 characters, for
    department offices' codes) is widened in place on PostgreSQL (SQLite does not enforce
    lengths); so is an index added later created.
    """
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(_add_missing_columns)


def _add_missing_columns(conn: Any) -> None:
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                _widen(conn, table, column, present[column.name])
                continue
            if not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)


def _widen(conn: Any, table: Table, column: Column[Any], present: Any) -> None:
    """A VARCHAR shorter than the model's grows to it (PostgreSQL enforces the length)."""
    wanted = getattr(column.type, "length", None)
    have = getattr(present, "length", None)
    if conn.dialect.name != "postgresql" or wanted is None or have is None or have >= wanted:
        return
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" TYPE {kind}'))


async def clear(engine: AsyncEngine) -> None:
    """Delete every projected row and position: the next start projects from offset 0."""
    async with engine.begin() as conn:
        for table in PROJECTED:
            await conn.execute(table.delete())


def upsert(conn: AsyncConnection | Connection, table: Table) -> Any:
    """The dialect's ``INSERT`` that supports ``on_conflict_do_nothing/update``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
