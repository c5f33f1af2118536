"""Silences and inhibition on a real broker, end to end through the CLI and one worker.

A silence created with ``gridflow silence add`` puts matching reports, from any village
it covers, into one known-matter case held by its centre (counted per silence) while
other reports open cases as usual; once expired, matching reports open cases again. An
open fire inhibits a parked-cars report nearby: in its own village the report attaches
to the fire's case and has no case of its own; in a neighbouring village of the town the
town stage absorbs the report's case into the fire's. The KPI records count silenced and
inhibited reports in ``events_in``, the same sums whichever of two workers took them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from broker_under_test import BrokerUnderTest
from cli_runner import gridflow
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.core.silences import SILENCE_LEAD_S
from gridflow.topics import DISPOSITIONS, EVENTS_IN, METRICS

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"
#: another village (社区) of the same town (七星岗街道)
NEIGHBOUR = "500103001006"
TOWN = "500103001000"
SITE = (29.5560, 106.5710)
FIRE = (29.5000, 106.5000)


def event(
    event_id: str, category: str, where: tuple[float, float], **kw: Any
) -> tuple[bytes, bytes]:
    doc: dict[str, Any] = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": where[0], "lon": where[1]},
        "title": "现场情况",
        "category": category,
    }
    doc.update(kw)
    return str(doc["region_code"]).encode(), orjson.dumps(doc)


@pytest.fixture(scope="module")
def dispositions(deployment: Deployment) -> Iterator[Collector]:
    c = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    yield c
    c.close()


def in_force_after(written_by: float) -> None:
    """Wait (polling the clock) until a silence written before ``written_by`` is in force
    for records appended from now on."""
    wait_until(lambda: time.time() > written_by + SILENCE_LEAD_S + 0.2, 10, "the silence lead")


def with_event(records: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return [r for r in records if event_id in r["events"]]


def test_a_silence_gathers_matching_reports_into_one_known_matter_case(
    deployment: Deployment, worker: WorkerProcess, dispositions: Collector
) -> None:
    added = gridflow(
        deployment,
        "silence", "add", "--id", "metro-18", "--centre", TOWN, "--kind", "construction",
        "--category", "SJ03", "--near", f"{SITE[0]},{SITE[1]},300", "--for", "1d",
        "--author", "张三", "--comment", "地铁 18 号线施工许可 2026-118",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert "已新建屏蔽 metro-18" in added.out
    in_force_after(time.time())
    table = gridflow(deployment, "silence", "list")
    assert table.code == 0 and "metro-18" in table.out and "生效中" in table.out, table.err
    listed = gridflow(deployment, "silence", "list", "--json")
    assert listed.code == 0, listed.err
    assert [(s["silence_id"], s["state"]) for s in orjson.loads(listed.out)] == [
        ("metro-18", "active")
    ]
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [
            event("noise-1", "SJ0301", SITE, title="工地夜间施工噪音"),
            # Another village of the town: the same known-matter case (issue 16).
            event(
                "noise-2",
                "SJ0302",
                (SITE[0], SITE[1] + 0.001),
                source_network="12345",
                region_code=NEIGHBOUR,
            ),
            event("trash-1", "SJ0102", SITE, title="垃圾堆积"),  # not silenced
        ],
    )
    records = dispositions.wait_for(
        lambda rs: (
            all(with_event(rs, e) for e in ("noise-1", "noise-2", "trash-1"))
            and any(r["action"] == "merge" for r in with_event(rs, "noise-2"))
        ),
        30,
        "3 reports decided",
    )
    # Both villages' reports reach the centre's row, in either order: one opens the
    # known-matter case, the other joins it.
    noise = with_event(records, "noise-2")
    (opened,) = [
        r for r in records if r["action"] == "dispatch" and "metro-18" in r.get("reason", "")
    ]
    assert opened["center_code"] == TOWN and opened.get("deadline") is None
    assert opened["case_id"].startswith(TOWN), "held in its centre's row"
    assert "metro-18" in opened["reason"] and "施工许可" in opened["reason"]
    (joined,) = [r for r in noise if r["action"] == "merge"]
    assert joined["case_id"] == opened["case_id"] and sorted(joined["events"]) == [
        "noise-1",
        "noise-2",
    ]
    assert "metro-18" in joined["reason"]
    trash = [r for r in with_event(records, "trash-1") if r["action"] == "dispatch"]
    assert len(trash) == 1 and trash[0]["case_id"] != opened["case_id"]
    assert trash[0]["center_code"] == VILLAGE
    wait_until(
        lambda: worker.metric("gridflow_silenced_reports_total", silence="metro-18") == 2,
        10,
        "2 silenced reports counted",
    )

    # Expired: from the lead on, matching reports open cases of their own again.
    ended = gridflow(deployment, "silence", "expire", "metro-18", "--author", "张三",
                     "--comment", "施工已完成")  # fmt: skip
    assert ended.code == 0, ended.err
    in_force_after(time.time())
    produce_sync(
        deployment.bootstrap, deployment.topic(EVENTS_IN), [event("noise-3", "SJ0301", SITE)]
    )
    records = dispositions.wait_for(lambda rs: bool(with_event(rs, "noise-3")), 30, "noise-3")
    (after,) = with_event(records, "noise-3")
    assert after["action"] == "dispatch" and after["case_id"] != opened["case_id"]
    assert "metro-18" not in (after.get("reason") or "")
    gone = gridflow(deployment, "silence", "expire", "metro-18")
    assert gone.code == 2 and gone.err.count("\n") == 1 and "silence_expired" in gone.err


def test_an_open_fire_inhibits_a_compatible_report_nearby(
    deployment: Deployment, worker: WorkerProcess, dispositions: Collector
) -> None:
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [event("fire-1", "SJ0401", FIRE, title="居民楼起火", source_network="yingji")],
    )
    records = dispositions.wait_for(lambda rs: bool(with_event(rs, "fire-1")), 30, "the fire")
    fire_case = with_event(records, "fire-1")[0]["case_id"]
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [event("cars-1", "SJ0504", (FIRE[0], FIRE[1] + 0.002), title="消防车旁车辆乱停")],
    )
    records = dispositions.wait_for(lambda rs: bool(with_event(rs, "cars-1")), 30, "cars-1")
    steps = with_event(records, "cars-1")
    assert {r["case_id"] for r in steps} == {fire_case}, "attached, no case of its own"
    (attached,) = [r for r in steps if r["action"] == "merge"]
    assert "inhibited" in attached["reason"] and "火灾现场" in attached["reason"]
    assert not [r for r in steps if r["action"] == "escalate"]
    wait_until(
        lambda: worker.metric("gridflow_inhibited_reports_total", rule="火灾现场") == 1,
        10,
        "1 inhibited report counted",
    )

    # Across the village line (issue 16): the neighbour's report opens a case there,
    # which the town stage absorbs into the fire's case under the same rule.
    produce_sync(
        deployment.bootstrap,
        deployment.topic(EVENTS_IN),
        [
            event(
                "cars-2",
                "SJ0504",
                (FIRE[0] + 0.002, FIRE[1]),
                title="消防车通道被占",
                region_code=NEIGHBOUR,
            )
        ],
    )
    records = dispositions.wait_for(
        lambda rs: any(r["case_id"] == fire_case for r in with_event(rs, "cars-2")),
        60,
        "cars-2 attached to the fire",
    )
    steps = with_event(records, "cars-2")
    (absorbed,) = [r for r in steps if r.get("merged_into") == fire_case]
    assert absorbed["state"] == "merged" and "抑制" in absorbed["reason"]
    (attached,) = [r for r in steps if r["case_id"] == fire_case and r["action"] == "merge"]
    assert "火灾现场" in attached["reason"] and NEIGHBOUR in attached["villages"]
    assert not [r for r in steps if r["action"] == "escalate"]
    wait_until(
        lambda: worker.metric("gridflow_inhibited_reports_total", rule="火灾现场") == 2,
        10,
        "2 inhibited reports counted",
    )


def test_kpis_count_silenced_and_inhibited_reports_in_events_in_across_workers(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """Issue 16: counted, not lost. Reports of three villages under one town silence go
    to the centre's row, wherever their villages' partitions are; summed over both
    workers' KPI records, every report is in ``events_in`` exactly once."""
    dep = Deployment(broker.bootstrap, tmp_path)
    dep.create_topics()
    workers = [WorkerProcess(dep, name=f"w{i}") for i in (1, 2)]
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    kpis = Collector(dep.bootstrap, dep.topic(METRICS))
    try:
        # One after the other, as the other two-worker tests do: started together, the
        # second join landed in the first's table recovery and Faust's recovery once
        # waited past the deadline on Apache Kafka ("No event received for active tp").
        for w in workers:
            w.start().wait_ready(timeout=120)
        added = gridflow(
            dep,
            "silence", "add", "--id", "works-kpi", "--centre", TOWN, "--kind", "construction",
            "--category", "SJ03", "--for", "1d", "--author", "张三", "--comment", "管网改造",
        )  # fmt: skip
        assert added.code == 0, added.err
        in_force_after(time.time())
        silenced = [
            event(f"works-{v}", "SJ0301", SITE, region_code=v)
            for v in (VILLAGE, NEIGHBOUR, "500103001011")
        ]
        produce_sync(
            dep.bootstrap, dep.topic(EVENTS_IN), [*silenced, event("fire-k", "SJ0401", FIRE)]
        )
        out.wait_for(lambda rs: bool(with_event(rs, "fire-k")), 120, "the fire's case")
        produce_sync(
            dep.bootstrap,
            dep.topic(EVENTS_IN),
            [
                event("cars-k", "SJ0504", (FIRE[0], FIRE[1] + 0.002)),
                event("trash-k", "SJ0102", SITE),
            ],
        )
        every = ["works-" + v for v in (VILLAGE, NEIGHBOUR, "500103001011")]
        every += ["fire-k", "cars-k", "trash-k"]
        records = out.wait_for(
            lambda rs: (
                all(with_event(rs, e) for e in every)
                and len({r["case_id"] for r in rs if "works-kpi" in r.get("reason", "")}) == 1
                and sum(r["action"] == "merge" and "works-kpi" in r.get("reason", "") for r in rs)
                == 2
            ),
            # Two workers on Apache Kafka under a loaded CI run once needed more than 60 s
            # (session 20, acfd2cd); a deadline, not a wait: a pass returns at once.
            120,
            "every report decided",
            # Timed out once more in session 25's second CI (on Apache Kafka): say which
            # reports were still undecided and what each worker logged.
            explain=lambda: "\n".join(
                [f"undecided: {[e for e in every if not with_event(out.records, e)]}"]
                + [w.explain("gridflow_assigned_partitions", lines=60) for w in workers]
            ),
        )
        assert len([r for r in records if "works-kpi" in r.get("reason", "")]) == 3
        # A clean stop publishes the open windows (partial records; consumers sum them).
        for w in workers:
            assert w.terminate(timeout=60) == 0, w.log_tail()

        def hourly(records: list[dict[str, Any]]) -> dict[str, int]:
            hours = [r for r in records if r["window"] == "1h"]
            names = ("events_in", "cases_opened", "silenced", "inhibited")
            return {n: sum(int(r.get(n, 0)) for r in hours) for n in names}

        expected = {"events_in": 6, "cases_opened": 2, "silenced": 3, "inhibited": 1}
        kpis.wait_for(lambda rs: hourly(rs) == expected, 60, f"KPI sums {expected}")
    finally:
        kpis.close()
        out.close()
        for w in workers:
            w.stop()
