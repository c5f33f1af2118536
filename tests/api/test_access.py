"""Who may do what: 401 without a valid token, 403 for the wrong role or region — every endpoint."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from api_world import OTHER_COUNTY, TOWN, VILLAGE, Api, auth
from history import TOPICS, History

from gridflow.api.projection import apply_batch
from gridflow.api.tokens import Role, Token, TokenStore
from schemas import GridEvent

CASE = f"{VILLAGE}-000000000001"
EVENT = {
    "event_id": "acc-1",
    "source_network": "chengguan",
    "reported_at": "2026-01-01T08:00:00+08:00",
    "region_code": VILLAGE,
    "title": "井盖缺失",
}

#: Held by the town: its villages see it (it acts on them) but may not change it.
SILENCE = {
    "silence_id": "works-1",
    "center_code": TOWN,
    "kind": "construction",
    "matchers": {"categories": ["SJ03"]},
    "duration_s": 86400,
    "comment": "施工许可 2026-118",
}

#: (method, path, body, a token of the right role whose region does not cover the target,
#:  a token of a role the endpoint refuses)
ENDPOINTS: list[tuple[str, str, Any, str, str]] = [
    ("POST", "/v1/events", EVENT, "t-other-county", "t-ops"),
    ("GET", "/v1/events/acc-1", None, "t-other-county", "t-ops"),
    ("GET", f"/v1/cases/{CASE}", None, "t-other-county", "t-app"),
    ("GET", f"/v1/centres/{VILLAGE}/cases", None, "t-other-village", "t-app"),
    ("POST", f"/v1/cases/{CASE}/feedback", {"action": "accept"}, "t-other-county", "t-app"),
    ("GET", f"/v1/cases/{CASE}/feedback/fb-1", None, "t-other-county", "t-ops"),
    ("GET", f"/v1/centres/{VILLAGE}/stream", None, "t-other-village", "t-app"),
    ("GET", f"/v1/kpis?county={OTHER_COUNTY}", None, "t-county", "t-app"),
    ("GET", f"/v1/regions/{VILLAGE}", None, "t-other-village", "t-app"),
    ("GET", "/v1/calendar", None, "t-other-county", "t-app"),
    ("GET", f"/v1/cases/{CASE}/actions", None, "t-other-county", "t-app"),
    ("POST", "/v1/silences", SILENCE, "t-other-county", "t-app"),
    ("GET", "/v1/silences", None, "t-other-county", "t-ops"),
    ("GET", "/v1/silences/works-1", None, "t-other-county", "t-app"),
    ("POST", "/v1/silences/works-1/extend", {"duration_s": 3600}, "t-village", "t-app"),
    ("POST", "/v1/silences/works-1/expire", {}, "t-village", "t-ops"),
]
IDS = [f"{m} {p}" for m, p, *_ in ENDPOINTS]


@pytest.fixture
def database_kind() -> str:
    """The HTTP layer's rules do not depend on the database: SQLite only (the queries are
    tested on both in test_projection.py and test_cases_feedback.py)."""
    return "sqlite"


async def call(api: Api, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if body is None:
        return await api.client.request(method, path, headers=headers)
    return await api.client.request(
        method,
        path,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize(("method", "path", "body", "_region", "_role"), ENDPOINTS, ids=IDS)
async def test_no_token_or_an_unknown_one_is_401(
    api: Api, method: str, path: str, body: Any, _region: str | None, _role: str
) -> None:
    for headers in ({}, auth("nonsense"), {"Authorization": "Basic dXNlcjpwdw=="}):
        r = await call(api, method, path, body, headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["reason"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "_region", "role"), ENDPOINTS, ids=IDS)
async def test_a_token_of_another_role_is_403(
    api: Api, method: str, path: str, body: Any, _region: str | None, role: str
) -> None:
    r = await call(api, method, path, body, auth(role))
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden_role")


#: What a token for another region gets where it is not 403 ``forbidden_region``, and why:
#: the calendar is every centre's; a silence it cannot see is not disclosed (404, and left
#: out of its list).
ELSEWHERE: dict[str, tuple[int, str | None]] = {
    "GET /v1/calendar": (200, None),
    "GET /v1/silences": (200, None),
    "GET /v1/silences/works-1": (404, "unknown_silence"),
}
#: How long the event may take to reach the read model (it takes milliseconds).
PROJECTED_WITHIN_S = 30.0


async def work_and_project(api: Api) -> None:
    """What a worker and the projector do with the events the API wrote: the engine
    opens their cases, the projection applies its dispositions."""
    h = History(VILLAGE)
    for topic, _key, value in list(api.sink.records):
        if topic == api.ctx.events_topic:
            doc = orjson.loads(value)
            for one in doc if isinstance(doc, list) else [doc]:
                h.report(GridEvent.model_validate(one))
    async with api.ctx.engine.begin() as conn:
        await apply_batch(conn, TOPICS, h.records)


async def answered(
    api: Api, path: str, token: str, meanwhile: asyncio.Task[None] | None = None
) -> Any:
    """Poll ``path`` until it answers 200, or fail at the deadline with its last answer
    (at once with the error of ``meanwhile``, the work it waits for, should that fail)."""
    deadline = time.monotonic() + PROJECTED_WITHIN_S
    while True:
        r = await api.client.get(path, headers=auth(token))
        if r.status_code == 200:
            return r
        if meanwhile is not None and meanwhile.done():
            meanwhile.result()
        assert time.monotonic() < deadline, (path, r.status_code, r.text)
        await asyncio.sleep(0.01)


async def given_the_target_exists(api: Api, method: str, path: str) -> None:
    """The report's case and the silence are the targets whose region is checked: they
    must exist (a reader may see them) before another region's token can be refused."""
    if path.startswith("/v1/events/"):
        posted = await call(api, "POST", "/v1/events", EVENT, auth("t-village"))
        assert posted.status_code == 202, posted.text
        # 404 until the worker has opened the case and the projection holds it.
        unknown = await call(api, "GET", path, None, auth("t-village"))
        assert (unknown.status_code, unknown.json()["reason"]) == (404, "unknown_event")
        projecting = asyncio.create_task(work_and_project(api))
        await answered(api, path, "t-village", meanwhile=projecting)
        await projecting
    elif path.startswith("/v1/silences/"):
        created = await call(api, "POST", "/v1/silences", SILENCE, auth("t-town"))
        assert created.status_code == 201, created.text
        await answered(api, "/v1/silences/works-1", "t-town")
    elif (method, path) == ("GET", "/v1/silences"):
        await given_the_target_exists(api, "GET", "/v1/silences/works-1")


