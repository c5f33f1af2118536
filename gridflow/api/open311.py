"""Open311 GeoReport v2 (placeholder until the adapter lands): the spec's error format."""

from __future__ import annotations

from typing import Any

from gridflow.api.responses import JsonResponse

PREFIX = "/open311/v2"


def open311_error(status: int, description: str, headers: Any = None) -> JsonResponse:
    """GeoReport v2 errors: an array of ``{"code": <status>, "description": ..}``."""
    return JsonResponse(
        [{"code": status, "description": description}], status_code=status, headers=headers
    )
