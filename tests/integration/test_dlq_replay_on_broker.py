"""``gridflow dlq``: a report refused for an unknown region becomes a case once the division
file knows the region and the refused record is replayed — once, however often asked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from cli_runner import gridflow
from harness import Collector, Deployment, WorkerProcess

from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN

pytestmark = pytest.mark.integration

TOWN = "500103001000"  # 七星岗街道, 渝中区
NEW_VILLAGE = "500103001099"  # not in the 2023 tree: a community founded since
DIVISIONS = BUNDLED_RULES / DIVISIONS_FILE


def report(event_id: str) -> str:
    doc = {
        "event_id": event_id,
        "source_network": "zongzhi",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": NEW_VILLAGE,
        "title": "新建小区门口井盖缺失",
        "category": "SJ0102",
    }
    return orjson.dumps(doc).decode() + "\n"


@pytest.fixture(scope="module")
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("replay")
    divisions = tmp / "divisions.csv"
    shutil.copyfile(DIVISIONS, divisions)
    dep = Deployment(kafka_bootstrap, tmp, extra_env={"GRIDFLOW_DIVISIONS": str(divisions)})
    dep.create_topics()
    yield dep


def divisions_of(deployment: Deployment) -> Path:
    return Path(deployment.extra_env["GRIDFLOW_DIVISIONS"])


def test_a_refused_report_is_replayed_once_after_the_division_file_gains_its_region(
    deployment: Deployment,
) -> None:
    assert NEW_VILLAGE not in divisions_of(deployment).read_text(encoding="utf-8")
    worker = WorkerProcess(deployment, "before").start().wait_ready()
    dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
    try:
        sent = gridflow(deployment, "send", EVENTS_IN, stdin=report("new-1"))
        assert sent.code == 0, sent.err
        dlq.wait_for(lambda rs: any(r["reason"] == "unknown_region" for r in rs), 30, "the refusal")
    finally:
        dlq.close()
        worker.stop()

    listed = gridflow(deployment, "dlq", "list", "--json")
    assert listed.code == 0, listed.err
    counts = orjson.loads(listed.out)
    assert counts["by_reason"] == {"unknown_region": 1}
    assert counts["by_network"] == {"zongzhi": 1}
    assert counts["by_source_topic"] == {deployment.topic(EVENTS_IN): 1}

    shown = gridflow(deployment, "dlq", "show", "--reason", "unknown_region")
    assert shown.code == 0, shown.err
    assert "区划代码不在区划表中" in shown.out and "new-1" in shown.out

    dry = gridflow(deployment, "dlq", "replay", "--reason", "unknown_region", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    (planned,) = dry.json_lines()
    assert planned["status"] == "would_replay"
    assert planned["target"] == deployment.topic(EVENTS_IN)
    assert planned["key"] == NEW_VILLAGE

    unconfirmed = gridflow(deployment, "dlq", "replay", "--reason", "unknown_region")
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.err

    # The division office publishes the new community: the workers load the new file.
    with divisions_of(deployment).open("a", encoding="utf-8") as f:
        f.write(f"{NEW_VILLAGE},新城社区居民委员会,village,{TOWN}\r\n")
    worker = WorkerProcess(deployment, "after").start().wait_ready()
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        replay = gridflow(deployment, "dlq", "replay", "--reason", "unknown_region", "--yes")
        assert replay.code == 0, replay.err
        assert "已重放" in replay.out
        records = out.wait_for(
            lambda rs: any("new-1" in r["events"] for r in rs), 30, "the replayed report's case"
        )
        (dispatch,) = [r for r in records if "new-1" in r["events"]]
        assert dispatch["action"] == "dispatch" and dispatch["center_code"] == NEW_VILLAGE

        again = gridflow(deployment, "dlq", "replay", "--all", "--yes", "--json")
        assert again.code == 0, again.err
        assert [row["status"] for row in again.json_lines()] == ["already_replayed"]

        tail = gridflow(deployment, "tail", EVENTS_IN, "--from-beginning", "--no-follow", "--json")
        docs = tail.json_lines()
        assert [d["value"]["event_id"] for d in docs] == ["new-1", "new-1"]
        original, replayed = docs
        assert original["headers"] == {}
        assert replayed["headers"]["gridflow-replay-of"].startswith(deployment.topic(DLQ) + "/")
        assert replayed["key"] == original["key"] == NEW_VILLAGE

        case = gridflow(deployment, "case", dispatch["case_id"])
        assert case.code == 0, case.err
        assert "新城社区居民委员会" in case.out and "立案派遣" in case.out
    finally:
        out.close()
        worker.stop()


def test_replay_without_a_selection_is_refused(deployment: Deployment) -> None:
    result = gridflow(deployment, "dlq", "replay", "--yes")
    assert result.code == 2 and "--all" in result.err
