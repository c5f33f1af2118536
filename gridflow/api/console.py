"""What the browser console (docs/console.md) needs beyond the case API, and its files.

- ``GET /v1/me``: who the token is (the header names the centre and its tier);
- ``GET /v1/regions/{code}``: a region's name and its children (the map's towns);
- ``GET /v1/calendar``: the working periods ahead (the queue's working-time countdown);
- ``GET /v1/cases/{case_id}/actions``: the feedback this token's centre may send now;
- ``/console/``: the built single-page app (``make console``), when it was built.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from gridflow.api.actions import allowed_actions, return_targets
from gridflow.api.auth import CentreToken, ctx_of, require
from gridflow.api.cases import AnyCentreCode, CaseId
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.readmodel import ReadModel
from gridflow.api.scope import covers, known_centre, sees_case
from gridflow.api.tokens import Role, Token
from gridflow.core.offices import split_office
from gridflow.core.regions import Region, RegionGraph
from gridflow.core.workcalendar import WorkCalendar, load_calendar

#: Where ``make console`` (Vite) writes the built app; not committed (see docs/console.md).
CONSOLE_DIST = Path(__file__).resolve().parent / "console_dist"
TIER_NAMES = {
    "city": "市级",
    "county": "区县级",
    "town": "乡镇（街道）级",
    "village": "村（社区）级",
}

router = APIRouter(tags=["console"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
}
AnyToken = Annotated[Token, Depends(require(Role.CENTRE, Role.OPS, Role.FIELD_APP))]


class RegionRef(BaseModel):
    code: str
    name: str
    tier: str


class Me(BaseModel):
    name: str
    role: str
    region: RegionRef
    #: the centre's title as a duty officer reads it (e.g. 渝中区综治中心)
    centre_name: str
    tier_name: str
    #: the regions above, city first
    above: list[RegionRef]
    #: a town, county or city centre also sees the cases held below it
    supervising: bool


class RegionDetail(RegionRef):
    parent: str | None
    children: list[RegionRef]


class Period(BaseModel):
    start: dt.datetime
    end: dt.datetime


class CalendarAnswer(BaseModel):
    timezone: str
    #: working periods (UTC) from the start of today (local) for ``days`` days
    periods: list[Period]


class CaseActions(BaseModel):
    case_id: str
    state: str
    holder: str
    #: feedback actions this token's centre may send now, in the order buttons show them
    actions: list[str]
    #: centres a ``return`` may name (the holder's parent and children)
    return_targets: list[RegionRef]


def _ref(region: Region) -> RegionRef:
    return RegionRef(code=region.code, name=region.name, tier=region.tier.value)


def _region(regions: RegionGraph, code: str) -> Region:
    region = regions.get(code)
    if region is None:
        raise ApiError(404, "unknown_centre", f"{code} is not a region of the division tree")
    return region


def centre_name(region: Region) -> str:
    """The duty officer's name for the centre of ``region``."""
    return f"{region.name}综治中心"


def office_ref(ctx: ApiContext, code: str) -> RegionRef | None:
    """A verifying department office named as a duty officer reads it (渝中区住建委质监站),
    at its region's tier; ``None`` for a region's code."""
    office = split_office(code)
    if office is None or not known_centre(ctx.regions, ctx.catalogue, code):
        return None
    region = _region(ctx.regions, office[0])
    name = f"{region.name}{ctx.catalogue.offices[office[1]].name}"
    return RegionRef(code=code, name=name, tier=region.tier.value)


@router.get("/v1/me", response_model=Me, summary="Who this token is", responses=_ERRORS)
async def me(request: Request, token: AnyToken) -> Me:
    """Any token: its name, role and region, and how the console should title the centre.

    A verifying department office's token: the office (its list is the cases it verifies).
    """
    ctx = ctx_of(request)
    office = office_ref(ctx, token.region)
    if office is not None:
        home = split_office(token.region)
        assert home is not None
        return Me(
            name=token.name,
            role=token.role.value,
            region=office,
            centre_name=office.name,
            tier_name=TIER_NAMES[office.tier],
            above=[_ref(_region(ctx.regions, c)) for c in reversed(ctx.regions.chain(home[0]))],
            supervising=False,
        )
    region = _region(ctx.regions, token.region)
    above = [_ref(_region(ctx.regions, c)) for c in reversed(ctx.regions.chain(region.code)[1:])]
    return Me(
        name=token.name,
        role=token.role.value,
        region=_ref(region),
        centre_name=centre_name(region),
        tier_name=TIER_NAMES[region.tier.value],
        above=above,
        supervising=region.tier.value != "village",
    )


