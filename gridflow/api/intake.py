"""``POST /v1/events``: the worker's own validation, run before anything reaches Kafka."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request

from gridflow.api.auth import ReporterToken, ctx_of
from gridflow.api.body import read_body, require_json
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError, ErrorBody
from gridflow.api.models import EventCase, IntakeResult, RefusedEvent
from gridflow.api.readmodel import ReadModel
from gridflow.api.responses import JsonResponse
from gridflow.api.scope import covers
from gridflow.api.tokens import Token
from gridflow.core.ingest import IngestLimits, decode_events
from gridflow.runtime.partitioning import partition_for
from schemas import GridEvent, RejectReason

router = APIRouter(tags=["intake"])

_FIELDS = frozenset(GridEvent.model_fields)
#: Refusals of the whole body, and the status each one answers.
_WHOLE = {
    RejectReason.INVALID_JSON: 400,
    RejectReason.NOT_UTF8: 400,
    RejectReason.TOO_LARGE: 413,
    RejectReason.BATCH_TOO_LARGE: 413,
}


def _event_id(original: bytes) -> str | None:
    try:
        doc = orjson.loads(original)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("event_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _unknown_fields(doc: Any) -> list[str]:
    return sorted(k for k in doc if k not in _FIELDS) if isinstance(doc, dict) else []


def pack(
    records: list[tuple[bytes, bytes]], partitions: int, limits: IngestLimits
) -> list[tuple[bytes, bytes]]:
    """One record per partition (a JSON array: the contract's batch extension) instead of
    one per event: the broker's cost is per produce request, not per byte.

    Every event of an array lands on its own region's partition (the key is one of their
    regions, and they share its partition), so the worker applies them where they are;
    arrays stay within the worker's record size and batch limits. A lone event is sent as
    the object itself.
    """
    groups: dict[int, list[tuple[bytes, bytes]]] = {}
    for key, value in records:
        groups.setdefault(partition_for(key.decode(), partitions), []).append((key, value))
    out: list[tuple[bytes, bytes]] = []
    budget = limits.max_record_bytes - 2
    for group in groups.values():
        chunk: list[bytes] = []
        size = 0
        for key, value in group:
            if chunk and (size + len(value) + 1 > budget or len(chunk) >= limits.max_batch):
                out.append((key, b"[" + b",".join(chunk) + b"]"))
                chunk, size = [], 0
            chunk.append(value)
            size += len(value) + 1
        key = group[-1][0]
        out.append((key, chunk[0] if len(chunk) == 1 else b"[" + b",".join(chunk) + b"]"))
    return out


async def submit_events(
    ctx: ApiContext, token: Token, body: bytes
) -> tuple[list[GridEvent], list[RefusedEvent], int | None]:
    """Validate and produce; (accepted, refused, index->position map unused) for one body.

    Returns the accepted events, the refusals and, when the whole body was refused, the
    HTTP status for it.
    """
    events, rejects = decode_events(
        body,
        known_region=ctx.villages,
        known_network=ctx.catalogue.networks,
        now=datetime.now(UTC),
        limits=ctx.limits,
    )
    refused: list[RefusedEvent] = []
    for reject in rejects:
        if reject.batch_index is None and reject.reason in _WHOLE:
            return (
                [],
                [RefusedEvent(index=0, reason=reject.reason.value, detail=reject.detail)],
                (_WHOLE[reject.reason]),
            )
        refused.append(
            RefusedEvent(
                index=reject.batch_index or 0,
                event_id=_event_id(reject.original),
                reason=reject.reason.value,
                detail=reject.detail,
            )
        )
    # The worker ignores unknown fields; the API refuses them, so a typo ("descripton")
    # is told to the sender instead of silently losing the text.
    doc = orjson.loads(body)
    docs = doc if isinstance(doc, list) else [doc]
    refused_at = {r.index for r in refused}
    positions = [i for i in range(len(docs)) if i not in refused_at]
    accepted: list[GridEvent] = []
    #: (key, value) of each accepted event: the document as posted (it validated, and
    #: has no field the model lacks), far cheaper than dumping the model again.
    records: list[tuple[bytes, bytes]] = []
    for index, event in zip(positions, events, strict=True):
        unknown = _unknown_fields(docs[index])
        if unknown:
            refused.append(
                RefusedEvent(
                    index=index,
                    event_id=event.event_id,
                    reason="unknown_field",
                    detail=f"unknown field(s) {', '.join(unknown)}",
                )
            )
        elif not covers(ctx.regions, token.region, event.region_code):
            refused.append(
                RefusedEvent(
                    index=index,
                    event_id=event.event_id,
                    reason="forbidden_region",
                    detail=f"region_code {event.region_code} is outside region {token.region} "
                    f"of token {token.name}",
                )
            )
        else:
            accepted.append(event)
            records.append((event.region_code.encode(), orjson.dumps(docs[index])))
    refused.sort(key=lambda r: r.index)
    if records:
        packed = pack(records, ctx.settings.partitions, ctx.worker_limits)
        await ctx.sink.send(ctx.events_topic, packed)
        ctx.metrics.events_accepted.inc(len(accepted))
    for r in refused:
        ctx.metrics.events_refused.labels(r.reason).inc()
    return accepted, refused, None


@router.post(
    "/v1/events",
    status_code=202,
    response_model=IntakeResult,
    summary="Report one GridEvent or an array of them",
    responses={
        400: {"model": IntakeResult, "description": "malformed JSON"},
        401: {"model": ErrorBody},
        403: {"model": IntakeResult, "description": "every event is outside the token's region"},
        413: {"model": IntakeResult, "description": "body or batch too large"},
        415: {"model": ErrorBody},
        422: {"model": IntakeResult, "description": "every event refused"},
        429: {"model": ErrorBody},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/GridEvent"},
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/GridEvent"},
                                "minItems": 1,
                            },
                        ]
                    }
                }
            },
        }
    },
)
async def post_events(request: Request, token: ReporterToken) -> Any:
    """Validated as the worker validates ``grid.events.in`` (the same code), synchronously.

    Accepted events are produced to ``grid.events.in`` keyed by ``region_code`` and
    acknowledged by every in-sync replica (``acks=all``) before the 202. A resend of an
    accepted ``event_id`` is harmless: the worker deduplicates by it.
    """
    # Served by gridflow/api/fastpath.py; this route documents it (OpenAPI) and answers
    # the same wherever the fast path steps aside.
    return await answer_events(ctx_of(request), token, request)


async def answer_events(ctx: ApiContext, token: Token, request: Request) -> JsonResponse:
    """``POST /v1/events`` once the token is checked: the body, validated and produced."""
    require_json(request)
    body = await read_body(request, ctx.api.max_body_bytes)
    accepted, refused, whole = await submit_events(ctx, token, body)
    result = IntakeResult(accepted=[e.event_id for e in accepted], refused=refused)
    if whole is not None:
        result.reason, result.detail = refused[0].reason, refused[0].detail
        return JsonResponse(result.model_dump(mode="json"), status_code=whole)
    if not accepted:
        forbidden = all(r.reason == "forbidden_region" for r in refused)
        result.reason = "forbidden_region" if forbidden else "all_refused"
        result.detail = "; ".join(f"[{r.index}] {r.reason}: {r.detail}" for r in refused[:5])
        return JsonResponse(result.model_dump(mode="json"), status_code=403 if forbidden else 422)
    return JsonResponse(result.model_dump(mode="json"), status_code=202)


@router.get(
    "/v1/events/{event_id}",
    response_model=EventCase,
    summary="The case a report ended in",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def event_case(
    event_id: str,
    request: Request,
    token: ReporterToken,
) -> EventCase:
    """Once the worker has processed a report, the case it opened or joined."""
    ctx = ctx_of(request)
    case_id = await ReadModel(ctx.engine).case_of_event(event_id)
    if case_id is None:
        raise ApiError(404, "unknown_event", f"no case holds event {event_id} (yet)")
    if not covers(ctx.regions, token.region, case_id[:12]):
        raise ApiError(403, "forbidden_region", f"event {event_id} is outside the token's region")
    return EventCase(event_id=event_id, case_id=case_id)
