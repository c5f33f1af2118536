"""Queries on the read model: cases, timelines, feedback outcomes, KPI sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from gridflow.api import db
from gridflow.api.models import (
    CaseDetail,
    CaseSummary,
    FeedbackOutcome,
    KpiFigures,
    TimelineEntry,
)
from gridflow.core.kpi import COUNTS, rates

_C = db.cases.c
_T = db.timeline.c
_K = db.kpi_records.c
#: sorts after every digit: ``code < prefix + _AFTER`` bounds a prefix range on an index.
_AFTER = ":"


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _summary(r: dict[str, Any], now: float) -> CaseSummary:
    deadline = r["deadline"]
    return CaseSummary(
        case_id=r["case_id"],
        region_code=r["region_code"],
        holder=r["holder"],
        tier=r["tier"],
        state=r["state"],
        stage=r["stage"],
        category=r["category"],
        priority=r["priority"],
        department=r["department"],
        deadline=_dt(deadline),
        overdue=bool(not r["closed"] and deadline is not None and deadline < now),
        title=r["title"],
        networks=orjson.loads(r["networks"]),
        events=r["events"],
        opened_at=datetime.fromtimestamp(r["opened_at"], UTC),
        updated_at=datetime.fromtimestamp(r["updated_at"], UTC),
        closed=bool(r["closed"]),
        lat=r["lat"],
        lon=r["lon"],
        grid_code=r["grid_code"],
        supervisor=r["supervisor"],
        verifier=r["verifier"],
    )


def entry(row: Row[Any]) -> TimelineEntry:
    record = orjson.loads(row.body)
    if row.kind == "refusal":
        acted_by = row.center_code or None  # the refused feedback's sender
    else:
        acted_by = record.get("acted_by") if isinstance(record, dict) else None
    return TimelineEntry(
        seq=row.seq,
        kind=row.kind,
        action=row.action,
        center_code=row.center_code,
        at=datetime.fromtimestamp(row.at, UTC),
        reason=row.reason,
        feedback_id=row.feedback_id,
        case_id=row.case_id,
        record=record,
        acted_by=acted_by,
    )


class ReadModel:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def case_row(self, case_id: str) -> Row[Any] | None:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(db.cases).where(_C.case_id == case_id))
            return result.first()

    async def case(self, case_id: str, now: float) -> CaseDetail | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(db.cases).where(_C.case_id == case_id))).first()
            if row is None:
                return None
            steps = await conn.execute(
                select(db.timeline).where(_T.case_id == case_id).order_by(_T.at, _T.seq)
            )
            timeline = [entry(r) for r in steps]
        summary = _summary(row._asdict(), now)
        return CaseDetail(**summary.model_dump(), timeline=timeline)

    async def case_of_event(self, event_id: str) -> str | None:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(db.case_events.c.case_id).where(db.case_events.c.event_id == event_id)
            )
            return result.scalar()

    async def cases(self, query: CaseQuery) -> tuple[list[CaseSummary], bool]:
        """A centre's cases (holder under ``query.prefix``; or those ``query.verifier``
        verifies), by deadline; and whether more follow."""
        stmt = cases_query(replace(query, limit=query.limit + 1))
        async with self.engine.connect() as conn:
            result = await conn.execute(stmt)
            # Plain dicts, zipped by position: reading a Row's attributes cost ~14 µs per
            # case (0.7 ms of a 50-case page), the zip a seventh of that.
            keys = tuple(result.keys())
            rows = [dict(zip(keys, row, strict=True)) for row in result]
        return [_summary(r, query.now) for r in rows[: query.limit]], len(rows) > query.limit

    async def outcome(
        self, case_id: str, feedback_id: str, action: str | None = None, since: float = 0.0
    ) -> FeedbackOutcome:
        """The worker's answer to one feedback: its disposition, its refusal, or pending."""
        match = _T.feedback_id == feedback_id
        if action == "escalate":
            # An escalation's id names the tier, not the feedback (gridflow.core.engine).
            match = or_(
                match,
                and_(_T.action == "escalate", _T.at >= since, _T.reason.startswith("asked up by")),
            )
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(db.timeline).where(_T.case_id == case_id, match).order_by(_T.seq).limit(1)
            )
            row = result.first()
        if row is None:
            return FeedbackOutcome(feedback_id=feedback_id, case_id=case_id, status="pending")
        found = entry(row)
        if found.kind == "refusal":
            return FeedbackOutcome(
                feedback_id=feedback_id,
                case_id=case_id,
                status="refused",
                reason=found.reason,
                detail=str(found.record.get("detail", "")),
                entry=found,
            )
        return FeedbackOutcome(
            feedback_id=feedback_id,
            case_id=case_id,
            status="applied",
            reason=found.reason,
            entry=found,
        )

    async def entries_after(
        self, prefix: str, after: int, limit: int = 500, verifier: str | None = None
    ) -> Sequence[TimelineEntry]:
        """Timeline rows for centres under ``prefix`` with ``seq > after`` (live streams);
        with ``verifier`` (a department office), the rows of the cases it verifies."""
        where: list[Any] = [_T.seq > after]
        if verifier is not None:
            verified = select(_C.case_id).where(_C.verifier == verifier)
            where.append(or_(_T.center_code == verifier, _T.case_id.in_(verified)))
        elif prefix:
            where.append(and_(_T.center_code >= prefix, _T.center_code < prefix + _AFTER))
        stmt = select(db.timeline).where(*where).order_by(_T.seq).limit(limit)
        async with self.engine.connect() as conn:
            return [entry(r) for r in await conn.execute(stmt)]

    async def last_seq(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.max(_T.seq)))).scalar() or 0)

    async def kpis(
        self,
        window: str,
        county: str | None,
        prefix: str,
        start: float | None,
        end: float | None,
        *,
        by: str = "county",
        department: str | None = None,
        centre: str | None = None,
        visible: Callable[[str], bool] | None = None,
    ) -> list[KpiFigures]:
        """Sum every partial record per (county, window start), then the rates (docs/kpis.md).

        ``by="department"`` / ``"centre"``: sum the records' breakdowns instead, per
        (department or centre, window start) over the counties selected; ``department`` /
        ``centre`` keep one; ``visible`` keeps the centres it accepts.
        """
        where: list[Any] = [_K.window == window]
        if county:
            where.append(_K.region_code == county)
        elif prefix:
            where.append(and_(_K.region_code >= prefix, _K.region_code < prefix + _AFTER))
        if start is not None:
            where.append(_K.window_start >= start)
        if end is not None:
            where.append(_K.window_start < end)
        stmt = (
            select(db.kpi_records)
            .where(*where)
            .order_by(_K.window_start, _K.region_code)
            .limit(200_000)
        )
        sums: dict[tuple[str, float], dict[str, Any]] = {}

        def acc_of(key: tuple[str, float], window_end: float) -> dict[str, Any]:
            acc = sums.get(key)
            if acc is None:
                acc = {"window_end": window_end, "parts": 0}
                acc.update(dict.fromkeys(COUNTS, 0))
                acc.update({m: {} for m in db.NETWORK_MAPS})
                sums[key] = acc
            return acc

        async with self.engine.connect() as conn:
            for row in await conn.execute(stmt):
                maps = orjson.loads(row.maps)
                if by == "county":
                    acc = acc_of((row.region_code, row.window_start), row.window_end)
                    acc["parts"] += 1
                    for c in db.COLUMN_COUNTS:
                        acc[c] += getattr(row, c)
                    for c, n in (maps.get("counts") or {}).items():
                        if c in acc:
                            acc[c] += n
                    for m in db.NETWORK_MAPS:
                        target = acc[m]
                        for k, v in (maps.get(m) or {}).items():
                            target[k] = target.get(k, 0) + v
                    continue
                breakdown = maps.get("by_department" if by == "department" else "by_centre")
                wanted = department if by == "department" else centre
                for name, counts in (breakdown or {}).items():
                    if wanted is not None and name != wanted:
                        continue
                    if visible is not None and not visible(name):
                        continue
                    acc = acc_of((name, row.window_start), row.window_end)
                    acc["parts"] += 1
                    for c, n in counts.items():
                        if c in acc:
                            acc[c] += n
        if by == "county":
            return [_figures(region, window, ws, acc) for (region, ws), acc in sums.items()]
        scope = county or prefix_region(prefix)
        out = []
        for (name, ws), acc in sorted(sums.items(), key=lambda item: (item[0][1], item[0][0])):
            if by == "department":
                out.append(_figures(scope, window, ws, acc, department=name))
            else:
                out.append(_figures(name, window, ws, acc, centre=name))
        return out


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """What a centre's list asks: the holders under ``prefix``, the filters and the page.

    ``now`` decides ``overdue``. The one definition of the list's parameters, for the
    API, Open311 and ``gridflow bench --api``.
    """

    prefix: str
    now: float
    state: str | None = None
    tier: str | None = None
    category: str | None = None
    overdue: bool | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0
    #: a verifying department office (``500103000000-zjz``): the cases it verifies
    #: instead of the holders under ``prefix`` (its own index).
    verifier: str | None = None


