"""Who may do what: bearer token → (role, region), checked per route, rate-limited per token."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError
from gridflow.api.scope import covers, is_office, sees_case
from gridflow.api.tokens import Role, Token

bearer = HTTPBearer(auto_error=False, description="A token from the API's token file")


def ctx_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def authenticate(ctx: ApiContext, request: Request, secret: str | None) -> Token:
    """The token for ``secret``: 401 when absent or unknown, 429 over its rate."""
    if not secret:
        raise ApiError(
            401,
            "unauthorized",
            "send 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": "Bearer"},
        )
    token = ctx.tokens.lookup(secret)
    if token is None:
        raise ApiError(401, "unauthorized", "unknown token", {"WWW-Authenticate": "Bearer"})
    assert ctx.limiter is not None
    wait = ctx.limiter.allow(token.name, token.rate_per_s)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"token {token.name} is over its rate limit",
            {"Retry-After": str(max(1, round(wait)))},
        )
    request.state.token_name = token.name
    return token


def check_role(token: Token, roles: tuple[Role, ...]) -> Token:
    """``token`` if its role is one of ``roles``, else 403 ``forbidden_role``."""
    if token.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        raise ApiError(
            403,
            "forbidden_role",
            f"a {token.role.value} token may not do this ({allowed} only)",
        )
    return token


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header, read as ``bearer`` reads it.

    For routes served without FastAPI's dependencies (gridflow/api/fastpath.py).
    """
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if not (scheme and secret) or scheme.lower() != "bearer":
        return None
    return secret


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Token]]:
    """A dependency: the caller's token, which must have one of ``roles`` (else 403)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Token:
        ctx = ctx_of(request)
        token = authenticate(ctx, request, credentials.credentials if credentials else None)
        return check_role(token, roles)

    return dependency


def check_region(ctx: ApiContext, token: Token, code: str, what: str) -> None:
    """403 ``forbidden_region`` unless ``code`` is the token's region or below it."""
    if not covers(ctx.regions, token.region, code):
        raise ApiError(
            403,
            "forbidden_region",
            f"{what} {code} is outside region {token.region} of token {token.name}",
        )


def check_case(ctx: ApiContext, token: Token, case_id: str, verifier: str | None) -> None:
    """403 ``forbidden_region`` unless the token may see the case: a region centre whose
    area holds it, or the department office that verifies it (``verifier``)."""
    if not sees_case(ctx.regions, token.region, case_id[:12], verifier):
        what = "is not verified by" if is_office(token.region) else "is outside region"
        raise ApiError(
            403,
            "forbidden_region",
            f"case {case_id} {what} {token.region} of token {token.name}",
        )


#: Who may report events (POST /v1/events, GET /v1/events/{id}).
REPORTERS = (Role.FIELD_APP, Role.CENTRE)
#: Route parameters: the caller's token, checked for its role.
CentreToken = Annotated[Token, Depends(require(Role.CENTRE))]
ReporterToken = Annotated[Token, Depends(require(*REPORTERS))]
KpiToken = Annotated[Token, Depends(require(Role.OPS, Role.CENTRE))]