@pytest.mark.parametrize(("method", "path", "body", "region", "_role"), ENDPOINTS, ids=IDS)
async def test_a_token_for_another_region_is_refused(
    api: Api, method: str, path: str, body: Any, region: str, _role: str
) -> None:
    await given_the_target_exists(api, method, path)
    written = list(api.sink.records)
    r = await call(api, method, path, body, auth(region))
    status, reason = ELSEWHERE.get(f"{method} {path}", (403, "forbidden_region"))
    assert r.status_code == status, r.text
    if reason is not None:
        assert r.json()["reason"] == reason, r.text
    if (method, path) == ("GET", "/v1/silences"):
        assert "works-1" not in [row["silence"]["silence_id"] for row in r.json()]
    assert api.sink.records == written


async def test_each_token_has_its_own_rate_limit(api: Api) -> None:
    api.ctx.tokens = TokenStore.from_secrets(
        [
            ("slow", Token("slow", Role.CENTRE, VILLAGE, rate_per_s=0.001)),
            ("t-county", Token("county", Role.CENTRE, "500103000000")),
        ]
    )
    assert api.ctx.limiter is not None
    api.ctx.limiter.burst = 2
    url = f"/v1/centres/{VILLAGE}/cases"
    codes = [(await api.client.get(url, headers=auth("slow"))).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = await api.client.get(url, headers=auth("slow"))
    assert limited.json()["reason"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert (await api.client.get(url, headers=auth("t-county"))).status_code == 200


async def test_cors_is_off_by_default(api: Api) -> None:
    r = await api.client.options(
        "/v1/kpis",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


async def test_health_needs_no_token(api: Api) -> None:
    assert (await api.client.get("/healthz")).status_code == 200
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["broker"] is True
    api.sink.up = False
    assert (await api.client.get("/readyz")).status_code == 503
    metrics = await api.client.get("/metrics")
    assert "gridflow_api_requests_total" in metrics.text
    assert 'route="/readyz"' in metrics.text


async def test_the_access_log_names_the_route_and_token_never_the_path(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="gridflow.api.access"):
        r = await api.client.get(f"/v1/cases/{CASE}", headers=auth("t-county"))
    line = next(rec.getMessage() for rec in caplog.records if rec.name == "gridflow.api.access")
    assert line.startswith(f"GET /v1/cases/{{case_id}} {r.status_code} ")
    assert CASE not in line and line.endswith("token=county")
    metrics = (await api.client.get("/metrics")).text
    assert (
        f'gridflow_api_requests_total{{method="GET",route="/v1/cases/{{case_id}}",'
        f'status="{r.status_code}"}}' in metrics
    )
