"""``GET /v1/kpis``: the partial records of ``grid.metrics`` summed as docs/kpis.md says."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from gridflow.api.auth import KpiToken, check_region, ctx_of
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.models import KpiAnswer
from gridflow.api.readmodel import ReadModel
from gridflow.api.scope import code_prefix
from schemas.common import REGION_CODE_PATTERN, AwareDatetime

router = APIRouter(tags=["kpis"])


@router.get(
    "/v1/kpis",
    response_model=KpiAnswer,
    summary="KPIs per county and window, summed over every worker's partial records",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def kpis(
    request: Request,
    token: KpiToken,
    county: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
    window: Annotated[str, Query(pattern=r"^(1m|1h)$")] = "1h",
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
) -> KpiAnswer:
    """Counts summed per (county, window start), rates computed from the sums; windows
    whose start lies in ``[from, to)``. Without ``county``: every county in the token's
    region."""
    ctx = ctx_of(request)
    if county is not None:
        check_region(ctx, token, county, "county")
    if from_ is not None and to is not None and to <= from_:
        raise ApiError(422, "bad_range", "'to' must be after 'from'")
    windows = await ReadModel(ctx.engine).kpis(
        window,
        county,
        code_prefix(ctx.regions, token.region),
        _ts(from_),
        _ts(to),
    )
    return KpiAnswer(window=window, windows=windows)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
