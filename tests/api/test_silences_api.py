"""``/v1/silences`` as a specification: who may create, see, extend and expire a silence."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from api_world import CITY, COUNTY, OTHER_COUNTY_VILLAGE, TOWN, VILLAGE, Api, auth

from gridflow.topics import SILENCES


@pytest.fixture
def database_kind() -> str:
    """Silences do not touch the read model: SQLite only."""
    return "sqlite"


def silence(sid: str = "works-1", **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "silence_id": sid,
        "center_code": TOWN,
        "kind": "construction",
        "matchers": {
            "categories": ["SJ03"],
            "near": {"lat": 29.556, "lon": 106.571, "radius_m": 300},
        },
        "duration_s": 30 * 86400,
        "comment": "地铁 18 号线施工许可 2026-118",
    }
    doc.update(kw)
    return doc


async def post(api: Api, path: str, body: Any, token: str) -> Any:
    return await api.client.post(
        path,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", **auth(token)},
    )


# (who, silence held by, answer, reason)
CREATE: list[tuple[str, str, int, str | None]] = [
    ("t-town", TOWN, 201, None),
    ("t-town", VILLAGE, 201, None),  # a centre below it
    ("t-town", COUNTY, 403, "forbidden_region"),  # above it
    ("t-village", TOWN, 403, "forbidden_region"),
    ("t-other-county", TOWN, 403, "forbidden_region"),
    ("t-county", TOWN, 201, None),
    ("t-city", OTHER_COUNTY_VILLAGE, 201, None),
    ("t-city", CITY, 201, None),
]


@pytest.mark.parametrize(("token", "centre", "status", "reason"), CREATE)
async def test_who_may_create_a_silence_for_which_centre(
    api: Api, token: str, centre: str, status: int, reason: str | None
) -> None:
    r = await post(api, "/v1/silences", silence(center_code=centre), token)
    assert r.status_code == status, r.text
    if reason is not None:
        assert r.json()["reason"] == reason
        assert api.sink.records == []
        return
    body = r.json()
    assert body["state"] == "active" and body["silence"]["center_code"] == centre
    ((topic, key, value),) = api.sink.records
    assert (topic, key) == (SILENCES, b"works-1")
    assert orjson.loads(value)["comment"] == "地铁 18 号线施工许可 2026-118"


# (what, body changes, status, reason)
REFUSED: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown category", {"matchers": {"categories": ["XX99"]}}, 422, "unknown_category"),
    ("no matcher", {"matchers": {}}, 422, "schema"),
    ("region prefix outside", {"matchers": {"region_prefix": "500104"}}, 403, "forbidden_region"),
    ("both ends", {"ends_at": "2027-01-01T00:00:00+08:00"}, 422, "schema"),
    ("no end", {"duration_s": None}, 422, "schema"),
    ("unknown field", {"colour": "red"}, 422, "schema"),
    ("no comment", {"comment": ""}, 422, "schema"),
    (
        "window backwards",
        {"duration_s": None, "ends_at": "2020-01-01T00:00:00+08:00"},
        422,
        "schema",
    ),
]


@pytest.mark.parametrize(
    ("changes", "status", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
async def test_a_bad_silence_is_refused_with_a_reason(
    api: Api, changes: dict[str, Any], status: int, reason: str
) -> None:
    body = {k: v for k, v in {**silence(), **changes}.items() if v is not None}
    r = await post(api, "/v1/silences", body, "t-town")
    assert (r.status_code, r.json()["reason"]) == (status, reason), r.text
    assert api.sink.records == []


async def test_list_extend_expire_by_region(api: Api) -> None:
    assert (await post(api, "/v1/silences", silence(), "t-town")).status_code == 201
    again = await post(api, "/v1/silences", silence(), "t-town")
    assert (again.status_code, again.json()["reason"]) == (409, "silence_exists")

    async def listed(token: str, state: str = "current") -> list[str]:
        r = await api.client.get(f"/v1/silences?state={state}", headers=auth(token))
        assert r.status_code == 200
        return [row["silence"]["silence_id"] for row in r.json()]

    # The town, the centres above it and the villages below it see it; a neighbour not.
    for token in ("t-town", "t-county", "t-city", "t-village"):
        assert await listed(token) == ["works-1"], token
    assert await listed("t-other-county") == []
    hidden = await api.client.get("/v1/silences/works-1", headers=auth("t-other-county"))
    assert (hidden.status_code, hidden.json()["reason"]) == (404, "unknown_silence")
    # A village below sees it but may not change it.
    r = await post(api, "/v1/silences/works-1/expire", {}, "t-village")
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden_region")
    # Extend: later only.
    r = await post(api, "/v1/silences/works-1/extend", {"duration_s": 86400}, "t-town")
    assert r.status_code == 200 and r.json()["silence"]["revision"] == 1
    r = await post(
        api, "/v1/silences/works-1/extend", {"until": "2020-01-01T00:00:00+08:00"}, "t-town"
    )
    assert (r.status_code, r.json()["reason"]) == (422, "not_later")
    # The county above expires it; once only.
    r = await post(api, "/v1/silences/works-1/expire", {"comment": "施工已完成"}, "t-county")
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["silence"]["changed_by"]) == ("expired", "county")
    r = await post(api, "/v1/silences/works-1/expire", {}, "t-county")
    assert (r.status_code, r.json()["reason"]) == (409, "silence_expired")
    assert await listed("t-town") == []
    assert await listed("t-town", "all") == ["works-1"]
    assert [orjson.loads(v)["revision"] for _, _, v in api.sink.records] == [0, 1, 2]
