"""A worker that starts with no local state recovers every row from the changelog.

The embedded broker answers end offsets wrong across produce batches (docs/PITFALLS.md), which
could end a changelog recovery early. Replaying the whole input after a SIGKILL must then
be recognised, record by record, as already applied.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from harness import Collector, Deployment, WorkerProcess, produce_sync, wait_until

from gridflow.simulator.events import generate
from gridflow.topics import DISPOSITIONS, EVENTS_IN

pytestmark = pytest.mark.integration


def test_a_fresh_worker_recovers_every_row_and_treats_a_full_replay_as_duplicates(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    dep = Deployment(kafka_bootstrap, tmp_path)
    dep.create_topics()
    records = [
        r for r in generate(1500, seed=5, duplicate_rate=0.2, malformed_rate=0.0) if not r.malformed
    ]
    sent = []
    ids: set[str] = set()
    for r in records:
        doc = orjson.loads(r.value)
        docs = doc if isinstance(doc, list) else [doc]
        ids.update(d["event_id"] for d in docs)
        sent.append((docs[0]["region_code"].encode(), r.value))
    first = WorkerProcess(dep, name="first").start().wait_ready()
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    try:
        produce_sync(dep.bootstrap, dep.topic(EVENTS_IN), sent)
        out.wait_for(
            lambda rs: ids <= {e for r in rs for e in r["events"]}, 120, "every event in a case"
        )
        # Let the last changelog writes and the offset commit happen, then crash.
        wait_until(
            lambda: first.metric("gridflow_events_in_total") >= len(ids), 30, "events counted"
        )
        first.kill()
        dispatched = len({r["case_id"] for r in out.records if r["action"] == "dispatch"})

        started = time.monotonic()
        second = WorkerProcess(dep, name="second").start().wait_ready(timeout=120)
        recovery_s = time.monotonic() - started
        try:
            produce_sync(dep.bootstrap, dep.topic(EVENTS_IN), sent)  # the whole input again
            unique = len({orjson.loads(v)["event_id"] if v[:1] == b"{" else "" for _, v in sent})
            wait_until(
                lambda: second.metric("gridflow_duplicates_total", kind="event") >= unique,
                120,
                f"{unique} replayed events counted as duplicates",
            )
            out.poll()
            after = len({r["case_id"] for r in out.records if r["action"] == "dispatch"})
            assert after == dispatched, f"{after - dispatched} cases opened twice after recovery"
            print(f"recovered in {recovery_s:.1f} s")
        finally:
            second.stop()
    finally:
        out.close()
        first.stop()
