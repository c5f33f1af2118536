"""``gridflow send``, ``tail`` and ``case`` against a live worker on a real broker.

The commands read without a consumer group, so the worker's processing is never touched:
each test also checks the worker goes on as before.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import orjson
import pytest
from cli_runner import gridflow
from harness import ROOT, Collector, Deployment, WorkerProcess, wait_until

from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK, METRICS

pytestmark = pytest.mark.integration

VILLAGE = "500103001003"  # 华一坡社区, 七星岗街道, 渝中区 (bundled tree)
#: ~10 km from the case the tail and case tests follow: the send and tail tests' reports
#: must not merge into it (five reports raise its priority and the town takes it over),
#: and merges reach across village lines (docs/cross-village.md).
ELSEWHERE = {"lat": 29.6, "lon": 106.5}


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


def feedback(case_id: str, action: str, center: str = VILLAGE) -> dict[str, object]:
    return {
        "feedback_id": f"{case_id}:{action}:{center}",
        "case_id": case_id,
        "center_code": center,
        "action": action,
        "at": datetime.now(UTC).isoformat(),
    }


def lines(*docs: dict[str, object]) -> str:
    return "\n".join(orjson.dumps(d).decode() for d in docs) + "\n"


@pytest.fixture(scope="module")
def case_id(deployment: Deployment, worker: WorkerProcess) -> str:
    """A case opened through ``gridflow send``, accepted, and one refused feedback."""
    sent = gridflow(deployment, "send", EVENTS_IN, "--json", stdin=lines(event("oc-1")))
    assert sent.code == 0, sent.err
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    try:
        records = out.wait_for(
            lambda rs: any("oc-1" in r["events"] for r in rs), 30, "the dispatch of oc-1"
        )
        case = str(next(r["case_id"] for r in records if "oc-1" in r["events"]))
        town = "500103001000"  # a real centre, but not the one holding the case
        fb = gridflow(
            deployment,
            "send",
            FEEDBACK,
            stdin=lines(feedback(case, "accept"), feedback(case, "close", town)),
        )
        assert fb.code == 0, fb.err
        out.wait_for(
            lambda rs: any(r["case_id"] == case and r.get("state") == "accepted" for r in rs),
            30,
            "the accept",
        )
    finally:
        out.close()
    dlq = Collector(deployment.bootstrap, deployment.topic(DLQ))
    try:
        dlq.wait_for(lambda rs: any(case in r["original"] for r in rs), 30, "the refused close")
    finally:
        dlq.close()
    return case


# -- send -------------------------------------------------------------------------------------


def test_send_writes_each_record_keyed_by_its_region_and_says_where(
    deployment: Deployment,
) -> None:
    result = gridflow(
        deployment,
        "send",
        EVENTS_IN,
        "--json",
        stdin=orjson.dumps(
            [
                event("s-1", location=ELSEWHERE),
                event("s-2", region_code="500103001006", location=ELSEWHERE),
            ]
        ).decode(),
    )
    assert result.code == 0, result.err
    written = result.json_lines()
    assert [w["id"] for w in written] == ["s-1", "s-2"]
    assert [w["key"] for w in written] == [VILLAGE, "500103001006"]
    assert all(w["topic"] == deployment.topic(EVENTS_IN) for w in written)
    assert all(w["offset"] >= 0 and w["partition"] >= 0 for w in written)


def test_send_validates_every_record_first_and_sends_none_when_one_is_bad(
    deployment: Deployment,
) -> None:
    bad = event("s-bad")
    del bad["reported_at"]
    result = gridflow(deployment, "send", EVENTS_IN, stdin=lines(event("s-ok-but-not-sent"), bad))
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert "stdin:2" in result.err and "reported_at" in result.err
    tail = gridflow(deployment, "tail", EVENTS_IN, "--from-beginning", "--no-follow", "--json")
    assert "s-ok-but-not-sent" not in tail.out


def test_send_to_an_output_topic_needs_raw(deployment: Deployment) -> None:
    result = gridflow(deployment, "send", DISPOSITIONS, stdin='{"a": 1}\n')
    assert result.code == 2 and "--raw" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "grid.nope"), "unknown topic"),
        (("tail", "grid.nope"), "unknown topic"),
        (("case", "not-a-case"), "not a gridflow case id"),
        (("case", "500103001003-000000000000"), "not found"),
        (("tail", DISPOSITIONS, "--since", "10 minutes"), "bad duration"),
    ],
)
def test_mistakes_are_one_line_on_stderr_and_exit_2(
    deployment: Deployment, args: tuple[str, ...], message: str
) -> None:
    result = gridflow(deployment, *args, stdin="{}\n")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and message in result.err
    assert "Traceback" not in result.err


def test_a_topic_missing_on_the_broker_is_one_line_and_exit_2(deployment: Deployment) -> None:
    result = gridflow(deployment, "tail", METRICS, GRIDFLOW_TOPIC_PREFIX="elsewhere.")
    assert result.code == 2
    assert result.err.strip() == (
        f"gridflow tail: topic elsewhere.grid.metrics does not exist on {deployment.bootstrap} "
        "(create it with: gridflow topics create)"
    )


def test_an_unreachable_broker_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gridflow", "tail", DISPOSITIONS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "GRIDFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Kafka" in result.stderr


# -- tail -------------------------------------------------------------------------------------


def test_tail_prints_a_cases_dispositions_in_the_centres_words(
    deployment: Deployment, case_id: str
) -> None:
    result = gridflow(
        deployment,
        "tail",
        DISPOSITIONS,
        "--from-beginning",
        "--no-follow",
        "--case",
        case_id,
    )
    assert result.code == 0, result.err
    shown = result.out.splitlines()
    assert shown and all(case_id in line for line in shown)
    assert "立案派遣" in shown[0] and "村/社区" in shown[0]
    assert any("  受理  " in line and "已受理，处置中" in line for line in shown[1:])


def test_tail_filters_by_action_and_region_subtree_as_json(
    deployment: Deployment, case_id: str
) -> None:
    town = "500103001000"  # the village's town: --region keeps its subtree
    result = gridflow(
        deployment,
        "tail",
        DISPOSITIONS,
        "--from-beginning",
        "--no-follow",
        "--json",
        "--region",
        town,
        "--action",
        "dispatch",
    )
    assert result.code == 0, result.err
    docs = result.json_lines()
    assert docs and all(d["value"]["action"] == "dispatch" for d in docs)
    assert case_id in {d["value"]["case_id"] for d in docs}
    other = gridflow(
        deployment,
        "tail",
        DISPOSITIONS,
        "--from-beginning",
        "--no-follow",
        "--region",
        "500101000000",  # another county
    )
    assert other.code == 0 and other.out == ""


def test_tail_follows_from_the_end_without_joining_the_workers_group(
    deployment: Deployment, case_id: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridflow", "tail", EVENTS_IN, "--json", "--count", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=deployment.env(),
    )
    try:
        n = 0

        def arrived() -> bool:
            # The tail starts at the end as it is when it has assigned its partitions:
            # keep reporting until one report reaches it.
            nonlocal n
            n += 1
            # Elsewhere: one report a second until the tail has its partitions (more on a
            # loaded machine) would otherwise merge into the followed case.
            report = event(f"t-{n}", location=ELSEWHERE)
            sent = gridflow(deployment, "send", EVENTS_IN, stdin=lines(report))
            assert sent.code == 0, sent.err
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                return False
            return True

        wait_until(arrived, 60, "the tail to print a new record")
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        (doc,) = [orjson.loads(line) for line in out.splitlines()]
        assert doc["value"]["event_id"].startswith("t-")
        assert doc["value"]["event_id"] != "t-0"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- case -------------------------------------------------------------------------------------


def test_case_shows_state_holder_and_timeline_with_refused_feedback(
    deployment: Deployment, case_id: str
) -> None:
    result = gridflow(deployment, "case", case_id)
    assert result.code == 0, result.err
    out = result.out
    assert case_id in out and "已受理，处置中" in out
    assert "华一坡社区居民委员会" in out, out  # the centre's name from the division tree
    for step in ("立案派遣", "受理", "反馈被拒：结案", "案件当前状态不允许此操作"):
        assert step in out, out


def test_case_as_json_lists_the_steps_in_order(deployment: Deployment, case_id: str) -> None:
    result = gridflow(deployment, "case", case_id, "--json")
    assert result.code == 0, result.err
    doc = orjson.loads(result.out)
    assert doc["state"] == "accepted"
    assert doc["holder"] == {"tier": "village", "center_code": VILLAGE}
    # Only its own report: another test's report merging in would, at five reports,
    # raise the priority (危害大小) and hand the case to the town (docs/routing-rules.md).
    assert doc["events"] == ["oc-1"]
    codes = [s["code"] for s in doc["timeline"]]
    assert codes[0] == "dispatch" and "state" in codes and "dlq:invalid_transition" in codes
    times = [s["at"] for s in doc["timeline"]]
    assert times == sorted(times)
