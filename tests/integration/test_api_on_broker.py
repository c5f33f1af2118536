"""``gridflow api`` against a real worker on the embedded broker, driven by a real HTTP client:
intake → case → feedback → closed, live streams resumed with Last-Event-ID, restart and rebuild.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from api_harness import TOKENS, ApiProcess
from harness import Deployment, WorkerProcess, wait_until

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"
TOWN = "500103001000"
ZJZ = "500103000000-zjz"  # 渝中区住建委质监站, which verifies 危房 (BJ0501)


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@pytest.fixture(scope="module")
def api(deployment: Deployment, worker: WorkerProcess) -> Iterator[ApiProcess]:
    a = ApiProcess(deployment).start().wait_ready()
    yield a
    a.stop()


@pytest.fixture
def http(api: ApiProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=15) as client:
        yield client


def report(
    http: httpx.Client,
    event_id: str,
    lat: float = 29.55,
    category: str = "SJ0102",
    title: str = "菜市场旁垃圾堆积无人清运",
) -> str:
    """POST one event and wait until the worker's case for it is in the read model."""
    event = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": lat, "lon": 106.57},
        "title": title,
        "category": category,
        "reporter": {"id": "w-17", "role": "grid_worker", "phone": "13812345678"},
    }
    r = http.post("/v1/events", json=event, headers=bearer("app"))
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == [event_id]

    def case_id() -> str | None:
        found = http.get(f"/v1/events/{event_id}", headers=bearer("village"))
        return found.json()["case_id"] if found.status_code == 200 else None

    return str(wait_until(case_id, 30, f"a case for {event_id}", interval=0.1))


def act(http: httpx.Client, case_id: str, action: str, centre: str = "village") -> dict[str, Any]:
    r = http.post(
        f"/v1/cases/{case_id}/feedback",
        params={"wait": 10},
        json={"action": action, "note": f"{action} via API"},
        headers=bearer(centre),
    )
    assert r.status_code in (200, 202), r.text
    return dict(r.json())


def test_intake_case_feedback_closed(http: httpx.Client, api: ApiProcess) -> None:
    case_id = report(http, "api-e1")
    case = http.get(f"/v1/cases/{case_id}", headers=bearer("village")).json()
    assert case["holder"] == VILLAGE and case["timeline"][0]["action"] == "dispatch"
    listed = http.get(f"/v1/centres/{TOWN}/cases", params={"state": "open"}, headers=bearer("town"))
    assert case_id in [c["case_id"] for c in listed.json()["cases"]]
    # 监管分离: the town above checks (核查) and closes (结案) what the village handled.
    for action, state, centre in (
        ("accept", "accepted", "village"),
        ("resolve", "resolved", "village"),
        ("verify", "verified", "town"),
        ("close", "closed", "town"),
    ):
        outcome = act(http, case_id, action, centre)
        assert outcome["status"] == "applied", outcome
        assert outcome["entry"]["record"]["state"] == state
    refused = act(http, case_id, "close", "town")
    assert (refused["status"], refused["reason"]) == ("refused", "invalid_transition")
    case = http.get(f"/v1/cases/{case_id}", headers=bearer("village")).json()
    assert case["state"] == "closed" and case["closed"] is True
    assert case["timeline"][-1]["kind"] == "refusal"
    # No reporter's phone number in the API's log.
    assert "13812345678" not in api.log_path.read_text(errors="replace")


