"""``/healthz`` (the process answers), ``/readyz`` (broker and projection), ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gridflow.api.auth import ctx_of
from gridflow.api.models import Health
from gridflow.api.responses import JsonResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(request: Request) -> Any:
    """Ready when the broker answers and the projection caught up within
    ``GRIDFLOW_API_READY_LAG_S`` seconds."""
    ctx = ctx_of(request)
    broker = await ctx.sink.ping()
    projector = ctx.projector
    lag = projector.lag if projector else None
    caught_up = projector.caught_up_within(ctx.api.ready_lag_s) if projector else True
    ok = broker and caught_up
    detail = None
    if not broker:
        detail = "broker unreachable"
    elif not caught_up:
        detail = f"projection behind by {lag} records for over {ctx.api.ready_lag_s:.0f} s"
    body = Health(
        status="ok" if ok else "not_ready",
        broker=broker,
        projection_lag=lag,
        caught_up=caught_up,
        detail=detail,
    )
    return JsonResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    ctx = ctx_of(request)
    if ctx.projector is not None:
        ctx.metrics.projection_lag.set(ctx.projector.lag)
        ctx.metrics.projected.set(ctx.projector.applied_records)
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