def cases_query(query: CaseQuery) -> Select[Any]:
    """The SELECT of a centre's list (``gridflow bench --api`` explains it): by deadline,
    so that with the holder prefix columns a page is one index range, never a sort."""
    where: list[Any] = []
    if query.verifier is not None:
        where.append(_C.verifier == query.verifier)
    elif len(query.prefix) == 6:
        where.append(_C.holder_county == query.prefix)
    elif len(query.prefix) == 9:
        where.append(_C.holder_town == query.prefix)
    elif query.prefix:
        where.append(_C.holder == query.prefix)
    if query.state == "open":
        where.append(_C.closed.is_(False))
    elif query.state == "closed":
        where.append(_C.closed.is_(True))
    elif query.state:
        where.append(_C.state == query.state)
    if query.tier:
        where.append(_C.tier == query.tier)
    if query.category:
        where.append(_C.category.startswith(query.category, autoescape=True))
    if query.overdue is True:
        where.append(and_(_C.closed.is_(False), _C.deadline < query.now))
    elif query.overdue is False:
        where.append(or_(_C.closed.is_(True), _C.deadline.is_(None), _C.deadline >= query.now))
    if query.q:
        where.append(
            or_(
                _C.title.contains(query.q, autoescape=True),
                _C.case_id.startswith(query.q, autoescape=True),
            )
        )
    return (
        select(db.cases)
        .where(*where)
        # Cases without a running deadline (closed, or waiting for 核查) come last.
        .order_by(_C.due, _C.case_id)
        .limit(query.limit)
        .offset(query.offset)
    )


def prefix_region(prefix: str) -> str:
    """The region a code prefix stands for ('' for the whole tree: the city)."""
    return prefix.ljust(12, "0") if prefix else ""


def _figures(
    region: str,
    window: str,
    start: float,
    acc: dict[str, Any],
    *,
    department: str | None = None,
    centre: str | None = None,
) -> KpiFigures:
    return KpiFigures(
        region_code=region,
        department=department,
        centre=centre,
        window=window,
        window_start=datetime.fromtimestamp(start, UTC),
        window_end=datetime.fromtimestamp(acc["window_end"], UTC),
        parts=acc["parts"],
        **{c: acc[c] for c in COUNTS},
        **rates(acc),
        **{m: acc[m] for m in db.NETWORK_MAPS},
    )
