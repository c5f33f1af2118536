"""Open311 GeoReport v2 (JSON format) on top of intake and the read model.

* ``services.json`` lists the unified catalogue (service_code = category code).
* ``POST requests.json`` (form-encoded, as the spec says; JSON accepted too) becomes a
  GridEvent of network ``open311`` (its own code mapping in routing_rules/networks.yaml)
  and goes through the same validation and producer as ``POST /v1/events``. The answer's
  ``service_request_id`` is the event id; it resolves to the case once the worker merged or
  opened it.
* ``GET requests.json`` / ``requests/{id}.json`` report the case behind a request (an
  ``o311-…`` id or a case id): status open/closed, ``agency_responsible`` (the holding
  centre), ``expected_datetime`` (the deadline), ``service_notice``.
* Errors are the spec's: an array of ``{"code": <HTTP status>, "description": ..}``.

Location: the division tree has no boundaries, so coordinates alone cannot name the
village. ``address_id`` is the village's 12-digit code; without it, a village-level
token's own village is used; otherwise the request is refused (400).

Personal fields (email, phone, first_name, last_name) are accepted as the spec allows but
never forwarded, stored or logged: the reporter is only ``account_id``/``device_id``.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gridflow.api.auth import authenticate, ctx_of
from gridflow.api.body import read_body
from gridflow.api.context import ApiContext
from gridflow.api.errors import ApiError
from gridflow.api.models import CaseSummary
from gridflow.api.readmodel import CaseQuery, ReadModel
from gridflow.api.responses import JsonResponse
from gridflow.api.scope import code_prefix, covers
from gridflow.api.tokens import Role, Token
from gridflow.core.regions import tier_of_code
from schemas.common import Tier

PREFIX = "/open311/v2"
NETWORK = "open311"
router = APIRouter(prefix=PREFIX, tags=["open311"])
_TIER_NAMES = {"village": "村/社区", "town": "乡镇/街道", "county": "区县", "city": "市"}


class Open311Error(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str


class CreatedRequest(BaseModel):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None = None
    service_name: str | None = None
    service_code: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime | None = None
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


def open311_error(status: int, description: str, headers: Any = None) -> JsonResponse:
    """GeoReport v2 errors: an array of ``{"code": <status>, "description": ..}``."""
    return JsonResponse([{"code": status, "description": description}], status, headers=headers)


_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": list[Open311Error]} for s in (400, 401, 403, 404, 413, 415, 429)
}


def _jurisdiction(ctx: ApiContext, given: str | None) -> None:
    if given and ctx.api.jurisdiction_id and given != ctx.api.jurisdiction_id:
        raise ApiError(404, "unknown_jurisdiction", f"jurisdiction_id {given} not found")


@router.get("/services.json", response_model=list[Service], responses=_ERRORS)
async def services(request: Request, jurisdiction_id: str | None = None) -> list[Service]:
    """Every category of the unified catalogue (public, as the spec intends)."""
    ctx = ctx_of(request)
    _jurisdiction(ctx, jurisdiction_id)
    return [
        Service(
            service_code=c.code,
            service_name=c.name,
            description=f"{c.major_name} / {c.name} ({c.department})",
            group=c.major_name,
        )
        for c in ctx.catalogue.categories
    ]


async def _params(request: Request, limit: int) -> dict[str, str]:
    """Form-encoded (the spec) or JSON body fields, plus query parameters."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    fields: dict[str, str] = {k: v for k, v in request.query_params.items()}
    if media == "application/json":
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ApiError(400, "schema", "the body must be a JSON object")
        fields.update({k: str(v) for k, v in doc.items() if v is not None})
    elif media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "not_utf8", "the body is not UTF-8") from None
        # Parsed with the standard library: no file uploads (media_url only), so no
        # multipart parser is needed.
        for key, values in parse_qs(text, keep_blank_values=False).items():
            fields[key] = values[-1]
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send application/x-www-form-urlencoded or application/json (got {media})",
        )
    return fields


def _float(fields: dict[str, str], name: str) -> float | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApiError(400, "schema", f"{name} must be a number") from None


def _region(ctx: ApiContext, token: Token, fields: dict[str, str], located: bool) -> str:
    address_id = fields.get("address_id", "").strip()
    if address_id:
        if address_id not in ctx.villages:
            raise ApiError(
                400,
                "unknown_region",
                f"address_id {address_id} is not a village/community code of the division tree",
            )
        return address_id
    if not located and not fields.get("address_string"):
        raise ApiError(
            400, "no_location", "a request needs lat and long, address_string or address_id"
        )
    if tier_of_code(token.region) is Tier.VILLAGE:
        return token.region
    raise ApiError(
        400,
        "no_address_id",
        "address_id (the village's 12-digit code) is required: coordinates or an address "
        "string cannot be placed in a village here",
    )


