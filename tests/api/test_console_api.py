"""What the console asks the API besides cases: who am I, a region's children, the working
calendar, the actions allowed now, and the console's own files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from api_world import TOWN, VILLAGE, Api, auth
from fastapi import FastAPI
from history import History, event
from test_cases_feedback import project

from gridflow.api.console import mount_console
from gridflow.api.errors import install_error_handlers


@pytest.fixture
def database_kind() -> str:
    """Nothing here depends on the database engine."""
    return "sqlite"


async def test_me_names_the_centre_and_its_tier(api: Api) -> None:
    r = await api.client.get("/v1/me", headers=auth("t-county"))
    me = r.json()
    assert (me["centre_name"], me["tier_name"], me["supervising"]) == (
        "渝中区综治中心",
        "区县级",
        True,
    )
    assert [a["tier"] for a in me["above"]] == ["city"]
    village = (await api.client.get("/v1/me", headers=auth("t-village"))).json()
    assert village["supervising"] is False and village["region"]["tier"] == "village"
    assert [a["tier"] for a in village["above"]] == ["city", "county", "town"]
    ops = (await api.client.get("/v1/me", headers=auth("t-ops"))).json()
    assert ops["role"] == "ops"
    assert (await api.client.get("/v1/me")).status_code == 401


async def test_a_region_lists_its_children(api: Api) -> None:
    r = await api.client.get("/v1/regions/500103000000", headers=auth("t-county"))
    body = r.json()
    assert body["name"] == "渝中区" and body["parent"] == "500000000000"
    assert TOWN in [c["code"] for c in body["children"]]
    assert {c["tier"] for c in body["children"]} == {"town"}
    missing = await api.client.get("/v1/regions/500103999000", headers=auth("t-city"))
    assert (missing.status_code, missing.json()["reason"]) == (404, "unknown_centre")


async def test_the_calendar_gives_working_periods_ahead(api: Api) -> None:
    r = await api.client.get("/v1/calendar", params={"days": 14}, headers=auth("t-village"))
    body = r.json()
    assert body["timezone"] == "Asia/Shanghai"
    periods = [
        (datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]))
        for p in body["periods"]
    ]
    # Two periods a workday (09:00-12:00, 14:00-18:00 local = 01:00-04:00, 06:00-10:00 UTC).
    assert periods and len(periods) % 2 == 0
    assert {(s.hour, e.hour) for s, e in periods} == {(1, 4), (6, 10)}
    assert all(s < e for s, e in periods)
    too_many = await api.client.get("/v1/calendar", params={"days": 61}, headers=auth("t-village"))
    assert too_many.status_code == 422


async def test_actions_are_the_holders_and_the_supervisors(api: Api) -> None:
    h = History(VILLAGE)
    (d, *_) = h.report(event("c1", VILLAGE, location={"lat": 29.55, "lon": 106.57}))
    await project(api, h)
    village = await api.client.get(f"/v1/cases/{d.case_id}/actions", headers=auth("t-village"))
    assert village.json()["actions"] == ["accept", "return", "escalate", "extend", "cancel"]
    assert village.json()["return_targets"][0]["code"] == TOWN
    town = await api.client.get(f"/v1/cases/{d.case_id}/actions", headers=auth("t-town"))
    assert town.json()["actions"] == ["take_over", "cancel"]
    assert town.json()["return_targets"] == []
    summary = (await api.client.get(f"/v1/cases/{d.case_id}", headers=auth("t-village"))).json()
    assert (summary["lat"], summary["lon"]) == (29.55, 106.57)


async def test_the_console_is_served_or_says_it_was_not_built(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.mkdir()
    (built / "index.html").write_text("<title>控制台</title>", encoding="utf-8")
    for dist, status in ((built, 200), (tmp_path / "absent", 404)):
        app = FastAPI()
        install_error_handlers(app, "/open311")
        mount_console(app, dist)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            r = await client.get("/console/")
        assert r.status_code == status
        if status == 404:
            assert r.json()["reason"] == "console_not_built"