@router.get(
    "/v1/regions/{code}",
    response_model=RegionDetail,
    summary="A region and its children (names, tiers)",
    responses=_ERRORS,
)
async def region_detail(code: AnyCentreCode, request: Request, token: CentreToken) -> RegionDetail:
    """Visible for the token's own region and those below it. A verifying department
    office's name, for any centre (the case page names a case's verifier)."""
    ctx = ctx_of(request)
    office = office_ref(ctx, code)
    if office is not None:
        home = split_office(code)
        assert home is not None
        return RegionDetail(**office.model_dump(), parent=home[0], children=[])
    region = _region(ctx.regions, code)
    if not covers(ctx.regions, token.region, code):
        raise ApiError(403, "forbidden_region", f"{code} is outside region {token.region}")
    children = [_ref(_region(ctx.regions, c)) for c in ctx.regions.children(code)]
    return RegionDetail(
        code=region.code,
        name=region.name,
        tier=region.tier.value,
        parent=region.parent,
        children=children,
    )


def working_periods(calendar: WorkCalendar, now: dt.datetime, days: int) -> list[Period]:
    """The calendar's working periods in UTC, from the start of today (local) on."""
    today = calendar.to_local(now).date()
    out: list[Period] = []
    for n in range(days):
        day = today + dt.timedelta(days=n)
        if not calendar.is_workday(day):
            continue
        for start, end in calendar.periods:
            out.append(
                Period(
                    start=dt.datetime.combine(day, start, calendar.tzinfo).astimezone(dt.UTC),
                    end=dt.datetime.combine(day, end, calendar.tzinfo).astimezone(dt.UTC),
                )
            )
    return out


@router.get(
    "/v1/calendar",
    response_model=CalendarAnswer,
    summary="Working periods ahead (for working-time countdowns)",
    responses=_ERRORS,
)
async def calendar(
    request: Request,
    token: CentreToken,
    days: Annotated[int, Query(ge=1, le=60)] = 14,
) -> CalendarAnswer:
    ctx = ctx_of(request)
    cal = _calendar(ctx.settings.rules)
    now = dt.datetime.now(dt.UTC)
    return CalendarAnswer(timezone=cal.tz, periods=working_periods(cal, now, days))


_CALENDARS: dict[Path, WorkCalendar] = {}


def _calendar(rules: Path) -> WorkCalendar:
    found = _CALENDARS.get(rules)
    if found is None:
        found = _CALENDARS[rules] = load_calendar(rules / "calendar.yaml")
    return found


@router.get(
    "/v1/cases/{case_id}/actions",
    response_model=CaseActions,
    summary="The feedback this centre may send for the case now",
    responses=_ERRORS,
)
async def case_actions(case_id: CaseId, request: Request, token: CentreToken) -> CaseActions:
    """The same rules the worker applies (state and holder, gridflow/api/actions.py):
    a button the console shows is one the worker will not refuse for its state."""
    ctx = ctx_of(request)
    found = await ReadModel(ctx.engine).case(case_id, time.time())
    verifier = found.verifier if found is not None else None
    if not sees_case(ctx.regions, token.region, case_id[:12], verifier):
        raise ApiError(403, "forbidden_region", f"case region is outside region {token.region}")
    if found is None:
        raise ApiError(404, "unknown_case", f"no case {case_id} in the read model")
    actions = allowed_actions(
        ctx.regions, found.state, found.holder, found.tier, token.region, found.verifier
    )
    targets = [_ref(_region(ctx.regions, c)) for c in return_targets(ctx.regions, found.holder)]
    return CaseActions(
        case_id=case_id,
        state=found.state,
        holder=found.holder,
        actions=actions,
        return_targets=targets if "return" in actions else [],
    )


def mount_console(app: FastAPI, dist: Path = CONSOLE_DIST) -> None:
    """Serve the built console under ``/console/``; say how to build it when it is absent."""
    if (dist / "index.html").is_file():
        app.mount("/console", StaticFiles(directory=dist, html=True), name="console")

        @app.get("/console", include_in_schema=False)
        async def console_root() -> RedirectResponse:
            return RedirectResponse("/console/")

        return

    @app.get("/console/{rest:path}", include_in_schema=False)
    async def console_missing(rest: str) -> None:
        raise ApiError(404, "console_not_built", "the console was not built: run 'make console'")