@router.post(
    "/requests.json",
    response_model=list[CreatedRequest],
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["service_code"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "api_key",
                                "jurisdiction_id",
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "address_id",
                                "description",
                                "media_url",
                                "device_id",
                                "account_id",
                            )
                        },
                    }
                }
            },
        }
    },
)
async def create_request(request: Request) -> Any:
    """Create a service request; ``api_key`` (or a bearer token) of a field app or centre."""
    ctx = ctx_of(request)
    fields = await _params(request, ctx.api.max_body_bytes)
    token = _token(ctx, request, fields, (Role.FIELD_APP, Role.CENTRE))
    _jurisdiction(ctx, fields.get("jurisdiction_id"))
    code = fields.get("service_code", "").strip()
    if not code:
        raise ApiError(400, "schema", "service_code is required")
    category = ctx.catalogue.resolve(NETWORK, code)
    if category is None:
        raise ApiError(400, "unknown_category", f"service_code {code} not found")
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    if (lat is None) != (lon is None):
        raise ApiError(400, "schema", "lat and long come together")
    region = _region(ctx, token, fields, lat is not None)
    if not covers(ctx.regions, token.region, region):
        raise ApiError(403, "forbidden_region", f"{region} is outside the api_key's region")
    event_id = f"o311-{uuid.uuid4().hex}"
    event: dict[str, Any] = {
        "event_id": event_id,
        "source_network": NETWORK,
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": region,
        "category": code,
        "title": (fields.get("description") or category.name)[:200],
        "description": fields.get("description") or None,
        "reporter": {
            "id": (fields.get("account_id") or fields.get("device_id") or "open311")[:128],
            "role": "citizen",
        },
    }
    if lat is not None and lon is not None:
        event["location"] = {"lat": lat, "lon": lon}
    if fields.get("media_url"):
        event["attachments"] = [fields["media_url"]]
    from gridflow.api.intake import submit_events

    body = orjson.dumps({k: v for k, v in event.items() if v is not None})
    accepted, refused, _whole = await submit_events(ctx, token, body)
    if not accepted:
        refusal = refused[0]
        raise ApiError(400, refusal.reason, refusal.detail)
    notice = f"已受理 (received): {category.name}, routed by the rules to the responsible centre"
    created = CreatedRequest(
        service_request_id=event_id, service_notice=notice, account_id=fields.get("account_id")
    )
    return JsonResponse([created.model_dump(mode="json")], 200)


def _token(
    ctx: ApiContext, request: Request, fields: dict[str, str], roles: tuple[Role, ...]
) -> Token:
    header = request.headers.get("authorization", "")
    secret = fields.get("api_key") or (header[7:] if header.lower().startswith("bearer ") else "")
    token = authenticate(ctx, request, secret or None)
    if token.role not in roles:
        raise ApiError(403, "forbidden_role", f"a {token.role.value} key may not do this")
    return token


def _as_request(ctx: ApiContext, asked: str, case: CaseSummary) -> ServiceRequest:
    holder = ctx.regions.get(case.holder)
    place = ctx.regions.get(case.region_code)
    category = ctx.catalogue.get(case.category or "")
    tier = _TIER_NAMES.get(case.tier, case.tier)
    notice = f"{tier}中心办理 ({case.state})"
    if case.deadline and not case.closed:
        notice += f"; 办理时限 {case.deadline.isoformat()}"
    return ServiceRequest(
        service_request_id=asked,
        status="closed" if case.closed else "open",
        status_notes=case.state,
        service_name=category.name if category else None,
        service_code=case.category,
        description=case.title,
        agency_responsible=f"{holder.name if holder else ''} ({case.holder})",
        service_notice=notice,
        requested_datetime=case.opened_at,
        updated_datetime=case.updated_at,
        expected_datetime=None if case.closed else case.deadline,
        address=place.name if place else None,
        address_id=case.region_code,
    )


async def _lookup(ctx: ApiContext, token: Token, asked: str) -> ServiceRequest | None:
    model = ReadModel(ctx.engine)
    case_id = asked
    if asked.startswith("o311-"):
        found = await model.case_of_event(asked)
        if found is None:
            return None
        case_id = found
    if not covers(ctx.regions, token.region, case_id[:12]):
        raise ApiError(403, "forbidden_region", f"request {asked} is outside the api_key's region")
    detail = await model.case(case_id, time.time())
    return None if detail is None else _as_request(ctx, asked, detail)


@router.get(
    "/requests/{service_request_id}.json", response_model=list[ServiceRequest], responses=_ERRORS
)
async def get_request(
    service_request_id: str,
    request: Request,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
) -> Any:
    ctx = ctx_of(request)
    token = _token(ctx, request, {"api_key": api_key or ""}, (Role.FIELD_APP, Role.CENTRE))
    _jurisdiction(ctx, jurisdiction_id)
    found = await _lookup(ctx, token, service_request_id)
    if found is None:
        raise ApiError(
            404, "unknown_case", f"service_request_id {service_request_id} not found (yet)"
        )
    return JsonResponse([found.model_dump(mode="json")], 200)


@router.get("/requests.json", response_model=list[ServiceRequest], responses=_ERRORS)
async def list_requests(
    request: Request,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(pattern=r"^(open|closed)(,(open|closed))?$")] = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> Any:
    """By ids (comma list), else the token's region's requests (at most 1000, by deadline)."""
    ctx = ctx_of(request)
    token = _token(ctx, request, {"api_key": api_key or ""}, (Role.FIELD_APP, Role.CENTRE))
    _jurisdiction(ctx, jurisdiction_id)
    if service_request_id:
        out = []
        for asked in [s.strip() for s in service_request_id.split(",") if s.strip()][:100]:
            found = await _lookup(ctx, token, asked)
            if found is not None:
                out.append(found.model_dump(mode="json"))
        return JsonResponse(out, 200)
    state = None if status is None or "," in status else status
    cases, _more = await ReadModel(ctx.engine).cases(
        CaseQuery(
            code_prefix(ctx.regions, token.region),
            now=time.time(),
            state=state,
            category=service_code,
            limit=1000,
        )
    )
    out = []
    for case in cases:
        if start_date and case.opened_at < start_date:
            continue
        if end_date and case.opened_at > end_date:
            continue
        out.append(_as_request(ctx, case.case_id, case).model_dump(mode="json"))
    return JsonResponse(out, 200)
