"""``/v1/silences``: silences (屏蔽) created, listed, extended and expired by centres.

A centre token acts within its region: it may create a silence held by itself or a
centre below it, and list, extend or expire the silences whose centre it covers; the
city's token anywhere. Writes go to ``grid.silences`` (acks=all); the list is what the
API's reader has read from that topic (the workers read the same records).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridflow.api.auth import CentreToken, ctx_of
from gridflow.api.body import read_body, require_json
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.responses import JsonResponse
from gridflow.api.scope import covers
from gridflow.api.tokens import Token
from gridflow.core.ingest import schema_detail
from gridflow.core.silences import (
    SilenceChangeError,
    check_silence,
    expiry_of,
    extension_of,
    silence_state,
)
from gridflow.runtime.silence_reader import apply_record
from schemas import REGION_CODE_PATTERN
from schemas.common import MAX_TEXT, AwareDatetime
from schemas.silence import Silence, SilenceId, SilenceKind, SilenceMatchers

router = APIRouter(tags=["silences"])

#: How long a write waits for the API's own reader to have read it back (so a list
#: right after a create shows it); the write is acknowledged either way.
_READ_BACK_S = 5.0


class SilenceRequest(BaseModel):
    """A new silence. ``center_code`` defaults to the token's centre, ``author`` to the
    token's name, ``starts_at`` to now; give ``ends_at`` or ``duration_s``."""

    model_config = ConfigDict(extra="forbid")

    silence_id: SilenceId | None = None
    center_code: Annotated[str | None, Field(pattern=REGION_CODE_PATTERN)] = None
    kind: SilenceKind = SilenceKind.OTHER
    matchers: SilenceMatchers
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration_s: Annotated[float | None, Field(gt=0, le=366 * 86400)] = None
    author: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    comment: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class ExtendRequest(BaseModel):
    """A later end: ``until``, or ``duration_s`` added to the current end."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = None
    duration_s: Annotated[float | None, Field(gt=0, le=366 * 86400)] = None
    comment: Annotated[str | None, Field(min_length=1, max_length=MAX_TEXT)] = None


class ExpireRequest(BaseModel):
    """Why the silence ends now (optional)."""

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str | None, Field(min_length=1, max_length=MAX_TEXT)] = None


class SilenceView(BaseModel):
    """A silence as listed: the record and its state now."""

    silence: Silence
    state: Literal["pending", "active", "expired"]


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    413: {"model": ErrorBody},
    415: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


def _body_schema(name: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    ctx = ctx_of(request)
    require_json(request)
    body = await read_body(request, ctx.api.max_body_bytes)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        invalid = any(e["type"] == "json_invalid" for e in exc.errors())
        raise ApiError(
            400 if invalid else 422, "invalid_json" if invalid else "schema", schema_detail(exc)
        ) from None


def _may_manage(ctx: ApiContext, token: Token, silence: Silence) -> None:
    if not covers(ctx.regions, token.region, silence.center_code):
        raise ApiError(
            403,
            "forbidden_region",
            f"silence {silence.silence_id} is held by centre {silence.center_code}, outside "
            f"region {token.region} of token {token.name}",
        )


def _visible(ctx: ApiContext, token: Token, silence: Silence) -> bool:
    """A centre sees silences it covers and those of the centres above it (they act on
    its villages too)."""
    centre = silence.center_code
    if covers(ctx.regions, token.region, centre):
        return True
    try:
        return centre in ctx.regions.chain(token.region)
    except KeyError:
        return False


def _found(ctx: ApiContext, token: Token, silence_id: str) -> Silence:
    silence = ctx.silences.get(silence_id)
    if silence is None or not _visible(ctx, token, silence):
        raise ApiError(404, "unknown_silence", f"no silence {silence_id}")
    return silence


def _refused(exc: SilenceChangeError) -> ApiError:
    status = {"forbidden_region": 403, "silence_expired": 409, "silence_exists": 409}.get(
        exc.reason, 422
    )
    return ApiError(status, exc.reason, str(exc))


async def _write(ctx: ApiContext, silence: Silence) -> None:
    key, value = silence.silence_id.encode(), silence.model_dump_json().encode()
    sent_at = time.time()
    await ctx.sink.send(ctx.silences_topic, [(key, value)])
    reader = ctx.silence_reader
    if reader is None:
        # No broker (tests of the HTTP layer): the book takes what was written.
        apply_record(ctx.silences, key, value, sent_at)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.wait_complete(sent_at), timeout=_READ_BACK_S)


def _view(silence: Silence, now: datetime) -> dict[str, Any]:
    return {"silence": silence.model_dump(mode="json"), "state": silence_state(silence, now)}


@router.post(
    "/v1/silences",
    status_code=201,
    response_model=SilenceView,
    summary="新建屏蔽: create a silence for a known matter (施工许可, 抢修, 活动)",
    responses={**_ERRORS, 409: {"model": ErrorBody, "description": "the id is taken"}},
    openapi_extra=_body_schema("SilenceRequest"),
)
async def create_silence(request: Request, token: CentreToken) -> Any:
    """Matching reports join one known-matter case held by ``center_code`` instead of
    opening cases or escalating; written to ``grid.silences``, applied by the workers
    from five seconds after it was written."""
    ctx = ctx_of(request)
    req: SilenceRequest = await _parse(request, SilenceRequest)
    now = datetime.now(UTC)
    starts = req.starts_at or now
    if (req.ends_at is None) == (req.duration_s is None):
        raise ApiError(422, "schema", "give exactly one of ends_at and duration_s")
    ends = req.ends_at or starts + timedelta(seconds=req.duration_s or 0)
    author = req.author or token.name
    try:
        silence = Silence(
            silence_id=req.silence_id or f"{req.kind.value}-{uuid.uuid4().hex[:8]}",
            center_code=req.center_code or token.region,
            kind=req.kind,
            matchers=req.matchers,
            starts_at=starts,
            ends_at=ends,
            author=author,
            comment=req.comment,
            created_at=now,
            changed_by=author,
        )
    except ValidationError as exc:
        raise ApiError(422, "schema", schema_detail(exc)) from None
    _may_manage(ctx, token, silence)
    try:
        check_silence(silence, ctx.regions, ctx.catalogue)
    except SilenceChangeError as exc:
        raise _refused(exc) from None
    if ctx.silences.get(silence.silence_id) is not None:
        raise ApiError(409, "silence_exists", f"silence {silence.silence_id} exists already")
    await _write(ctx, silence)
    return JsonResponse(_view(silence, now), status_code=201)


@router.get(
    "/v1/silences",
    response_model=list[SilenceView],
    summary="列出屏蔽: the silences the token's centre sees",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def list_silences(
    request: Request,
    token: CentreToken,
    state: Annotated[
        Literal["current", "pending", "active", "expired", "all"],
        Query(description="current: active and pending (default)"),
    ] = "current",
) -> Any:
    ctx = ctx_of(request)
    now = datetime.now(UTC)
    rows = []
    for silence in ctx.silences.latest():
        if not _visible(ctx, token, silence):
            continue
        current = silence_state(silence, now)
        if state == "all" or current == state or (state == "current" and current != "expired"):
            rows.append(_view(silence, now))
    return JsonResponse(rows)


SilencePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


@router.get(
    "/v1/silences/{silence_id}",
    response_model=SilenceView,
    summary="One silence",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def get_silence(silence_id: SilencePath, request: Request, token: CentreToken) -> Any:
    ctx = ctx_of(request)
    return JsonResponse(_view(_found(ctx, token, silence_id), datetime.now(UTC)))


@router.post(
    "/v1/silences/{silence_id}/extend",
    response_model=SilenceView,
    summary="延长屏蔽: move a silence's end later",
    responses={**_ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    openapi_extra=_body_schema("ExtendRequest"),
)
async def extend_silence(silence_id: SilencePath, request: Request, token: CentreToken) -> Any:
    ctx = ctx_of(request)
    req: ExtendRequest = await _parse(request, ExtendRequest)
    current = _found(ctx, token, silence_id)
    _may_manage(ctx, token, current)
    now = datetime.now(UTC)
    duration = timedelta(seconds=req.duration_s) if req.duration_s is not None else None
    try:
        changed = extension_of(
            current, by=token.name, at=now, until=req.until, duration=duration, comment=req.comment
        )
    except SilenceChangeError as exc:
        raise _refused(exc) from None
    await _write(ctx, changed)
    return JsonResponse(_view(changed, now))


@router.post(
    "/v1/silences/{silence_id}/expire",
    response_model=SilenceView,
    summary="解除屏蔽: end a silence now",
    responses={**_ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    openapi_extra=_body_schema("ExpireRequest"),
)
async def expire_silence(silence_id: SilencePath, request: Request, token: CentreToken) -> Any:
    ctx = ctx_of(request)
    req: ExpireRequest = await _parse(request, ExpireRequest)
    current = _found(ctx, token, silence_id)
    _may_manage(ctx, token, current)
    now = datetime.now(UTC)
    try:
        changed = expiry_of(current, by=token.name, at=now, comment=req.comment)
    except SilenceChangeError as exc:
        raise _refused(exc) from None
    await _write(ctx, changed)
    return JsonResponse(_view(changed, now))
