"""Case queries: one case with its timeline; a centre's cases, sorted by deadline."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridflow.api.auth import CentreToken, check_case, check_region, ctx_of
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.models import CaseDetail, CasePage
from gridflow.api.readmodel import CaseQuery, ReadModel
from gridflow.api.scope import code_prefix, is_office, known_centre, sees_centre
from schemas.common import CENTRE_CODE_PATTERN, REGION_CODE_PATTERN

router = APIRouter(tags=["cases"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
}
CaseId = Annotated[str, Path(min_length=13, max_length=64, pattern=r"^[0-9]{12}-[0-9a-zA-Z._:-]+$")]
CentreCode = Annotated[str, Path(pattern=REGION_CODE_PATTERN)]
#: a region centre's code or a verifying department office's (``500103000000-zjz``).
AnyCentreCode = Annotated[str, Path(pattern=CENTRE_CODE_PATTERN)]


@router.get(
    "/v1/cases/{case_id}",
    response_model=CaseDetail,
    summary="A case and its full timeline",
    responses=_ERRORS,
)
async def get_case(case_id: CaseId, request: Request, token: CentreToken) -> CaseDetail:
    """Every disposition (dispatch, merges with each network's report, escalations,
    warnings, breaches, feedback steps) and every refusal of feedback for this case.

    Visible to the centres whose region contains the incident's region or the centre
    holding the case, and to the department office that verifies it.
    """
    ctx = ctx_of(request)
    office = is_office(token.region)
    if not office:
        check_region(ctx, token, case_id[:12], "case region")
    found = await ReadModel(ctx.engine).case(case_id, time.time())
    if found is None:
        raise ApiError(404, "unknown_case", f"no case {case_id} in the read model")
    if office:
        check_case(ctx, token, case_id, found.verifier)
    return found


@router.get(
    "/v1/centres/{code}/cases",
    response_model=CasePage,
    summary="A centre's cases and those held below it, by deadline",
    responses={**_ERRORS, 422: {"model": ErrorBody}},
)
async def list_cases(
    code: AnyCentreCode,
    request: Request,
    token: CentreToken,
    state: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z_]{1,24}$",
            description="open, closed, or a case state (dispatched, accepted, resolved, …)",
        ),
    ] = None,
    tier: Annotated[str | None, Query(pattern=r"^(city|county|town|village)$")] = None,
    category: Annotated[
        str | None, Query(max_length=32, description="a category code or its 大类 prefix")
    ] = None,
    overdue: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="words of the title, or a case id prefix")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CasePage:
    """The cases held by centre ``code`` and, for a town/county/city centre, by the centres
    below it, with a running deadline first (earliest first). For a verifying department
    office (``500103000000-zjz``, docs/routing-rules.md): the cases it verifies."""
    ctx = ctx_of(request)
    if not known_centre(ctx.regions, ctx.catalogue, code):
        raise ApiError(404, "unknown_centre", f"{code} is not a centre of the division tree")
    if not sees_centre(ctx.regions, token.region, code):
        raise ApiError(
            403,
            "forbidden_region",
            f"centre {code} is outside region {token.region} of token {token.name}",
        )
    office = is_office(code)
    cases, more = await ReadModel(ctx.engine).cases(
        CaseQuery(
            "" if office else code_prefix(ctx.regions, code),
            now=time.time(),
            state=state,
            tier=tier,
            category=category,
            overdue=overdue,
            q=q,
            limit=limit,
            offset=offset,
            verifier=code if office else None,
        )
    )
    return CasePage(
        centre=code,
        cases=cases,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )
