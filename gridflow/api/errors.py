"""Every HTTP error is a JSON body with a machine-readable ``reason`` and a ``detail``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridflow.api.responses import JsonResponse
from gridflow.core.ingest import schema_detail


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the ``/v1`` API."""

    reason: str
    detail: str


class ApiError(Exception):
    """Raise to answer ``status`` with ``{"reason": .., "detail": ..}``."""

    def __init__(
        self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers


def error_response(
    status: int, reason: str, detail: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse({"reason": reason, "detail": detail}, status_code=status, headers=headers)


_STATUS_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "schema",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI, open311_prefix: str) -> None:
    """Route every error through one body shape (Open311 paths use the spec's own)."""
    from gridflow.api.open311 import open311_error

    def answer(request: Request, status: int, reason: str, detail: str, headers: Any = None) -> Any:
        if request.url.path.startswith(open311_prefix):
            return open311_error(status, detail, headers)
        return error_response(status, reason, detail, headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Any:
        return answer(request, exc.status, exc.reason, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Any:
        # Never echo input values (they may hold reporters' phone numbers): paths only.
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "(value)"
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        reason = (
            "invalid_json"
            if any(e.get("type") == "json_invalid" for e in exc.errors())
            else "schema"
        )
        status = 400 if reason == "invalid_json" else 422
        return answer(request, status, reason, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        reason = _STATUS_REASONS.get(exc.status_code, "error")
        return answer(request, exc.status_code, reason, str(exc.detail), exc.headers)


__all__ = ["ApiError", "ErrorBody", "error_response", "install_error_handlers", "schema_detail"]
