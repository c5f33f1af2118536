"""The read model's projection, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from api_world import TOWN, VILLAGE
from history import TOPICS, History, engine, event
from sqlalchemy import func, select

from gridflow.api import db
from gridflow.api.projection import Record, apply_batch, load_positions
from gridflow.api.readmodel import ReadModel


async def project(url: str, records: list, *, chunk: int = 1000) -> None:
    engine = db.make_engine(url)
    await db.create_schema(engine)
    try:
        for start in range(0, len(records), chunk):
            async with engine.begin() as conn:
                await apply_batch(conn, TOPICS, records[start : start + chunk])
    finally:
        await engine.dispose()


async def snapshot(url: str) -> dict[str, object]:
    engine = db.make_engine(url)
    try:
        async with engine.connect() as conn:
            cases = [
                tuple(r) for r in await conn.execute(select(db.cases).order_by(db.cases.c.case_id))
            ]
            entries = [
                r.entry_id
                for r in await conn.execute(select(db.timeline).order_by(db.timeline.c.entry_id))
            ]
            kpis = (await conn.execute(select(func.count()).select_from(db.kpi_records))).scalar()
            positions = await load_positions(conn)
        return {"cases": cases, "entries": entries, "kpis": kpis, "positions": positions}
    finally:
        await engine.dispose()


def closed_loop() -> tuple[History, str]:
    """A case reported twice (two networks), accepted, resolved, verified, closed; a refusal."""
    h = History(VILLAGE)
    (dispatch, *_) = h.report(event("e1", VILLAGE))
    case_id = dispatch.case_id
    h.report(event("e2", VILLAGE, network="zongzhi"))
    assert isinstance(
        h.act(case_id, TOWN, "accept", "fb-wrong"), tuple
    )  # the town does not hold it
    holder = dispatch.center_code
    for action, centre in (
        ("accept", holder),
        ("resolve", holder),
        ("verify", TOWN),
        ("close", TOWN),
    ):
        assert not isinstance(h.act(case_id, centre, action, f"fb-{action}"), tuple), action
    h.metrics("500103000000", datetime(2026, 1, 1, tzinfo=UTC), events_in=2, cases_opened=1)
    return h, case_id


async def test_a_closed_loop_projects_into_one_case_with_its_timeline(database_url: str) -> None:
    h, case_id = closed_loop()
    await project(database_url, h.records)
    model = ReadModel(db.make_engine(database_url))
    try:
        case = await model.case(case_id, now=h.now)
    finally:
        await model.engine.dispose()
    assert case is not None
    assert case.state == "closed" and case.closed
    assert case.networks == ["chengguan", "zongzhi"] and case.events == 2
    kinds = [(e.kind, e.action) for e in case.timeline]
    assert kinds[0] == ("disposition", "dispatch")
    assert ("disposition", "merge") in kinds
    refusal = next(e for e in case.timeline if e.kind == "refusal")
    assert refusal.feedback_id == "fb-wrong" and refusal.reason == "wrong_center"
    assert {e.feedback_id for e in case.timeline} >= {
        "fb-accept",
        "fb-resolve",
        "fb-verify",
        "fb-close",
    }


async def test_replaying_every_record_changes_nothing(database_url: str) -> None:
    h, _ = closed_loop()
    await project(database_url, h.records)
    first = await snapshot(database_url)
    await project(database_url, h.records, chunk=3)  # a rebuild that finds the rows there
    assert await snapshot(database_url) == first


async def test_positions_are_the_next_offsets_of_what_was_applied(database_url: str) -> None:
    h, _ = closed_loop()
    half = len(h.records) // 2
    await project(database_url, h.records[:half])
    stored = (await snapshot(database_url))["positions"]
    expected: dict[tuple[str, int], int] = {}
    for rec in h.records[:half]:
        expected[(rec.topic, rec.partition)] = rec.offset + 1
    assert stored == expected


async def test_a_batch_that_fails_leaves_neither_rows_nor_positions(database_url: str) -> None:
    h, _ = closed_loop()
    engine = db.make_engine(database_url)
    await db.create_schema(engine)
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await apply_batch(conn, TOPICS, h.records)
                raise RuntimeError("crash before commit")
    finally:
        await engine.dispose()
    after = await snapshot(database_url)
    assert after["entries"] == [] and after["positions"] == {}


async def test_out_of_order_dispositions_keep_the_latest_state(database_url: str) -> None:
    h, case_id = closed_loop()
    dispositions = [r for r in h.records if r.topic == TOPICS.dispositions]
    await project(database_url, list(reversed(dispositions)), chunk=1)
    model = ReadModel(db.make_engine(database_url))
    try:
        case = await model.case(case_id, now=h.now)
    finally:
        await model.engine.dispose()
    assert case is not None and case.state == "closed"


async def test_a_batch_ends_as_its_dispositions_applied_one_by_one(database_url: str) -> None:
    # A batch writes one row per case (the cases of the closed loop and of a second
    # report), so the whole history in one batch must leave what one record per batch does.
    h, _case_id = closed_loop()
    h.report(event("e3", VILLAGE, title="路灯不亮"))
    await project(database_url, h.records, chunk=1)
    one_by_one = await snapshot(database_url)
    engine = db.make_engine(database_url)
    try:
        await db.clear(engine)
    finally:
        await engine.dispose()
    await project(database_url, h.records, chunk=len(h.records))
    assert await snapshot(database_url) == one_by_one
    assert len(one_by_one["cases"]) == 2


async def test_kpi_records_are_kept_one_per_topic_position(database_url: str) -> None:
    h = History(VILLAGE)
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    h.metrics(
        "500103000000",
        start,
        events_in=3,
        cases_opened=2,
        cases_closed=1,
        closed_on_time=1,
        reports_by_network={"chengguan": 3},
    )
    h.metrics(
        "500103000000",
        start,
        events_in=1,
        cases_opened=1,
        merges=1,
        reports_by_network={"chengguan": 1, "zongzhi": 1},
    )
    await project(database_url, h.records)
    await project(database_url, h.records)
    model = ReadModel(db.make_engine(database_url))
    try:
        (w,) = await model.kpis("1m", "500103000000", "", None, None)
    finally:
        await model.engine.dispose()
    assert (w.parts, w.events_in, w.cases_opened, w.cases_closed) == (2, 4, 3, 1)
    assert w.close_rate == pytest.approx(1 / 3) and w.merge_ratio == pytest.approx(0.25)
    assert w.reports_by_network == {"chengguan": 4, "zongzhi": 1}


def test_history_records_are_json() -> None:
    h, _ = closed_loop()
    assert all(orjson.loads(r.value) for r in h.records)


async def test_a_case_merged_across_villages_leaves_the_queue_and_its_reports_follow(
    database_url: str,
) -> None:
    neighbour = "500103001006"
    h = History(VILLAGE)
    (dispatch, *_) = h.report(event("b1", VILLAGE))
    other = History(neighbour)
    other.now = h.now
    (absorbed, *_) = other.report(event("b2", neighbour))
    out, joined = engine().apply_absorb(other.state, absorbed.case_id, dispatch.case_id, h.now + 2)
    assert joined is not None
    other._publish(out.dispositions)
    h._publish(engine().apply_join(h.state, dispatch.case_id, joined, h.now + 3).dispositions)
    # One topic: the neighbour's records after this village's (offsets must not collide).
    records = h.records + [
        Record(r.topic, r.partition, r.offset + 100, r.value) for r in other.records
    ]
    await project(database_url, records)
    model = ReadModel(db.make_engine(database_url))
    try:
        gone = await model.case(absorbed.case_id, now=h.now)
        survivor = await model.case(dispatch.case_id, now=h.now)
        moved = await model.case_of_event("b2")
    finally:
        await model.engine.dispose()
    assert gone is not None and gone.state == "merged" and gone.closed
    assert survivor is not None and survivor.events == 2 and not survivor.closed
    assert moved == dispatch.case_id


@pytest.mark.parametrize(
    ("url", "writer"),
    [
        ("sqlite+aiosqlite:///{tmp}/readmodel.sqlite3", True),
        ("sqlite+aiosqlite://", False),  # in memory: one database per connection
        ("postgresql+asyncpg://u:pw@127.0.0.1:9/db", False),  # asyncpg needs no thread
    ],
)
async def test_only_a_sqlite_file_gets_a_writer_engine_with_a_large_wal(
    url: str, writer: bool, tmp_path: Path
) -> None:
    engine = db.make_engine(url.format(tmp=tmp_path))
    try:
        sync = db.make_thread_engine(engine)
        assert (sync is not None) == writer
        if sync is not None:
            with sync.connect() as conn:
                pragma = conn.exec_driver_sql
                assert pragma("PRAGMA wal_autocheckpoint").scalar() == 16000
                assert pragma("PRAGMA cache_size").scalar() == -32768
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
            sync.dispose()
    finally:
        await engine.dispose()
