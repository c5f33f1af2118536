"""``GET /v1/kpis`` per county, department and centre: every worker's partial records
summed, the standard's rates recomputed from the sums, each token kept to its region."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_world import CITY, COUNTY, OTHER_COUNTY, OTHER_VILLAGE, TOWN, VILLAGE, Api, auth
from history import TOPICS, History

from gridflow.api.projection import apply_batch
from gridflow.core.kpi import rates
from schemas import MergeMetrics

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


async def project(api: Api, h: History) -> None:
    async with api.ctx.engine.begin() as conn:
        applied = await apply_batch(conn, TOPICS, h.records)
    api.ctx.notify(applied)


async def two_workers_and_another_county(api: Api) -> None:
    """The same county window from two workers, plus another county's record."""
    h = History(VILLAGE)
    h.metrics(
        COUNTY,
        START,
        events_in=4,
        cases_opened=2,
        merges=2,
        dispatches=3,
        returns=1,
        accepted=2,
        accepted_on_time=1,
        deadlines=4,
        overdue=1,
        revisits=2,
        satisfied=1,
        unsatisfied=1,
        by_department={
            "城管局": {"cases_opened": 2, "dispatches": 3, "returns": 1, "revisits": 2},
        },
        by_centre={
            VILLAGE: {"cases_opened": 2, "dispatches": 2, "returns": 1, "accepted": 1},
            OTHER_VILLAGE: {"dispatches": 1, "accepted": 1, "accepted_on_time": 1},
            CITY: {"deadlines": 1},
        },
    )
    h.metrics(
        COUNTY,
        START,
        events_in=2,
        cases_opened=2,
        dispatches=1,
        verifications=2,
        verified_on_time=1,
        deadlines=4,
        overdue=1,
        revisits=2,
        basically_satisfied=1,
        satisfied=1,
        by_department={
            "城管局": {"cases_opened": 1, "dispatches": 1},
            "水务局": {"cases_opened": 1, "revisits": 2, "satisfied": 2},
        },
        by_centre={
            VILLAGE: {"cases_opened": 2, "dispatches": 1},
            TOWN: {"verifications": 2, "verified_on_time": 1},
        },
    )
    h.metrics(
        OTHER_COUNTY,
        START,
        events_in=5,
        cases_opened=5,
        dispatches=5,
        by_department={"城管局": {"cases_opened": 5, "dispatches": 5}},
        by_centre={CITY: {"dispatches": 5}},
    )
    await project(api, h)


async def get(api: Api, token: str, **params: Any) -> Any:
    r = await api.client.get("/v1/kpis", params={"window": "1m", **params}, headers=auth(token))
    return r


async def test_per_county_the_new_counts_sum_and_the_rates_come_from_the_sums(api: Api) -> None:
    await two_workers_and_another_county(api)
    r = await get(api, "t-ops")
    assert r.status_code == 200, r.text
    assert r.json()["by"] == "county"
    ours = {w["region_code"]: w for w in r.json()["windows"]}[COUNTY]
    assert ours["parts"] == 2
    assert (ours["dispatches"], ours["returns"], ours["deadlines"], ours["overdue"]) == (4, 1, 8, 2)
    assert ours["overdue_rate"] == 0.25  # 2 / 8, not the mean of two records' rates
    assert ours["on_time_accept_rate"] == 0.5
    assert ours["timely_verify_rate"] == 0.5
    assert ours["valid_report_rate"] == 4 / 6
    assert ours["accurate_dispatch_rate"] == 0.75
    assert ours["satisfaction_rate"] == 0.75  # (2 满意 + 1 基本满意) / 4 回访


async def test_every_kpi_of_the_contract_is_served_summed(api: Api) -> None:
    """Driven by MergeMetrics' fields, so a KPI added to the contract and forgotten by the
    projection or the sums fails here: every count a distinct number, every map one key."""
    fields = MergeMetrics.model_fields
    counts = {name: i + 1 for i, (name, f) in enumerate(fields.items()) if f.annotation is int}
    maps = {
        name: {"zongzhi": i + 1}
        for i, (name, f) in enumerate(fields.items())
        if f.annotation == dict[str, int]
    }
    h = History(VILLAGE)
    for _worker in range(2):
        h.metrics(COUNTY, START, **counts, **maps)
    await project(api, h)
    r = await get(api, "t-ops", county=COUNTY)
    assert r.status_code == 200, r.text
    [served] = r.json()["windows"]
    summed = {name: 2 * n for name, n in counts.items()}
    expected_rates = rates(summed)
    for name, f in fields.items():
        if f.annotation is int:
            assert served[name] == summed[name], name
        elif f.annotation is float:
            assert served[name] == expected_rates[name], name
        elif f.annotation == dict[str, int]:
            assert served[name] == {"zongzhi": 2 * maps[name]["zongzhi"]}, name
    # The breakdowns are served as rows of their own (by=department, by=centre), and
    # every other field of the contract is in the figure.
    breakdowns = {"by_department", "by_centre"}
    assert set(fields) - breakdowns <= set(served) and not breakdowns & set(served)


async def test_per_department_summed_over_workers_and_counties(api: Api) -> None:
    await two_workers_and_another_county(api)
    r = await get(api, "t-ops", by="department")
    assert r.status_code == 200, r.text
    got = {w["department"]: w for w in r.json()["windows"]}
    assert set(got) == {"城管局", "水务局"}
    assert (got["城管局"]["cases_opened"], got["城管局"]["parts"]) == (8, 3)
    assert got["城管局"]["accurate_dispatch_rate"] == (9 - 1) / 9
    assert got["水务局"]["satisfaction_rate"] == 1.0
    one = await get(api, "t-county", department="城管局")
    [w] = one.json()["windows"]
    assert (w["department"], w["region_code"], w["cases_opened"]) == ("城管局", COUNTY, 3)


async def test_per_centre_and_each_token_sees_its_own_centres(api: Api) -> None:
    await two_workers_and_another_county(api)
    everything = await get(api, "t-ops", by="centre")
    got = {w["centre"]: w for w in everything.json()["windows"]}
    assert set(got) == {VILLAGE, OTHER_VILLAGE, TOWN, CITY}
    # The city centre's work, summed over the counties it happened in.
    assert (got[CITY]["dispatches"], got[CITY]["deadlines"], got[CITY]["parts"]) == (5, 1, 2)
    assert (got[VILLAGE]["dispatches"], got[VILLAGE]["returns"]) == (3, 1)
    assert got[VILLAGE]["accurate_dispatch_rate"] == 2 / 3
    assert got[TOWN]["timely_verify_rate"] == 0.5
    town = await get(api, "t-town", by="centre")
    assert {w["centre"] for w in town.json()["windows"]} == {VILLAGE, OTHER_VILLAGE, TOWN}
    one = await get(api, "t-village", centre=VILLAGE)
    assert [w["centre"] for w in one.json()["windows"]] == [VILLAGE]
    assert one.json()["by"] == "centre"


async def test_questions_that_cannot_be_answered(api: Api) -> None:
    both = await get(api, "t-ops", department="城管局", centre=VILLAGE)
    assert (both.status_code, both.json()["reason"]) == (422, "bad_dimension")
    clash = await get(api, "t-ops", by="county", centre=VILLAGE)
    assert (clash.status_code, clash.json()["reason"]) == (422, "bad_dimension")
    foreign = await get(api, "t-village", centre=OTHER_VILLAGE)
    assert (foreign.status_code, foreign.json()["reason"]) == (403, "forbidden_region")
    unknown = await get(api, "t-ops", by="street")
    assert (unknown.status_code, unknown.json()["reason"]) == (422, "schema")