def read_stream(
    http: httpx.Client, centre: str, want: int, headers: dict[str, str]
) -> list[tuple[int, dict[str, Any]]]:
    """Read ``want`` SSE events: (id, data)."""
    got: list[tuple[int, dict[str, Any]]] = []
    event_id: int | None = None
    deadline = time.monotonic() + 30
    with http.stream(
        "GET", f"/v1/centres/{centre}/stream", headers={**bearer("town"), **headers}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:") and event_id is not None:
                got.append((event_id, orjson.loads(line[5:].strip())))
                if len(got) >= want:
                    return got
            assert time.monotonic() < deadline, f"stream gave {len(got)} of {want} events"
    return got


def test_the_stream_resumes_after_last_event_id(http: httpx.Client) -> None:
    report(http, "api-s1", lat=29.60)
    first = read_stream(http, TOWN, 2, {"Last-Event-ID": "0"})
    ids = [i for i, _ in first]
    assert ids == sorted(ids) and len(set(ids)) == 2
    assert all(d["center_code"].startswith(TOWN[:9]) for _, d in first)
    resumed = read_stream(http, TOWN, 1, {"Last-Event-ID": str(ids[0])})
    assert resumed[0][0] == ids[1]


def test_a_department_office_verifies_and_closes_through_the_api(http: httpx.Client) -> None:
    """监管分离 with a verifying office: the town handles a 危房, the county 住建委's 质监站
    (not a region centre) sees it in its list and stream, verifies and closes it; the
    county centre may not."""
    case_id = report(http, "api-o1", lat=29.65, category="BJ0501", title="居民楼外墙开裂")
    for action in ("accept", "resolve"):
        assert act(http, case_id, action, "town")["status"] == "applied"

    def listed() -> dict[str, Any] | None:
        page = http.get(f"/v1/centres/{ZJZ}/cases", headers=bearer("zjz"))
        assert page.status_code == 200, page.text
        found = [c for c in page.json()["cases"] if c["case_id"] == case_id]
        return found[0] if found and found[0]["state"] == "resolved" else None

    row = wait_until(listed, 30, "the resolved case in the office's list", interval=0.1)
    assert (row["holder"], row["verifier"]) == (TOWN, ZJZ)
    refused = http.post(
        f"/v1/cases/{case_id}/feedback", json={"action": "verify"}, headers=bearer("county")
    )
    assert (refused.status_code, refused.json()["reason"]) == (409, "wrong_center")
    for action, state in (("verify", "verified"), ("close", "closed")):
        outcome = act(http, case_id, action, "zjz")
        assert outcome["status"] == "applied", outcome
        record = outcome["entry"]["record"]
        assert (record["state"], record["verifier"], record["acted_by"]) == (state, ZJZ, ZJZ)
    # Its live stream: the rows of the cases it verifies (the 核查 notice on its own key).
    # (dispatch, the county informed of a 危房, accepted, resolved, the notice, …)
    rows = read_stream(http, ZJZ, 5, {**bearer("zjz"), "Last-Event-ID": "0"})
    assert {d["case_id"] for _, d in rows} == {case_id}
    assert any(d["center_code"] == ZJZ for _, d in rows)


def test_a_killed_api_resumes_and_a_rebuild_gives_the_same_cases(
    deployment: Deployment, worker: WorkerProcess, api: ApiProcess
) -> None:
    with httpx.Client(base_url=api.url, timeout=15) as http:
        case_id = report(http, "api-r1", lat=29.65)
        before = http.get(f"/v1/centres/{TOWN}/cases", headers=bearer("town")).json()["cases"]
    api.kill()
    again = ApiProcess(deployment, name="api").start()
    try:
        again.wait_ready()
        with httpx.Client(base_url=again.url, timeout=15) as http:
            after = http.get(f"/v1/centres/{TOWN}/cases", headers=bearer("town")).json()["cases"]
            assert [c["case_id"] for c in after] == [c["case_id"] for c in before]
            assert http.get(f"/v1/cases/{case_id}", headers=bearer("village")).status_code == 200
    finally:
        again.stop()
    rebuilt = ApiProcess(deployment, name="api").start("--rebuild").wait_ready()
    try:
        with httpx.Client(base_url=rebuilt.url, timeout=15) as http:
            after = http.get(f"/v1/centres/{TOWN}/cases", headers=bearer("town")).json()["cases"]
            assert [(c["case_id"], c["state"]) for c in after] == [
                (c["case_id"], c["state"]) for c in before
            ]
    finally:
        rebuilt.stop()
