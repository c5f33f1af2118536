"""The FastAPI application: routers, error shapes, access log, metrics, CORS, lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridflow import __version__
from gridflow.api import (
    cases,
    console,
    fastpath,
    feedback,
    health,
    intake,
    kpis,
    open311,
    silences,
    stream,
)
from gridflow.api.context import ApiContext
from gridflow.api.errors import ErrorBody, install_error_handlers
from gridflow.api.fastpath import IntakeFastPath
from gridflow.api.models import FeedbackRequest
from gridflow.api.open311 import Open311Error
from schemas import GridEvent

log = logging.getLogger("gridflow.api.access")

DESCRIPTION = """\
gridflow's HTTP service: field apps report events (GridEvent or Open311 GeoReport v2),
command centres query their cases and act on them (立案 → 派遣 → 处置 → 核查 → 结案) and
silence known matters (屏蔽), ops read KPIs. Every error answers `{"reason": <machine-readable>, "detail": <text>}`.
See docs/api.md."""


def create_app(
    ctx: ApiContext,
    lifespan: Callable[[FastAPI], Any] | None = None,
) -> FastAPI:
    """The ASGI app around ``ctx``; ``lifespan`` starts and stops what ``ctx`` holds."""

    @asynccontextmanager
    async def default_lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="gridflow API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan or default_lifespan,
        docs_url="/docs",
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks: off, /metrics is the service's telemetry. On, each
        # request asked OpenTelemetry for its global providers (~4 % of a POST's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    install_error_handlers(app, open311.PREFIX)
    for module in (intake, cases, feedback, silences, stream, kpis, health, console):
        app.include_router(module.router)
    console.mount_console(app)
    if hasattr(open311, "router"):
        app.include_router(open311.router)
    # Innermost of the middlewares: CORS and the access log still see every intake POST.
    route = _route(intake.router.routes, fastpath.PATH, "POST")
    app.add_middleware(IntakeFastPath, ctx=ctx, route=route)
    origins = [o.strip() for o in ctx.api.cors_origins.split(",") if o.strip()]
    if origins:  # CORS is off unless origins are named
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )

    app.add_middleware(AccessLog, ctx=ctx)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (
            GridEvent,
            FeedbackRequest,
            silences.SilenceRequest,
            silences.ExtendRequest,
            silences.ExpireRequest,
        ):
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        _error_shapes(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _route(routes: list[BaseRoute], path: str, method: str) -> APIRoute:
    for route in routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")


class AccessLog:
    """Counts, times and logs every HTTP request by route template.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) ran
    each request through a task group and memory streams, a quarter of the API's CPU per
    single-event POST in a py-spy profile.
    """

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        elapsed: float | None = None

        async def sending(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status = message["status"]
                # Time to the answer's head: a stream's lifetime is not its latency.
                elapsed = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The route template, never the path or query: ids and search words stay out
            # of logs and metric labels (a query may hold a reporter's phone number).
            template = getattr(scope.get("route"), "path", "unmatched")
            if elapsed is None:
                elapsed = time.perf_counter() - started
            method = scope["method"]
            self.ctx.metrics.requests.labels(template, method, str(status)).inc()
            self.ctx.metrics.latency.labels(template).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %d %.1fms token=%s",
                    method,
                    template,
                    status,
                    elapsed * 1000,
                    scope.get("state", {}).get("token_name", "-"),
                )


def _error_shapes(schema: dict[str, Any]) -> None:
    """Document the 422 bodies the app really sends (FastAPI assumes its own shape)."""
    components = schema["components"]["schemas"]
    components.setdefault("ErrorBody", ErrorBody.model_json_schema())
    components.setdefault("Open311Error", Open311Error.model_json_schema())
    for path, operations in schema.get("paths", {}).items():
        if path.startswith(open311.PREFIX):
            body = {"type": "array", "items": {"$ref": "#/components/schemas/Open311Error"}}
        else:
            body = {"$ref": "#/components/schemas/ErrorBody"}
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            content = answer.setdefault("content", {}).setdefault("application/json", {})
            if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                content["schema"] = body
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
