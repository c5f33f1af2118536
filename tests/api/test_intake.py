"""``POST /v1/events``: the worker's validation, synchronously, before anything is produced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from api_world import OTHER_COUNTY_VILLAGE, VILLAGE, Api, auth


@pytest.fixture
def database_kind() -> str:
    """The HTTP layer's rules do not depend on the database: SQLite only (the queries are
    tested on both in test_projection.py and test_cases_feedback.py)."""
    return "sqlite"


def ev(event_id: str, region: str = VILLAGE, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": region,
        "title": "井盖缺失",
    }
    doc.update(extra)
    return doc


async def post(api: Api, body: Any, secret: str = "t-app", **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return await api.client.post(
        "/v1/events",
        content=raw,
        headers={"Content-Type": "application/json", **auth(secret), **headers},
    )


async def test_one_event_is_produced_keyed_by_region_and_answered_202(api: Api) -> None:
    r = await post(api, ev("a1"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == ["a1"] and body["refused"] == []
    assert "harmless" in body["note"]
    ((topic, key, value),) = api.sink.records
    assert topic == api.ctx.events_topic and key == VILLAGE.encode()
    assert orjson.loads(value)["event_id"] == "a1"


async def test_a_batch_answers_per_element(api: Api) -> None:
    batch = [
        ev("b1"),
        ev("b2", region="500103001999"),  # no such village
        ev("b3", source_network="nosuchnet"),
        ev("b4", reported_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()),
        {"event_id": "b5"},
        ev("b6", descripton="typo"),
        ev("b7", region=OTHER_COUNTY_VILLAGE),
        "not an object",
    ]
    r = await post(api, batch)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == ["b1"]
    reasons = {x["index"]: (x["event_id"], x["reason"]) for x in body["refused"]}
    assert reasons == {
        1: ("b2", "unknown_region"),
        2: ("b3", "unknown_network"),
        3: ("b4", "future_timestamp"),
        4: ("b5", "schema"),
        5: ("b6", "unknown_field"),
        6: ("b7", "forbidden_region"),
        7: (None, "schema"),
    }
    assert [orjson.loads(v)["event_id"] for _, _, v in api.sink.records] == ["b1"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b'{"event_id": ', {}, 400, "invalid_json"),
        (b"\xff\xfe", {}, 400, "not_utf8"),
        (orjson.dumps(ev("x")), {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"x" * (65 * 1024), {}, 413, "too_large"),
        (orjson.dumps([ev(f"m{i}") for i in range(11)]), {}, 413, "batch_too_large"),
        (orjson.dumps({"event_id": "s1"}), {}, 422, "all_refused"),
        (orjson.dumps(ev("s2", region=OTHER_COUNTY_VILLAGE)), {}, 403, "forbidden_region"),
        (orjson.dumps(ev("s3", extra_field=1)), {}, 422, "all_refused"),
    ],
    ids=[
        "malformed",
        "not-utf8",
        "content-type",
        "oversize",
        "batch",
        "schema",
        "region",
        "unknown-field",
    ],
)
async def test_bad_bodies_get_a_4xx_with_a_reason_and_nothing_is_produced(
    api: Api, body: bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    r = await post(api, body, **headers)
    assert r.status_code == status, r.text
    assert r.json()["reason"] == reason
    assert api.sink.records == []


async def test_personal_data_is_never_echoed_in_refusals(api: Api) -> None:
    bad = ev("p1", reporter={"id": "r", "role": "citizen", "phone": "13812345678", "x": 1})
    r = await post(api, bad)
    assert r.status_code == 422
    assert "13812345678" not in r.text


def test_accepted_events_travel_as_one_array_per_partition_within_the_workers_limits() -> None:
    from gridflow.api.intake import pack
    from gridflow.core.ingest import IngestLimits
    from gridflow.runtime.partitioning import partition_for

    regions = ["500103001003", "500103001006", "500104001001", "500101001001"]
    records = [
        (regions[i % 4].encode(), orjson.dumps({"event_id": f"p{i}", "pad": "x" * 300}))
        for i in range(100)
    ]
    limits = IngestLimits(max_record_bytes=4096, max_batch=7)
    packed = pack(records, 4, limits)
    seen = []
    for key, value in packed:
        assert len(value) <= limits.max_record_bytes
        doc = orjson.loads(value)
        docs = doc if isinstance(doc, list) else [doc]
        assert len(docs) <= limits.max_batch
        seen += [d["event_id"] for d in docs]
        home = partition_for(key.decode(), 4)
        assert all(partition_for(regions[int(d["event_id"][1:]) % 4], 4) == home for d in docs)
    assert sorted(seen) == sorted(f"p{i}" for i in range(100))
    assert len(packed) < len(records)
    (lone,) = pack(records[:1], 4, limits)
    assert orjson.loads(lone[1])["event_id"] == "p0"
