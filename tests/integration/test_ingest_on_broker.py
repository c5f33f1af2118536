"""The grid-event loop on a real broker: events in, cases and dispositions out, bad input to the DLQ."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"  # 渝中区 七星岗街道 (a real code from the bundled tree)


def event(event_id: str, **overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": 29.556, "lon": 106.571},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    doc.update(overrides)
    return doc


def encode(doc: object) -> bytes:
    return orjson.dumps(doc)


def test_valid_event_becomes_one_dispatch_keyed_by_centre(
    deployment: Deployment, worker: WorkerProcess
) -> None:
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [(VILLAGE.encode(), encode(event("ok-1")))],
    )
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        records = out.wait_for(
            lambda rs: any("ok-1" in r["events"] for r in rs), 30, "the dispatch of ok-1"
        )
        mine = [r for r in records if "ok-1" in r["events"]]
        dispatch = [r for r in mine if r["action"] == "dispatch"]
        assert len(dispatch) == 1
        d = dispatch[0]
        assert d["tier"] == "village" and d["center_code"] == VILLAGE
        assert d["category"] == "SJ0102" and d["deadline"] and d["rule"]
        assert out.keys[records.index(d)] == d["center_code"].encode()
    finally:
        out.close()


def test_each_bad_input_reaches_the_dlq_with_its_reason_while_good_events_flow(
    deployment: Deployment, worker: WorkerProcess
) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    bad: list[tuple[str, bytes]] = [
        ("invalid_json", b"{not json"),
        ("not_utf8", b"\xff\xfe\x00garbage"),
        ("schema", encode({"event_id": "x"})),
        ("schema", encode(event("naive", reported_at="2026-01-01T10:00:00"))),
        ("unknown_region", encode(event("nowhere", region_code="500103999999"))),
        ("unknown_network", encode(event("who", source_network="martians"))),
        ("future_timestamp", encode(event("later", reported_at=future))),
        ("too_large", encode(event("big", description="长" * 200_000))),
    ]
    records = [(b"k", value) for _, value in bad] + [(VILLAGE.encode(), encode(event("ok-2")))]
    produce_sync(deployment.bootstrap, deployment.topic(EVENTS_IN), records)
    dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        rejected = dlq.wait_for(lambda rs: len(rs) >= len(bad), 30, "every bad record in the DLQ")
        assert sorted(r["reason"] for r in rejected) == sorted(reason for reason, _ in bad)
        not_utf8 = next(r for r in rejected if r["reason"] == "not_utf8")
        assert not_utf8["original_base64"] is True
        assert base64.b64decode(not_utf8["original"]) == b"\xff\xfe\x00garbage"
        assert all(r["source_topic"] == deployment.topic(EVENTS_IN) for r in rejected)
        out.wait_for(
            lambda rs: any("ok-2" in r["events"] for r in rs),
            30,
            "the good event after the bad ones",
        )
    finally:
        dlq.close()
        out.close()


def test_a_resent_event_id_creates_nothing(deployment: Deployment, worker: WorkerProcess) -> None:
    before = worker.metric("gridflow_duplicates_total", kind="event")
    doc = encode(event("resend-1", location={"lat": 29.4, "lon": 106.4}))
    produce_sync(deployment.bootstrap, deployment.topic(EVENTS_IN), [(VILLAGE.encode(), doc)] * 3)
    wait_until(
        lambda: worker.metric("gridflow_duplicates_total", kind="event") >= before + 2,
        30,
        "two counted no-ops",
    )
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        records = out.wait_for(
            lambda rs: any("resend-1" in r["events"] for r in rs), 30, "the dispatch"
        )
        assert len([r for r in records if r["events"] == ["resend-1"]]) == 1
    finally:
        out.close()


def test_batch_record_is_validated_event_by_event(
    deployment: Deployment, worker: WorkerProcess
) -> None:
    batch = [
        event("batch-1", location={"lat": 29.6, "lon": 106.6}),
        {"event_id": "broken"},
        event("batch-2", location={"lat": 29.5, "lon": 106.5}, title="路灯不亮", category="SJ0104"),
    ]
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [(VILLAGE.encode(), encode(batch))],
    )
    dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        rejected = dlq.wait_for(
            lambda rs: any(r.get("batch_index") == 1 for r in rs), 30, "the broken element"
        )
        broken = next(r for r in rejected if r.get("batch_index") == 1)
        assert broken["reason"] == "schema" and orjson.loads(broken["original"]) == {
            "event_id": "broken"
        }
        out.wait_for(
            lambda rs: {"batch-1", "batch-2"} <= {e for r in rs for e in r["events"]},
            30,
            "both valid elements",
        )
    finally:
        dlq.close()
        out.close()


def test_restarted_worker_does_not_reprocess_committed_input(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    deployment = Deployment(kafka_bootstrap, tmp_path)
    deployment.create_topics()
    w = WorkerProcess(deployment, name="restart").start().wait_ready()
    try:
        produce_sync(
            deployment.bootstrap,
            deployment.topic(EVENTS_IN),
            [(VILLAGE.encode(), encode(event("restart-1", location={"lat": 29.7, "lon": 106.7})))],
        )
        out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
        out.wait_for(lambda rs: any("restart-1" in r["events"] for r in rs), 30, "the dispatch")
        assert w.terminate() == 0
        w2 = WorkerProcess(deployment, name="restart2").start().wait_ready()
        try:
            produce_sync(
                deployment.bootstrap,
                deployment.topic(EVENTS_IN),
                [
                    (
                        VILLAGE.encode(),
                        encode(event("restart-2", location={"lat": 29.71, "lon": 106.75})),
                    )
                ],
            )
            out.wait_for(
                lambda rs: any("restart-2" in r["events"] for r in rs), 30, "the next dispatch"
            )
            assert w2.metric("gridflow_events_in_total") == 1, "only the new event was read"
        finally:
            w2.stop()
        out.close()
    finally:
        w.stop()
