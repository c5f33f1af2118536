"""Merges across village lines on a real broker (both kinds): one incident, one case.

Two neighbouring communities of 七星岗街道 report the same heap of rubbish 55 m apart; the
worker's town stage absorbs the second case into the first, the command centre sees one
case listing both villages. Re-sent reports and a worker SIGKILLed in the middle change
nothing: one absorb, one join, under the same ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.topics import DISPOSITIONS, EVENTS_IN

pytestmark = pytest.mark.integration

V1, V2 = "500103001003", "500103001006"


def event(event_id: str, region: str, lat: float) -> tuple[bytes, bytes]:
    return region.encode(), orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "zongzhi",
            "reported_at": datetime.now(UTC).isoformat(),
            "region_code": region,
            "location": {"lat": lat, "lon": 106.5710},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


@pytest.fixture()
def dispositions(deployment: Deployment) -> Iterator[Collector]:
    c = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    yield c
    c.close()


def _merged(records: list[dict[str, object]], event_id: str) -> bool:
    return any(r.get("merged_cases") and event_id in r["events"] for r in records)


def test_one_incident_under_two_villages_is_one_case_listing_both(
    deployment: Deployment, worker: WorkerProcess, dispositions: Collector
) -> None:
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [event("x-1", V1, 29.5560), event("x-2", V2, 29.5565)],
    )
    records = dispositions.wait_for(lambda rs: _merged(rs, "x-2"), 60, "the cross-village merge")
    join = next(r for r in records if r.get("merged_cases"))
    absorbed = next(r for r in records if r.get("merged_into"))
    # Whichever village's case the town stage saw first survives (the partitions race).
    survivor, other = str(join["case_id"])[:12], str(absorbed["case_id"])[:12]
    assert {survivor, other} == {V1, V2}
    assert join["villages"] == [survivor, other] and sorted(join["events"]) == ["x-1", "x-2"]
    assert absorbed["state"] == "merged" and absorbed["merged_into"] == join["case_id"]
    assert absorbed["center_code"] == other and join["center_code"] == survivor
    assert worker.metric("gridflow_cases_merged_across_villages_total") == 1


def test_far_apart_reports_stay_two_cases(
    deployment: Deployment, worker: WorkerProcess, dispositions: Collector
) -> None:
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [event("y-1", V1, 29.5000), event("y-2", V2, 29.5100)],  # 1.1 km
    )
    records = dispositions.wait_for(
        lambda rs: {"y-1", "y-2"} <= {e for r in rs for e in r["events"]}, 60, "both dispatches"
    )
    # A near pair after them: once it merged, the town stage has decided on the far one
    # (one town, one partition, read in order).
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [event("w-1", V1, 29.4000), event("w-2", V2, 29.4003)],
    )
    records = dispositions.wait_for(lambda rs: _merged(rs, "w-2"), 60, "the marker merge")
    mine = [r for r in records if {"y-1", "y-2"} & set(r["events"])]
    assert not [r for r in mine if r.get("merged_into") or r.get("merged_cases")]


def test_resent_reports_and_a_sigkill_merge_once(
    deployment: Deployment, worker: WorkerProcess, dispositions: Collector
) -> None:
    reports = [event("z-1", V1, 29.6000), event("z-2", V2, 29.6004)]
    produce_sync(deployment.bootstrap, deployment.topic(EVENTS_IN), reports)
    worker.kill()  # wherever it was: before, between or after the stages
    worker.start().wait_ready()
    produce_sync(deployment.bootstrap, deployment.topic(EVENTS_IN), reports)  # a retry
    records = dispositions.wait_for(lambda rs: _merged(rs, "z-2"), 90, "the merge after restart")
    # A last pair after the retry, to know the worker has read past it.
    produce_sync(deployment.bootstrap, deployment.topic(EVENTS_IN), [event("z-9", V1, 29.7)])
    records = dispositions.wait_for(
        lambda rs: any("z-9" in r["events"] for r in rs), 60, "the marker"
    )
    ids = Counter(
        r["disposition_id"]
        for r in records
        if (r.get("merged_into") or r.get("merged_cases")) and ({"z-1", "z-2"} & set(r["events"]))
    )
    assert len(ids) == 2, ids  # one absorb, one join: re-sent under the same ids at most
    cases = {
        r["case_id"]
        for r in records
        if r["action"] == "dispatch" and {"z-1", "z-2"} & set(r["events"])
    }
    assert len(cases) == 2  # each village opened its case once
