"""Apply output records to the read model, idempotently, with their topic positions.

One call applies one fetched batch in one transaction: the rows and the next offsets of
the partitions they came from commit together, so a crash between two batches resumes
exactly after the last committed one, and a replay of a batch (a crash after the commit
but before the consumer moved on cannot happen; a rebuild can) changes nothing:

* a disposition is keyed by its ``disposition_id`` (deterministic, so a worker's replay
  after a crash repeats the same ids);
* a refusal of feedback (``grid.events.dlq`` with ``source_topic`` = the feedback topic)
  by ``refusal/<feedback_id>``;
* a KPI record by its (partition, offset): every record is a partial figure to be summed.

Dispositions of one case are keyed by their target centre, so they can arrive on
different partitions out of order: the case row takes a disposition's fields only when
its ``at`` is not older than the row's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gridflow.api import db
from gridflow.core.kpi import COUNTS
from schemas import Disposition, MergeMetrics, Rejection

log = logging.getLogger("gridflow.api.projection")

#: Case states after which a case no longer appears among open cases.
FINAL_STATES = frozenset({"closed", "cancelled", "merged"})
#: Dispositions that tell another tier about a case they do not hold.
_INFORM_PREFIX = "inform:"


@dataclass(frozen=True, slots=True)
class OutputTopics:
    """Full names (with prefix) of the topics the projection reads."""

    dispositions: str
    dlq: str
    metrics: str
    #: the feedback topic: DLQ records from it are refusals of feedback.
    feedback: str


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass(slots=True)
class Applied:
    """What a batch added (new timeline rows drive the live streams)."""

    new_entries: int = 0
    skipped: int = 0
    kpi_records: int = 0
    #: centre codes that got new timeline rows
    centres: set[str] = field(default_factory=set)
    feedback_ids: set[str] = field(default_factory=set)


def _feedback_of(rejection: Rejection) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(rejection.original)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("case_id"), str):
        return None
    return doc


async def apply_batch(
    conn: AsyncConnection, topics: OutputTopics, records: Sequence[Record]
) -> Applied:
    """Project ``records`` and advance the positions; the caller commits the transaction."""
    return await conn.run_sync(apply_batch_sync, topics, records)


def apply_batch_sync(conn: Connection, topics: OutputTopics, records: Sequence[Record]) -> Applied:
    """:func:`apply_batch` on a synchronous connection.

    The projector runs it whole in a thread on SQLite (``Projector``): through aiosqlite
    each statement is several hops between the event loop and the driver's thread (a
    cursor, the execute, the fetch, its close), ~3.5 ms of CPU per transaction in all,
    more than the rows themselves at the worker's small batches.
    """
    applied = Applied()
    dispositions: list[tuple[Disposition, bytes]] = []
    refusals: list[tuple[Rejection, dict[str, Any], bytes]] = []
    kpis: list[dict[str, Any]] = []
    next_offsets: dict[tuple[str, int], int] = {}
    for rec in records:
        key = (rec.topic, rec.partition)
        next_offsets[key] = max(next_offsets.get(key, 0), rec.offset + 1)
        if not rec.value:
            continue
        try:
            if rec.topic == topics.dispositions:
                dispositions.append((Disposition.model_validate_json(rec.value), rec.value))
            elif rec.topic == topics.dlq:
                rejection = Rejection.model_validate_json(rec.value)
                if rejection.source_topic != topics.feedback:
                    continue
                doc = _feedback_of(rejection)
                if doc is not None:
                    refusals.append((rejection, doc, rec.value))
            elif rec.topic == topics.metrics:
                m = MergeMetrics.model_validate_json(rec.value)
                kpis.append(_kpi_row(rec, m))
        except ValidationError as exc:
            # Output topics are the processor's own: a bad record is a bug upstream, and
            # must not stop the projection. Counted and logged without its content.
            applied.skipped += 1
            log.warning(
                "skipping %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, exc.error_count()
            )
    _dispositions(conn, dispositions, applied)
    _refusals(conn, refusals, applied)
    if kpis:
        conn.execute(_statement(conn, "kpi_records"), kpis)
        applied.kpi_records += len(kpis)
    _advance(conn, next_offsets)
    return applied


#: KPI counts without a column of their own (kept in the ``maps`` JSON).
EXTRA_COUNTS = tuple(name for name in COUNTS if name not in db.COLUMN_COUNTS)


def _kpi_row(rec: Record, m: MergeMetrics) -> dict[str, Any]:
    # The counts added to the contract after the table's columns, and the breakdowns,
    # travel in the JSON column: the table keeps its shape (no migration to read them).
    counts = {name: getattr(m, name) for name in EXTRA_COUNTS if getattr(m, name)}
    maps = {
        **{name: getattr(m, name) for name in db.NETWORK_MAPS},
        "counts": counts,
        "by_department": m.by_department,
        "by_centre": m.by_centre,
    }
    return {
        "partition": rec.partition,
        "offset": rec.offset,
        "region_code": m.region_code,
        "window": m.window,
        "window_start": m.window_start.timestamp(),
        "window_end": m.window_end.timestamp(),
        **{name: getattr(m, name) for name in db.COLUMN_COUNTS},
        "maps": orjson.dumps(maps).decode(),
    }


def _known(conn: Connection, ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bound the IN list
        chunk = wanted[start : start + 500]
        rows = conn.execute(_statement(conn, "known"), {"ids": chunk})
        found.update(row[0] for row in rows)
    return found


def _feedback_id_of(d: Disposition) -> str | None:
    # Feedback-caused steps carry ``<case>/fb/<feedback_id>`` (gridflow.core.engine._disp).
    marker = f"{d.case_id}/fb/"
    if d.disposition_id.startswith(marker):
        return d.disposition_id[len(marker) :]
    return None


def _dispositions(
    conn: Connection, items: list[tuple[Disposition, bytes]], applied: Applied
) -> None:
    if not items:
        return
    known = _known(conn, (d.disposition_id for d, _ in items))
    fresh: dict[str, tuple[Disposition, bytes]] = {}
    for d, raw in items:
        if d.disposition_id not in known and d.disposition_id not in fresh:
            fresh[d.disposition_id] = (d, raw)
    if not fresh:
        return
    ordered = sorted(fresh.values(), key=lambda item: item[0].at)
    rows = []
    events: dict[str, str] = {}
    #: 跨村合并: reports of an absorbed case now belong to the case that took them over.
    moved: dict[str, str] = {}
    for d, raw in ordered:
        at = d.at.timestamp()
        fid = _feedback_id_of(d)
        rows.append(
            {
                "entry_id": d.disposition_id,
                "case_id": d.case_id,
                "kind": "disposition",
                "action": d.action.value,
                "center_code": d.center_code,
                "at": at,
                "feedback_id": fid,
                "reason": d.reason,
                "body": raw.decode("utf-8"),
            }
        )
        applied.centres.add(d.center_code)
        if fid:
            applied.feedback_ids.add(fid)
        for event_id in d.events:
            events.setdefault(event_id, d.case_id)
        if d.merged_cases:
            moved.update(dict.fromkeys(d.events, d.case_id))
    conn.execute(_insert_entries(conn), rows)
    applied.new_entries += len(rows)
    if events:
        links = [{"event_id": e, "case_id": c} for e, c in events.items()]
        conn.execute(_statement(conn, "case_events"), links)
    if moved:
        links = [{"event_id": e, "case_id": c} for e, c in moved.items()]
        conn.execute(_statement(conn, "case_events_moved"), links)
    # One row per case, the batch's dispositions applied in order: the same end state as
    # one upsert per disposition, in one statement per column set instead of one per
    # disposition (building and compiling each was a third of the API's CPU at 1,000/s).
    latest: dict[str, dict[str, Any]] = {}
    for d, _raw in ordered:
        if d.holder is not None:
            # The case row follows the dispositions addressed to its holder; the others
            # (informs, a supervisor's escalate, a former holder's handover notice) tell
            # another centre and change nothing the row shows.
            if d.center_code != d.holder:
                continue
        elif d.reason and d.reason.startswith(_INFORM_PREFIX):
            continue  # a disposition from before ``holder`` was carried: an inform
        row = _case_values(d)
        before = latest.get(d.case_id)
        if before is None:
            latest[d.case_id] = row
        else:
            before.update(row, opened_at=before["opened_at"])
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in latest.values():
        by_columns.setdefault(tuple(row), []).append(row)
    for columns, rows in by_columns.items():
        conn.execute(_upsert_cases(conn, columns), rows)


def _case_values(d: Disposition) -> dict[str, Any]:
    at = d.at.timestamp()
    state = d.state or "registered"
    values = {
        "case_id": d.case_id,
        "opened_at": d.reported_at.timestamp() if d.reported_at else at,
        "region_code": d.region_code or d.case_id[:12],
        "holder": d.center_code,
        "holder_county": d.center_code[:6],
        "holder_town": d.center_code[:9],
        "tier": d.tier.value,
        "state": state,
        "stage": d.stage,
        "category": d.category,
        "priority": d.priority.value if d.priority else None,
        "department": d.department,
        "deadline": d.deadline.timestamp() if d.deadline else None,
        "due": d.deadline.timestamp() if d.deadline else db.NO_DEADLINE,
        "title": d.title,
        "networks": orjson.dumps(d.networks).decode(),
        "events": len(d.events),
        "updated_at": at,
        "closed": state in FINAL_STATES,
        "supervisor": d.supervisor,
        "verifier": d.verifier,
    }
    if d.lat is not None:  # older dispositions carry none: keep what a newer one told
        values.update(lat=d.lat, lon=d.lon, grid_code=d.grid_code)
    return values


#: (dialect, columns) -> the case upsert for rows of those columns.
_CASE_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}
#: Set only when the row is new: a case opens once.
_INSERT_ONLY = frozenset({"case_id", "opened_at"})


def _upsert_cases(conn: Connection, columns: tuple[str, ...]) -> Any:
    key = (conn.dialect.name, columns)
    stmt = _CASE_UPSERTS.get(key)
    if stmt is None:
        insert = db.upsert(conn, db.cases)
        excluded = insert.excluded
        stmt = insert.on_conflict_do_update(
            index_elements=[db.cases.c.case_id],
            set_={name: excluded[name] for name in columns if name not in _INSERT_ONLY},
            where=db.cases.c.updated_at <= excluded.updated_at,
        )
        _CASE_UPSERTS[key] = stmt
    return stmt


def _refusals(
    conn: Connection,
    items: list[tuple[Rejection, dict[str, Any], bytes]],
    applied: Applied,
) -> None:
    if not items:
        return
    by_id: dict[str, tuple[Rejection, dict[str, Any], bytes]] = {}
    for rejection, doc, raw in items:
        fid = str(doc.get("feedback_id") or f"{rejection.partition}:{rejection.offset}")
        by_id.setdefault(f"refusal/{fid}", (rejection, doc, raw))
    known = _known(conn, by_id)
    rows = []
    for entry_id, (rejection, doc, raw) in by_id.items():
        if entry_id in known:
            continue
        centre = str(doc.get("center_code") or "")[:32]
        rows.append(
            {
                "entry_id": entry_id,
                "case_id": str(doc["case_id"])[:64],
                "kind": "refusal",
                "action": str(doc.get("action") or "")[:24],
                "center_code": centre,
                "at": rejection.at.timestamp(),
                "feedback_id": entry_id.removeprefix("refusal/")[:128],
                "reason": rejection.reason.value,
                "body": raw.decode("utf-8"),
            }
        )
        applied.centres.add(centre)
        applied.feedback_ids.add(entry_id.removeprefix("refusal/"))
    if rows:
        conn.execute(_insert_entries(conn), rows)
        applied.new_entries += len(rows)


#: (dialect, what) -> a statement built once: building one (``excluded`` makes a new
#: alias of the table each time) and compiling it cost more than executing it at the
#: worker's small batches.
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(conn: Connection, what: str) -> Any:
    key = (conn.dialect.name, what)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = _BUILDERS[what](conn)
    return stmt


def _insert_entries(conn: Connection) -> Any:
    return _statement(conn, "timeline")


def _build_insert_entries(conn: Connection) -> Any:
    # Another replica's projector may have written the same entry meanwhile.
    return db.upsert(conn, db.timeline).on_conflict_do_nothing(index_elements=["entry_id"])


def _build_advance(conn: Connection) -> Any:
    stmt = db.upsert(conn, db.positions)
    return stmt.on_conflict_do_update(
        index_elements=[db.positions.c.topic, db.positions.c.partition],
        set_={"next_offset": stmt.excluded.next_offset},
        # Two projectors on one database (replicas) never move a position backwards.
        where=db.positions.c.next_offset < stmt.excluded.next_offset,
    )


def _advance(conn: Connection, next_offsets: dict[tuple[str, int], int]) -> None:
    if not next_offsets:
        return
    rows = [{"topic": t, "partition": p, "next_offset": o} for (t, p), o in next_offsets.items()]
    conn.execute(_statement(conn, "positions"), rows)


async def load_positions(conn: AsyncConnection) -> dict[tuple[str, int], int]:
    rows = await conn.execute(select(db.positions))
    return {(r.topic, r.partition): r.next_offset for r in rows}


def _build_known(_conn: Connection) -> Any:
    return select(db.timeline.c.entry_id).where(
        db.timeline.c.entry_id.in_(bindparam("ids", expanding=True))
    )


def _build_new_events(conn: Connection) -> Any:
    return db.upsert(conn, db.case_events).on_conflict_do_nothing()


def _build_moved_events(conn: Connection) -> Any:
    stmt = db.upsert(conn, db.case_events)
    return stmt.on_conflict_do_update(
        index_elements=[db.case_events.c.event_id],
        set_={"case_id": stmt.excluded.case_id},
    )


def _build_kpi_records(conn: Connection) -> Any:
    return db.upsert(conn, db.kpi_records).on_conflict_do_nothing()


_BUILDERS: dict[str, Callable[[Connection], Any]] = {
    "known": _build_known,
    "timeline": _build_insert_entries,
    "positions": _build_advance,
    "case_events": _build_new_events,
    "case_events_moved": _build_moved_events,
    "kpi_records": _build_kpi_records,
}
