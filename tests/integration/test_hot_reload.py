"""Hot reload on the broker: two running workers switch to a published bundle at the same
instant by event time, a crash right after the switch replays the same decisions, and a
bundle that does not load is refused while the workers keep their rules.

Every report here opens its own case (SJ0102 暴露垃圾, far apart); the new rules move
暴露垃圾 to another department and shorten its accept stage, so each dispatch shows which
rules decided it twice over: its ``rules_version`` and its ``department``.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.core.rules_version import decision_files, rules_version
from gridflow.rules_bundles import build_bundle, publish
from gridflow.runtime.partitioning import partition_for
from gridflow.topics import DISPOSITIONS, EVENTS_IN
from schemas import RulesBundle

pytestmark = pytest.mark.integration

NEW_DEPARTMENT = "环卫集团"
#: Seconds between the publication and the instant it takes effect.
LEAD_S = 10.0


def villages(per_partition: int, partitions: int = 4) -> list[str]:
    """Villages spread evenly over the partitions, so both workers see traffic."""
    with (BUNDLED_RULES / DIVISIONS_FILE).open(encoding="utf-8") as f:
        codes = [r["code"] for r in csv.DictReader(f) if r["level"] == "village"]
    by_partition: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        home = by_partition[partition_for(code, partitions)]
        if len(home) < per_partition:
            home.append(code)
    return [code for group in zip(*by_partition.values(), strict=True) for code in group]


VILLAGES = villages(4)


def december(tmp: Path) -> Path:
    rules = tmp / "december"
    shutil.copytree(BUNDLED_RULES, rules)
    for file, old, new in (
        (
            "catalogue.yaml",
            "SJ0102: {name: 暴露垃圾}",
            f"SJ0102: {{name: 暴露垃圾, department: {NEW_DEPARTMENT}}}",
        ),
        ("policies.yaml", "    accept: 30m         # project default\n", "    accept: 20m\n"),
    ):
        path = rules / file
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


def report(n: int) -> tuple[bytes, bytes]:
    village = VILLAGES[n % len(VILLAGES)]
    doc = {
        "event_id": f"hot-{n}",
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": village,
        # 300 m apart in the same village: never one case.
        "location": {"lat": 29.3 + 0.003 * (n // len(VILLAGES)), "lon": 106.571},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    return village.encode(), orjson.dumps(doc)


@pytest.fixture(scope="module")
def deployment(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    dep = Deployment(
        kafka_bootstrap,
        tmp_path_factory.mktemp("hot_reload"),
        extra_env={"GRIDFLOW_SESSION_TIMEOUT_S": "6"},
    )
    dep.create_topics()
    yield dep


@pytest.fixture(scope="module")
def workers(deployment: Deployment) -> Iterator[list[WorkerProcess]]:
    pair = [WorkerProcess(deployment, name=n).start() for n in ("w1", "w2")]
    try:
        for w in pair:
            w.wait_ready(timeout=120)
        wait_until(
            lambda: all(w.metric("gridflow_assigned_partitions") == 2 for w in pair),
            120,
            "the two workers to own two partitions each",
            interval=0.2,
        )
        yield pair
    finally:
        for w in pair:
            w.stop()


def in_force(worker: WorkerProcess) -> str:
    _status, body = worker.get("/metrics")
    for line in body.decode().splitlines():
        if line.startswith("gridflow_rules_in_force_info{"):
            return line.split('version="')[1].split('"')[0]
    return ""


def test_a_bundle_that_does_not_match_its_version_is_refused_and_the_rules_stay(
    deployment: Deployment, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    base = rules_version(decision_files(BUNDLED_RULES))
    good = build_bundle(
        december(tmp_path),
        None,
        label="tampered",
        note="",
        author="test",
        effective_from=datetime.now(UTC),
        published_at=datetime.now(UTC),
    )
    files = dict(good.files)
    files["routes.yaml"] += "\n# edited after hashing\n"
    asyncio.run(publish(deployment.settings, good.model_copy(update={"files": files})))
    wait_until(
        lambda: all(w.metric("gridflow_rules_reload_failures_total") == 1 for w in workers),
        120,
        "both workers to refuse the bundle",
        interval=0.2,
        # Workers read grid.rules before deciding a batch; an idle worker's batches are
        # the leader's SLA ticks, so a wait that times out says who was sending them.
        explain=lambda: "\n".join(
            w.explain(
                "gridflow_rules_reload_failures_total",
                "gridflow_sla_tick_leader",
                "gridflow_sla_ticks_sent_total",
                "gridflow_assigned_partitions",
            )
            for w in workers
        ),
    )
    assert [in_force(w) for w in workers] == [base, base]
    assert "refused" in workers[0].log_tail(400)


def test_two_workers_switch_at_the_same_instant_and_a_crash_replays_the_same(
    deployment: Deployment, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    old = rules_version(decision_files(BUNDLED_RULES))
    out = Collector(deployment.bootstrap, deployment.topic(DISPOSITIONS))
    events = deployment.topic(EVENTS_IN)
    sent = 0

    def send(count: int) -> None:
        nonlocal sent
        produce_sync(deployment.bootstrap, events, [report(sent + i) for i in range(count)])
        sent += count

    def dispatched() -> dict[str, dict[str, Any]]:
        return {r["events"][0]: r for r in out.poll() if r["action"] == "dispatch"}

    try:
        send(len(VILLAGES))  # traffic before the publication
        effective = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_S)
        bundle: RulesBundle = build_bundle(
            december(tmp_path),
            None,
            label="2026-12",
            note="暴露垃圾 移交环卫集团",
            author="test",
            effective_from=effective,
            published_at=datetime.now(UTC),
        )
        asyncio.run(publish(deployment.settings, bundle))
        new = bundle.version
        # Traffic through the switch until a dispatch decided by the new rules is out,
        # then one worker is killed at once: its last batches are journaled, perhaps
        # not stored, and the survivor replays them under the rules they were decided by.
        deadline = time.monotonic() + LEAD_S + 120
        while not any(r["rules_version"] == new for r in dispatched().values()):
            assert time.monotonic() < deadline, "no dispatch decided by the new rules"
            send(4)
        workers[0].kill()
        killed_at = sent
        for _ in range(8):
            send(4)
        wait_until(lambda: len(dispatched()) >= sent, 240, f"{sent} dispatches", interval=0.0)
        cases = dispatched()
    finally:
        out.close()

    instant = effective.timestamp()
    wrong = {
        e: (r["at"], r["rules_version"])
        for e, r in cases.items()
        if r["rules_version"] != (new if _at(r) >= instant else old)
    }
    assert wrong == {}, f"decided by the rules not in force at their time: {wrong}"
    assert all(
        (r["department"] == NEW_DEPARTMENT) == (r["rules_version"] == new) for r in cases.values()
    )
    # Both workers decided on both sides of the switch: every partition has both.
    sides = {(partition_for(r["region_code"], 4), _at(r) >= instant) for r in cases.values()}
    assert sides == {(p, side) for p in range(4) for side in (False, True)}
    assert killed_at < sent

    # A replay decides the same: every copy of a disposition is the same disposition.
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in out.records:
        copies[r["disposition_id"]].append(r)
    differ = {d: rs for d, rs in copies.items() if any(x != rs[0] for x in rs)}
    assert differ == {}
    survivor = workers[1]
    assert in_force(survivor) == new
    assert survivor.metric("gridflow_rules_reload_failures_total") == 1  # the earlier test's
    print(
        f"{sent} reports, {sum(len(rs) - 1 for rs in copies.values())} dispositions "
        f"published again by the replay; survivor log: "
        f"{'replayed' if 'replaying its unfinished batch' in survivor.log_tail(2000) else 'no replay'}"
    )


def _at(disposition: dict[str, Any]) -> float:
    return datetime.fromisoformat(disposition["at"]).timestamp()
