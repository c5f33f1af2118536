"""``POST /v1/cases/{case_id}/feedback``: a centre's action, produced to ``grid.feedback``."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from gridflow.api.actions import may_act
from gridflow.api.auth import CentreToken, check_case, check_region, ctx_of
from gridflow.api.body import read_body, require_json
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.models import FeedbackOutcome, FeedbackRequest
from gridflow.api.readmodel import ReadModel
from gridflow.api.responses import JsonResponse
from gridflow.api.scope import is_office
from gridflow.core.ingest import schema_detail
from gridflow.core.loop import LOOP
from schemas import Feedback

router = APIRouter(tags=["feedback"])
CaseId = Annotated[str, Path(min_length=13, max_length=64, pattern=r"^[0-9]{12}-[0-9a-zA-Z._:-]+$")]


async def wait_outcome(
    ctx: ApiContext, case_id: str, feedback_id: str, action: str, since: float, wait: float
) -> FeedbackOutcome:
    """Poll the read model (woken by the projector) until an outcome or ``wait`` seconds."""
    model = ReadModel(ctx.engine)
    deadline = time.monotonic() + wait
    while True:
        changed = ctx.changed
        outcome = await model.outcome(case_id, feedback_id, action, since)
        left = deadline - time.monotonic()
        if outcome.status != "pending" or left <= 0:
            return outcome
        # Woken by the local projector; polled too, for a projector in another replica.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=min(left, 0.5))


@router.post(
    "/v1/cases/{case_id}/feedback",
    status_code=202,
    response_model=FeedbackOutcome,
    summary="Act on a case (受理, 处置完成, 退回, 请求上级, 延期, 核查, 结案, 注销, …)",
    responses={
        200: {"model": FeedbackOutcome, "description": "with ?wait: the outcome arrived"},
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "the token's centre does not hold the case"},
        413: {"model": ErrorBody},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/FeedbackRequest"}}
            },
        }
    },
)
async def post_feedback(
    case_id: CaseId,
    request: Request,
    token: CentreToken,
    wait: Annotated[
        float, Query(ge=0, le=60, description="seconds to wait for the worker's outcome")
    ] = 0,
) -> Any:
    """Produced to ``grid.feedback`` keyed by the case's region, acknowledged (acks=all)
    before the answer. The outcome (the resulting disposition, or the refusal such as
    ``invalid_transition``) appears in the case's timeline under ``feedback_id``; with
    ``?wait=N`` the answer waits up to N seconds for it (200 when it came, else 202).
    """
    ctx = ctx_of(request)
    require_json(request)
    body = await read_body(request, ctx.api.max_body_bytes)
    try:
        req = FeedbackRequest.model_validate_json(body)
    except ValidationError as exc:
        invalid = any(e["type"] == "json_invalid" for e in exc.errors())
        raise ApiError(
            400 if invalid else 422, "invalid_json" if invalid else "schema", schema_detail(exc)
        ) from None
    office = is_office(token.region)
    if not office:
        check_region(ctx, token, case_id[:12], "case region")
    row = await ReadModel(ctx.engine).case_row(case_id)
    if row is None:
        raise ApiError(404, "unknown_case", f"no case {case_id} in the read model")
    if office:
        check_case(ctx, token, case_id, row.verifier)
    who = LOOP[req.action].who
    if not may_act(ctx.regions, row.holder, token.region, req.action.value, row.verifier):
        raise ApiError(
            409,
            "wrong_center",
            f"{req.action.value} of case {case_id} (held by {row.holder}) is for "
            f"{who.value}, not for {token.region}",
        )
    now = datetime.now(UTC)
    try:
        fb = Feedback(
            feedback_id=req.feedback_id or f"api-{uuid.uuid4().hex}",
            case_id=case_id,
            center_code=token.region,
            action=req.action,
            at=now,
            note=req.note,
            until=req.until,
            target_center=req.target_center,
        )
    except ValidationError as exc:
        raise ApiError(422, "schema", schema_detail(exc)) from None
    value = orjson.dumps(fb.model_dump(mode="json", exclude_none=True))
    await ctx.sink.send(ctx.feedback_topic, [(row.region_code.encode(), value)])
    wait = min(wait, ctx.api.max_wait_s)
    if wait > 0:
        outcome = await wait_outcome(
            ctx, case_id, fb.feedback_id, fb.action.value, now.timestamp() - 1, wait
        )
        status = 202 if outcome.status == "pending" else 200
    else:
        outcome = FeedbackOutcome(feedback_id=fb.feedback_id, case_id=case_id, status="pending")
        status = 202
    return JsonResponse(outcome.model_dump(mode="json"), status_code=status)


@router.get(
    "/v1/cases/{case_id}/feedback/{feedback_id}",
    response_model=FeedbackOutcome,
    summary="The outcome of one feedback",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def get_feedback(
    case_id: CaseId,
    feedback_id: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request,
    token: CentreToken,
) -> FeedbackOutcome:
    ctx = ctx_of(request)
    if is_office(token.region):
        row = await ReadModel(ctx.engine).case_row(case_id)
        check_case(ctx, token, case_id, row.verifier if row is not None else None)
    else:
        check_region(ctx, token, case_id[:12], "case region")
    return await ReadModel(ctx.engine).outcome(case_id, feedback_id)
