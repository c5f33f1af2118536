"""A department office that verifies (核查) in the API: its token sees and acts on the cases
it verifies, and only those; 催办 under 督办 reaches the supervisor's timeline.

危房 (BJ0501) in a village of 渝中区 is handled by the town and checked by the county
住建委's 质监站 (``500103000000-zjz``, catalogue.yaml ``verifiers: BJ0501: county:zjz``).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from api_world import (
    CITY,
    COUNTY,
    OTHER_ZJZ,
    TOWN,
    VILLAGE,
    ZJZ,
    Api,
    auth,
)
from history import History, engine, event
from test_cases_feedback import project

from gridflow.api.readmodel import ReadModel
from gridflow.api.tokens import TokenStore
from gridflow.core.catalogue import Catalogue
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.regions import RegionGraph


async def _resolved_hazard(api: Api, h: History, event_id: str = "w1") -> str:
    (opened, *_) = h.report(event(event_id, VILLAGE, category="BJ0501", title="老房子墙体开裂"))
    case_id = opened.case_id
    h.act(case_id, TOWN, "accept", f"{event_id}-a")
    h.act(case_id, TOWN, "resolve", f"{event_id}-r")
    await project(api, h)
    return case_id


async def _get(api: Api, path: str, token: str) -> tuple[int, dict[str, object]]:
    found = await api.client.get(path, headers=auth(token))
    return found.status_code, found.json()


async def test_the_office_lists_and_reads_the_cases_it_verifies(api: Api) -> None:
    h = History(VILLAGE)
    case_id = await _resolved_hazard(api, h)
    (other, *_) = h.report(event("w2", VILLAGE))  # 暴露垃圾: the town checks, not the office
    await project(api, h)

    status, page = await _get(api, f"/v1/centres/{ZJZ}/cases", "t-zjz")
    assert status == 200, page
    cases = page["cases"]
    assert isinstance(cases, list)
    assert [(c["case_id"], c["holder"], c["verifier"], c["state"]) for c in cases] == [
        (case_id, TOWN, ZJZ, "resolved")
    ]
    status, case = await _get(api, f"/v1/cases/{case_id}", "t-zjz")
    assert status == 200 and case["verifier"] == ZJZ
    # The office was told on its own key when the case awaited its 核查.
    timeline = case["timeline"]
    assert isinstance(timeline, list)
    told = [e for e in timeline if e["center_code"] == ZJZ]
    assert [(e["action"], e["acted_by"]) for e in told] == [("state", TOWN)]
    # A case it does not verify is not its business.
    status, refused = await _get(api, f"/v1/cases/{other.case_id}", "t-zjz")
    assert (status, refused["reason"]) == (403, "forbidden_region")


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("t-zjz", 200),
        ("t-county", 200),  # the office's county sees its list
        ("t-city", 200),
        ("t-town", 403),
        ("t-village", 403),
        ("t-other-county", 403),
        ("t-other-zjz", 403),  # another county's 质监站
    ],
)
async def test_who_may_read_an_office_s_list(api: Api, token: str, status: int) -> None:
    found, _ = await _get(api, f"/v1/centres/{ZJZ}/cases", token)
    assert found == status


@pytest.mark.parametrize(
    "code",
    [
        "500103000000-xyz",  # an office catalogue.yaml does not list
        "500103001000-zjz",  # 质监站 sits at counties, not at towns
        "500199000000-zjz",  # no such county
    ],
)
async def test_an_unknown_office_is_not_a_centre(api: Api, code: str) -> None:
    status, body = await _get(api, f"/v1/centres/{code}/cases", "t-city")
    assert (status, body["reason"]) == (404, "unknown_centre")
    status, body = await _get(api, f"/v1/centres/{code}/stream", "t-city")
    assert (status, body["reason"]) == (404, "unknown_centre")


async def test_only_the_office_may_verify_and_close(api: Api) -> None:
    h = History(VILLAGE)
    case_id = await _resolved_hazard(api, h)
    for token in ("t-town", "t-county", "t-city", "t-zjz"):
        status, body = await _get(api, f"/v1/cases/{case_id}/actions", token)
        assert status == 200, body
        expected = ["verify", "reject_resolution"] if token == "t-zjz" else []
        assert body["actions"] == expected, token
    refused = await api.client.post(
        f"/v1/cases/{case_id}/feedback", json={"action": "verify"}, headers=auth("t-county")
    )
    assert (refused.status_code, refused.json()["reason"]) == (409, "wrong_center")
    other = await api.client.post(
        f"/v1/cases/{case_id}/feedback", json={"action": "verify"}, headers=auth("t-other-zjz")
    )
    assert (other.status_code, other.json()["reason"]) == (403, "forbidden_region")
    sent = await api.client.post(
        f"/v1/cases/{case_id}/feedback",
        json={"action": "verify", "feedback_id": "zjz-v1"},
        headers=auth("t-zjz"),
    )
    assert sent.status_code == 202, sent.text
    [(_topic, _key, value)] = [r for r in api.sink.records if b"zjz-v1" in r[2]]
    assert orjson.loads(value)["center_code"] == ZJZ


async def test_the_office_s_stream_has_its_cases_rows_only(api: Api) -> None:
    h = History(VILLAGE)
    case_id = await _resolved_hazard(api, h)
    h.report(event("w3", VILLAGE))
    await project(api, h)
    rows = await ReadModel(api.ctx.engine).entries_after("", 0, verifier=ZJZ)
    assert rows and {r.case_id for r in rows} == {case_id}
    assert ZJZ in {r.center_code for r in rows}
    status, _ = await _get(api, f"/v1/centres/{ZJZ}/stream", "t-other-zjz")
    assert status == 403


async def test_me_and_names_for_an_office(api: Api) -> None:
    status, me = await _get(api, "/v1/me", "t-zjz")
    assert status == 200, me
    assert (me["centre_name"], me["supervising"]) == ("渝中区住建委质监站", False)
    assert me["region"] == {"code": ZJZ, "name": "渝中区住建委质监站", "tier": "county"}
    above = me["above"]
    assert isinstance(above, list) and [r["code"] for r in above] == [CITY, COUNTY]
    # Any centre's console names a case's verifying office.
    status, named = await _get(api, f"/v1/regions/{ZJZ}", "t-town")
    assert (status, named["name"], named["parent"], named["children"]) == (
        200,
        "渝中区住建委质监站",
        COUNTY,
        [],
    )


async def test_a_warning_under_supervision_reaches_the_supervisor_s_timeline(api: Api) -> None:
    h = History(VILLAGE)
    (opened, *_) = h.report(event("w4", VILLAGE))
    case_id = opened.case_id
    h.miss(case_id)  # the town supervises (督办)
    case = h.state.cases[case_id]
    assert case.warn_at is not None
    h.now = case.warn_at + 1
    h._publish(engine().apply_tick(h.state, case_id, h.now).dispositions)
    await project(api, h)
    status, found = await _get(api, f"/v1/cases/{case_id}", "t-town")
    assert status == 200
    timeline = found["timeline"]
    assert isinstance(timeline, list)
    warnings = [
        (e["center_code"], e["record"]["recipients"])
        for e in timeline
        if e["action"] == "sla_warning"
    ]
    assert warnings == [(VILLAGE, [VILLAGE, TOWN]), (TOWN, [VILLAGE, TOWN])]
    # The supervisor's copy tells it; the case stays the village's.
    assert (found["holder"], found["supervisor"]) == (VILLAGE, TOWN)


# ------------------------------------------------------------------ the token file

TOKEN = '  - name: {name}\n    role: {role}\n    region: "{region}"\n    sha256: {sha}\n'


def _tokens(tmp_path: Path, region: str, role: str = "centre") -> TokenStore:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n" + TOKEN.format(name="zjz", role=role, region=region, sha="a" * 64),
        encoding="utf-8",
    )
    return TokenStore.load(path, RegionGraph.default(), Catalogue.default())


def test_an_office_token_names_a_listed_office(tmp_path: Path) -> None:
    assert len(_tokens(tmp_path, ZJZ)) == 1
    assert len(_tokens(tmp_path, OTHER_ZJZ)) == 1


@pytest.mark.parametrize(
    ("region", "role", "message"),
    [
        (
            "500103000000-xyz",
            "centre",
            "office 500103000000-xyz: catalogue.yaml offices: does not list 'xyz' (known: "
            "zjz, scjgs, yjj)",
        ),
        (
            "500103001000-zjz",
            "centre",
            "office 500103001000-zjz: zjz (住建委质监站) sits at county, not at the town "
            "500103001000",
        ),
        (ZJZ, "ops", f"office {ZJZ}: only a centre token may be an office's"),
        (
            "500199000000-zjz",
            "centre",
            "office 500199000000-zjz: region 500199000000 is not in the tree",
        ),
    ],
)
def test_office_token_errors_name_the_line(
    tmp_path: Path, region: str, role: str, message: str
) -> None:
    with pytest.raises(ConfigLoadError) as caught:
        _tokens(tmp_path, region, role)
    assert (caught.value.line, caught.value.message) == (2, message)


async def test_a_read_model_from_before_offices_widens_its_centre_columns(
    database_url: str,
) -> None:
    """Offices' codes are longer than a region's: PostgreSQL widens the old VARCHAR(12)."""
    from sqlalchemy import inspect, text

    from gridflow.api import db

    engine = db.make_engine(database_url)
    try:
        await db.create_schema(engine)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(
                    text("ALTER TABLE timeline ALTER COLUMN center_code TYPE VARCHAR(12)")
                )
        await db.create_schema(engine)  # what the next start does
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"]: col["type"] for col in inspect(c).get_columns("timeline")}
            )
        assert getattr(columns["center_code"], "length", 32) == 32
    finally:
        await engine.dispose()


@pytest.mark.parametrize("by", ["county", "centre"])
async def test_an_office_s_token_reads_kpis(api: Api, by: str) -> None:
    found = await api.client.get(
        "/v1/kpis", params={"window": "1m", "by": by}, headers=auth("t-zjz")
    )
    assert found.status_code == 200, found.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/silences", None),
        ("GET", "/v1/silences?state=all", None),
        (
            "POST",
            "/v1/silences",
            {
                "matchers": [{"name": "category", "value": "BJ0501"}],
                "comment": "排危施工",
                "duration_s": 3600,
            },
        ),
        ("GET", "/v1/events/e-none", None),
        ("POST", "/v1/events", {"event_id": "o-1"}),
        ("GET", "/open311/v2/requests.json", None),
        ("GET", f"/v1/regions/{COUNTY}", None),
        ("GET", "/v1/calendar", None),
        ("GET", f"/v1/centres/{COUNTY}/cases", None),
        ("GET", "/v1/kpis?window=1m&by=department", None),
    ],
)
async def test_an_office_s_token_elsewhere_is_refused_or_answered_never_a_500(
    api: Api, method: str, path: str, body: dict[str, object] | None
) -> None:
    found = await api.client.request(method, path, json=body, headers=auth("t-zjz"))
    assert found.status_code < 500, found.text
