"""``POST /v1/events`` served beside FastAPI's router, not through it.

A single-event POST is the API's hot path: at 1,000 POSTs/s FastAPI's routing and
dependency solving (route matching, the dependant's cache keys and scopes, the
``HTTPBearer`` dependency, the exception-handler wrappers) were about 45 % of the API's
CPU in a py-spy profile, more than validating and producing the event. This middleware
sits inside the access log and CORS, and answers ``POST /v1/events`` itself with the
very functions the FastAPI route uses (``authenticate`` and ``check_role`` for the
token, ``answer_events`` for the body), so its answers, refusals, rate limit and error
bodies are the route's. Every other request, and this one under a ``root_path``, goes
on to FastAPI unchanged; the route stays declared there for the OpenAPI document.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from gridflow.api.auth import REPORTERS, authenticate, bearer_secret, check_role
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError, error_response
from gridflow.api.intake import answer_events

PATH = "/v1/events"


class IntakeFastPath:
    """ASGI middleware answering ``POST /v1/events`` without FastAPI's routing."""

    def __init__(self, app: ASGIApp, ctx: ApiContext, route: BaseRoute) -> None:
        self.app = app
        self.ctx = ctx
        #: the route FastAPI would have matched: the access log names it by its template
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        request = Request(scope, receive)
        try:
            secret = bearer_secret(request.headers.get("authorization"))
            token = check_role(authenticate(self.ctx, request, secret), REPORTERS)
            response = await answer_events(self.ctx, token, request)
        except ApiError as exc:
            response = error_response(exc.status, exc.reason, exc.detail, exc.headers)
        await response(scope, receive, send)
