"""``GET /v1/centres/{code}/stream``: Server-Sent Events of new timeline rows for a centre.

Each event's id is the row's ``seq`` in the read model, so a client that reconnects with
``Last-Event-ID`` gets exactly what it missed (rows with a larger ``seq``), from this
replica or any other on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from sse_starlette.sse import EventSourceResponse

from gridflow.api.auth import CentreToken, ctx_of
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.readmodel import ReadModel
from gridflow.api.scope import code_prefix, is_office, known_centre, sees_centre
from schemas.common import CENTRE_CODE_PATTERN

router = APIRouter(tags=["live"])


@router.get(
    "/v1/centres/{code}/stream",
    summary="Live timeline rows (dispositions, refusals) for a centre and those below it",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "SSE: event 'timeline'"},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
async def stream(
    code: Annotated[str, Path(pattern=CENTRE_CODE_PATTERN)],
    request: Request,
    token: CentreToken,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[
        int | None, Query(ge=0, description="start after this seq (as Last-Event-ID)")
    ] = None,
) -> Any:
    """Without ``Last-Event-ID`` (or ``since``) the stream starts with what comes next.
    A verifying department office's stream has the rows of the cases it verifies."""
    ctx = ctx_of(request)
    if not known_centre(ctx.regions, ctx.catalogue, code):
        raise ApiError(404, "unknown_centre", f"{code} is not a centre of the division tree")
    if not sees_centre(ctx.regions, token.region, code):
        raise ApiError(403, "forbidden_region", f"centre {code} is outside the token's region")
    model = ReadModel(ctx.engine)
    after: int | None = since
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise ApiError(400, "bad_last_event_id", "Last-Event-ID must be a seq number")
        after = int(last_event_id)
    if after is None:
        after = await model.last_seq()
    office = code if is_office(code) else None
    prefix = "" if office else code_prefix(ctx.regions, code)

    async def events() -> AsyncIterator[dict[str, Any]]:
        cursor = after
        while True:
            changed = ctx.changed
            rows = await model.entries_after(prefix, cursor, verifier=office)
            for row in rows:
                cursor = row.seq
                yield {
                    "id": str(row.seq),
                    "event": "timeline",
                    "data": orjson.dumps(row.model_dump(mode="json")).decode(),
                }
            if rows:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=1.0)

    return EventSourceResponse(events(), ping=15)
