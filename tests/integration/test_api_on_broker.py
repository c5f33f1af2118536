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


def report(http: httpx.Client, event_id: str, lat: float = 29.55) -> str:
    """POST one event and wait until the worker's case for it is in the read model."""
    event = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": lat, "lon": 106.57},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
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
