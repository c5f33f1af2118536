"""Case queries and feedback over HTTP, on a read model projected from real dispositions."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from api_world import COUNTY, OTHER_VILLAGE, TOWN, VILLAGE, Api, auth
from history import TOPICS, History, event

from gridflow.api.projection import apply_batch


async def project(api: Api, h: History, since: int = 0) -> None:
    async with api.ctx.engine.begin() as conn:
        applied = await apply_batch(api.ctx.engine and conn, TOPICS, h.records[since:])
    api.ctx.notify(applied)


async def opened(api: Api, n: int = 3) -> tuple[History, list[str]]:
    h = History(VILLAGE)
    ids = []
    for i in range(n):
        (d, *_) = h.report(
            event(
                f"e{i}",
                VILLAGE,
                category="SJ0102" if i % 2 == 0 else "BJ0101",
                location={"lat": 29.55 + i * 0.05, "lon": 106.57},
            )
        )
        ids.append(d.case_id)
    await project(api, h)
    return h, ids


async def test_a_case_comes_with_its_timeline(api: Api) -> None:
    _h, (case_id, *_) = await opened(api)
    r = await api.client.get(f"/v1/cases/{case_id}", headers=auth("t-village"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["case_id"] == case_id and body["holder"] == VILLAGE
    assert body["timeline"][0]["action"] == "dispatch"
    assert body["timeline"][0]["record"]["disposition_id"].startswith(case_id)


@pytest.mark.parametrize(
    ("secret", "status"),
    [
        ("t-village", 200),
        ("t-town", 200),
        ("t-county", 200),
        ("t-city", 200),
        ("t-other-village", 403),
        ("t-other-county", 403),
    ],
)
async def test_a_case_is_seen_by_its_centre_and_those_above(
    api: Api, secret: str, status: int
) -> None:
    _h, (case_id, *_) = await opened(api, 1)
    r = await api.client.get(f"/v1/cases/{case_id}", headers=auth(secret))
    assert r.status_code == status
    if status == 403:
        assert r.json()["reason"] == "forbidden_region"


async def test_unknown_case_is_404(api: Api) -> None:
    r = await api.client.get(f"/v1/cases/{VILLAGE}-000000000000", headers=auth("t-village"))
    assert r.status_code == 404 and r.json()["reason"] == "unknown_case"


async def test_a_centres_list_holds_its_own_and_subordinate_cases_by_deadline(api: Api) -> None:
    h, ids = await opened(api, 5)
    holders = {
        d["case_id"]: d["center_code"]
        for d in (orjson.loads(r.value) for r in h.records)
        if d["action"] == "dispatch"
    }
    held_by_village = {c for c, holder in holders.items() if holder == VILLAGE}
    # 部件 (BJ) cases go to the county's department: the town does not see those.
    assert held_by_village and held_by_village != set(ids)
    for centre, secret, expected in (
        (VILLAGE, "t-village", held_by_village),
        (TOWN, "t-town", held_by_village),
        (COUNTY, "t-county", set(ids)),
    ):
        r = await api.client.get(f"/v1/centres/{centre}/cases", headers=auth(secret))
        assert r.status_code == 200, r.text
        cases = r.json()["cases"]
        assert {c["case_id"] for c in cases} == expected
        deadlines = [c["deadline"] for c in cases]
        assert deadlines == sorted(deadlines)
    r = await api.client.get(f"/v1/centres/{OTHER_VILLAGE}/cases", headers=auth("t-other-village"))
    assert r.json()["cases"] == []


async def test_the_list_pages_and_filters(api: Api) -> None:
    _h, ids = await opened(api, 5)
    url = f"/v1/centres/{COUNTY}/cases"
    first = (await api.client.get(url, params={"limit": 2}, headers=auth("t-county"))).json()
    assert len(first["cases"]) == 2 and first["next_offset"] == 2
    rest = (
        await api.client.get(url, params={"limit": 10, "offset": 2}, headers=auth("t-county"))
    ).json()
    assert rest["next_offset"] is None
    assert [c["case_id"] for c in first["cases"] + rest["cases"]] == [
        c["case_id"] for c in (await api.client.get(url, headers=auth("t-county"))).json()["cases"]
    ]
    h = auth("t-county")
    assert {
        c["category"][:4]
        for c in (await api.client.get(url, params={"category": "BJ"}, headers=h)).json()["cases"]
    } == {"BJ01"}
    assert (await api.client.get(url, params={"state": "closed"}, headers=h)).json()["cases"] == []
    assert (
        len((await api.client.get(url, params={"state": "open"}, headers=h)).json()["cases"]) == 5
    )
    assert (await api.client.get(url, params={"overdue": "true"}, headers=h)).json()["cases"] == []
    tiers = {c["tier"] for c in (await api.client.get(url, headers=h)).json()["cases"]}
    for tier in tiers:
        got = (await api.client.get(url, params={"tier": tier}, headers=h)).json()["cases"]
        assert got and {c["tier"] for c in got} == {tier}
    assert len((await api.client.get(url, params={"q": ids[0]}, headers=h)).json()["cases"]) == 1
    bad = await api.client.get(url, params={"tier": "planet"}, headers=h)
    assert bad.status_code == 422 and bad.json()["reason"] == "schema"


async def post_feedback(
    api: Api, case_id: str, body: object, secret: str = "t-village", **params: object
):
    return await api.client.post(
        f"/v1/cases/{case_id}/feedback",
        content=orjson.dumps(body),
        params=params,
        headers={"Content-Type": "application/json", **auth(secret)},
    )


async def test_feedback_is_produced_to_grid_feedback_keyed_by_the_cases_region(api: Api) -> None:
    _h, (case_id, *_) = await opened(api, 1)
    r = await post_feedback(api, case_id, {"action": "accept", "note": "已受理"})
    assert r.status_code == 202, r.text
    fid = r.json()["feedback_id"]
    ((topic, key, value),) = api.sink.records
    sent = orjson.loads(value)
    assert topic == api.ctx.feedback_topic and key == VILLAGE.encode()
    assert sent["feedback_id"] == fid and sent["center_code"] == VILLAGE
    assert sent["case_id"] == case_id and sent["action"] == "accept"


@pytest.mark.parametrize(
    ("body", "secret", "status", "reason"),
    [
        ({"action": "fly"}, "t-village", 422, "schema"),
        ({"action": "accept", "center_code": VILLAGE}, "t-village", 422, "schema"),
        ({"action": "extend"}, "t-village", 422, "schema"),
        ({"action": "accept"}, "t-town", 409, "wrong_center"),
        ({"action": "verify"}, "t-village", 409, "wrong_center"),
        ({"action": "accept"}, "t-other-village", 403, "forbidden_region"),
    ],
    ids=[
        "action",
        "unknown-field",
        "extend-without-until",
        "not-the-holder",
        "checks-own-work",
        "other-region",
    ],
)
async def test_bad_feedback_is_refused_before_kafka(
    api: Api, body: object, secret: str, status: int, reason: str
) -> None:
    _h, (case_id, *_) = await opened(api, 1)
    r = await post_feedback(api, case_id, body, secret)
    assert (r.status_code, r.json()["reason"]) == (status, reason), r.text
    assert api.sink.records == []


async def test_feedback_for_an_unknown_case_is_404(api: Api) -> None:
    r = await post_feedback(api, f"{VILLAGE}-ffffffffffff", {"action": "accept"})
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_case")


async def test_wait_returns_the_outcome_once_projected(api: Api) -> None:
    h, (case_id, *_) = await opened(api, 1)
    mark = len(h.records)

    async def worker_answers() -> None:
        # What the worker would do with the feedback the API produced.
        while not api.sink.records:
            await asyncio.sleep(0.01)
        sent = orjson.loads(api.sink.records[-1][2])
        h.act(case_id, VILLAGE, "accept", sent["feedback_id"])
        await project(api, h, since=mark)

    answer = asyncio.create_task(worker_answers())
    r = await post_feedback(api, case_id, {"action": "accept", "feedback_id": "fb-w1"}, wait=5)
    await answer
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "applied" and body["entry"]["record"]["state"] == "accepted"
    again = await api.client.get(f"/v1/cases/{case_id}/feedback/fb-w1", headers=auth("t-village"))
    assert again.json()["status"] == "applied"


async def test_a_refusal_is_the_outcome_too(api: Api) -> None:
    h, (case_id, *_) = await opened(api, 1)
    mark = len(h.records)
    assert isinstance(h.act(case_id, TOWN, "close", "fb-early"), tuple)  # not resolved yet
    await project(api, h, since=mark)
    r = await api.client.get(f"/v1/cases/{case_id}/feedback/fb-early", headers=auth("t-town"))
    assert r.json()["status"] == "refused" and r.json()["reason"] == "invalid_transition"
    case = (await api.client.get(f"/v1/cases/{case_id}", headers=auth("t-village"))).json()
    assert case["timeline"][-1]["kind"] == "refusal"


async def test_kpis_sum_every_workers_partial_records(api: Api) -> None:
    from datetime import UTC, datetime

    h = History(VILLAGE)
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    h.metrics(COUNTY, start, events_in=3, cases_opened=2, cases_closed=2, closed_on_time=1)
    h.metrics(
        COUNTY, start, events_in=1, cases_opened=2, merges=1, reports_by_network={"zongzhi": 1}
    )
    h.metrics("500104000000", start, events_in=9, cases_opened=9)
    await project(api, h)
    r = await api.client.get("/v1/kpis", params={"window": "1m"}, headers=auth("t-ops"))
    assert r.status_code == 200, r.text
    by_county = {w["region_code"]: w for w in r.json()["windows"]}
    ours = by_county[COUNTY]
    assert (ours["parts"], ours["events_in"], ours["cases_opened"]) == (2, 4, 4)
    assert ours["close_rate"] == 0.5 and ours["on_time_close_rate"] == 0.5
    assert ours["merge_ratio"] == 0.25 and ours["reports_by_network"] == {"zongzhi": 1}
    # A county's centre sees only its own county; a window filter bounds the range.
    own = await api.client.get("/v1/kpis", params={"window": "1m"}, headers=auth("t-county"))
    assert [w["region_code"] for w in own.json()["windows"]] == [COUNTY]
    later = await api.client.get(
        "/v1/kpis",
        params={"window": "1m", "from": "2026-01-01T08:01:00+00:00"},
        headers=auth("t-ops"),
    )
    assert later.json()["windows"] == []
    bad = await api.client.get("/v1/kpis", params={"window": "5m"}, headers=auth("t-ops"))
    assert (bad.status_code, bad.json()["reason"]) == (422, "schema")
