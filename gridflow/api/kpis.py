"""``GET /v1/kpis``: the partial records of ``grid.metrics`` summed as docs/kpis.md says."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from gridflow.api.auth import KpiToken, check_region, ctx_of
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.models import KpiAnswer
from gridflow.api.readmodel import ReadModel
from gridflow.api.scope import code_prefix, sees_centre
from schemas.common import REGION_CODE_PATTERN, AwareDatetime

router = APIRouter(tags=["kpis"])

#: Records are keyed by county: a town's or a village's token reads its county's records
#: and keeps the centres it covers (``by=centre`` only).
_COUNTY_DIGITS = 6


@router.get(
    "/v1/kpis",
    response_model=KpiAnswer,
    summary="KPIs per county, department or centre and window, summed over every worker's "
    "partial records",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def kpis(
    request: Request,
    token: KpiToken,
    county: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
    window: Annotated[str, Query(pattern=r"^(1m|1h)$")] = "1h",
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    by: Literal["county", "department", "centre"] | None = None,
    department: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    centre: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
) -> KpiAnswer:
    """Counts summed per (county, window start), rates computed from the sums; windows
    whose start lies in ``[from, to)``. Without ``county``: every county in the token's
    region.

    ``by=department`` (or ``department=…`` for one): per department (责任部门), summed over
    the counties selected. ``by=centre`` (or ``centre=…`` for one): per centre, charged as
    docs/kpis.md says; a centre's token sees itself and the centres below it.
    """
    ctx = ctx_of(request)
    if department is not None and centre is not None:
        raise ApiError(422, "bad_dimension", "ask for 'department' or 'centre', not both")
    implied = "department" if department is not None else "centre" if centre else None
    if by is not None and implied is not None and by != implied:
        raise ApiError(422, "bad_dimension", f"'{implied}' asks for by={implied}, not by={by}")
    dimension = by or implied or "county"
    if county is not None:
        check_region(ctx, token, county, "county")
    if centre is not None:
        check_region(ctx, token, centre, "centre")
    if from_ is not None and to is not None and to <= from_:
        raise ApiError(422, "bad_range", "'to' must be after 'from'")
    prefix = code_prefix(ctx.regions, token.region)

    def visible(code: str) -> bool:
        # A verifying office's 核查 figures: to itself and the centres of its area above.
        return sees_centre(ctx.regions, token.region, code)

    if dimension == "centre":
        # The city centre's and a county centre's work lies in their counties' records.
        prefix = prefix[:_COUNTY_DIGITS]
    windows = await ReadModel(ctx.engine).kpis(
        window,
        county,
        prefix,
        _ts(from_),
        _ts(to),
        by=dimension,
        department=department,
        centre=centre,
        visible=visible if dimension == "centre" else None,
    )
    return KpiAnswer(window=window, by=dimension, windows=windows)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
