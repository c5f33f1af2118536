"""督办 and 核查 in the read model: after a missed deadline the village still holds the case
(the town supervises), the buttons follow, and the timeline names who acted."""

from __future__ import annotations

from pathlib import Path

from api_world import COUNTY, TOWN, VILLAGE, Api, auth
from history import History, event
from sqlalchemy import inspect, text
from test_cases_feedback import project

from gridflow.api import db


async def _actions(api: Api, case_id: str, token: str) -> list[str]:
    found = await api.client.get(f"/v1/cases/{case_id}/actions", headers=auth(token))
    assert found.status_code == 200, found.text
    actions: list[str] = found.json()["actions"]
    return actions


async def test_a_supervised_case_stays_with_its_handler_and_the_town_checks(api: Api) -> None:
    h = History(VILLAGE)
    (opened, *_) = h.report(event("s1", VILLAGE))
    case_id = opened.case_id
    h.miss(case_id)  # the accept deadline passes: the town supervises (督办)
    await project(api, h)
    case = (await api.client.get(f"/v1/cases/{case_id}", headers=auth("t-town"))).json()
    assert (case["holder"], case["tier"], case["supervisor"], case["verifier"]) == (
        VILLAGE,
        "village",
        TOWN,
        TOWN,
    )
    assert (await _actions(api, case_id, "t-village"))[0] == "accept"
    assert await _actions(api, case_id, "t-town") == ["take_over", "cancel"]
    # The supervisor does not handle: its accept is refused before it reaches the worker.
    refused = await api.client.post(
        f"/v1/cases/{case_id}/feedback", json={"action": "accept"}, headers=auth("t-town")
    )
    assert (refused.status_code, refused.json()["reason"]) == (409, "wrong_center")

    h.act(case_id, VILLAGE, "accept", "a1")
    h.act(case_id, VILLAGE, "resolve", "r1")
    await project(api, h)
    assert await _actions(api, case_id, "t-village") == []  # the handler never checks
    assert (await _actions(api, case_id, "t-town"))[:2] == ["verify", "reject_resolution"]
    assert (await _actions(api, case_id, "t-county"))[:2] == ["verify", "reject_resolution"]
    h.act(case_id, TOWN, "verify", "v1")
    h.act(case_id, TOWN, "close", "c1")
    await project(api, h)
    case = (await api.client.get(f"/v1/cases/{case_id}", headers=auth("t-town"))).json()
    assert case["state"] == "closed" and case["holder"] == VILLAGE
    # Who acted, from the dispositions (facts, not prose): the town verified and closed
    # although every step was addressed to the village holding the case.
    steps = [
        (e["record"].get("state"), e["acted_by"], e["center_code"])
        for e in case["timeline"]
        if e["kind"] == "disposition" and e["action"] == "state"
    ]
    assert steps[-4:] == [
        ("accepted", VILLAGE, VILLAGE),
        ("resolved", VILLAGE, VILLAGE),
        ("verified", TOWN, VILLAGE),
        ("closed", TOWN, VILLAGE),
    ]
    escalate = next(e for e in case["timeline"] if e["action"] == "escalate")
    assert (escalate["center_code"], escalate["acted_by"]) == (TOWN, None)


async def test_a_take_over_moves_the_case_and_the_county_checks(api: Api) -> None:
    h = History(VILLAGE)
    (opened, *_) = h.report(event("s2", VILLAGE))
    case_id = opened.case_id
    h.miss(case_id)
    h.act(case_id, TOWN, "take_over", "t1", note="村里处理不了，街道接管")
    await project(api, h)
    case = (await api.client.get(f"/v1/cases/{case_id}", headers=auth("t-town"))).json()
    assert (case["holder"], case["tier"], case["supervisor"], case["verifier"]) == (
        TOWN,
        "town",
        None,
        COUNTY,
    )
    assert (await _actions(api, case_id, "t-town"))[0] == "accept"
    assert "accept" not in await _actions(api, case_id, "t-village")


async def test_a_read_model_created_before_gains_the_new_columns(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await db.create_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_cases_verifier_due"))
            for column in ("supervisor", "verifier"):
                await conn.execute(text(f"ALTER TABLE cases DROP COLUMN {column}"))
        await db.create_schema(engine)  # what the next start does
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("cases")}
            )
            indexes = await conn.run_sync(
                lambda c: {i["name"] for i in inspect(c).get_indexes("cases")}
            )
        assert {"supervisor", "verifier"} <= names
        # a verifying office's list has its index (added with department offices)
        assert "ix_cases_verifier_due" in indexes
    finally:
        await engine.dispose()
