"""The state the workers hold equals the state rebuilt offline from the input topics."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from harness import Collector, Deployment, WorkerProcess, produce_sync

from gridflow.config import Settings
from gridflow.core.crossvillage import Joined
from gridflow.core.ingest import IngestLimits, decode_events
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from gridflow.runtime.checkpoint import is_position_key
from gridflow.simulator.events import generate
from gridflow.topics import COMMANDS, DISPOSITIONS, EVENTS_IN, FEEDBACK
from schemas import Feedback
from schemas.common import Tier

pytestmark = pytest.mark.integration


async def read_all(
    bootstrap: str, topic: str, quiet_s: float = 3.0
) -> list[tuple[int, int, float, bytes | None, bytes | None]]:
    """Every record of ``topic``, read until nothing new arrives for ``quiet_s``.

    End offsets are not trusted: the embedded broker answers them wrong across batches.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    out = []
    last = time.monotonic()
    try:
        while time.monotonic() - last < quiet_s:
            batches = await consumer.getmany(timeout_ms=200)
            for msgs in batches.values():
                for m in msgs:
                    out.append((m.partition, m.offset, m.timestamp / 1000.0, m.key, m.value))
                    last = time.monotonic()
    finally:
        await consumer.stop()
    return out


def summary(states: dict[str, RegionState]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        # Sorted: a case that took a neighbour's reports over lists them in the order the
        # join met its own later reports, which the rebuild above does not replay.
        cid: (case.status.value, tuple(sorted(case.events)))
        for st in states.values()
        for cid, case in st.cases.items()
    }


def test_rebuilt_state_equals_the_workers_state(kafka_bootstrap: str, tmp_path: Path) -> None:
    dep = Deployment(kafka_bootstrap, tmp_path)
    dep.create_topics()
    records = generate(600, seed=11, duplicate_rate=0.3, malformed_rate=0.02)
    valid_ids = set()
    to_send = []
    for r in records:
        if r.malformed:
            to_send.append((r.key, r.value))
            continue
        doc = orjson.loads(r.value)
        docs = doc if isinstance(doc, list) else [doc]
        valid_ids.update(d["event_id"] for d in docs)
        to_send.append((docs[0]["region_code"].encode(), r.value))
    worker = WorkerProcess(dep).start().wait_ready()
    out = Collector(dep.bootstrap, dep.topic(DISPOSITIONS))
    try:
        produce_sync(dep.bootstrap, dep.topic(EVENTS_IN), to_send)
        out.wait_for(
            lambda rs: valid_ids <= {e for r in rs for e in r["events"]},
            90,
            "every valid event in a case",
        )
        # Close a few cases through the loop so statuses differ.
        cases = {r["case_id"]: r["center_code"] for r in out.records if r["action"] == "dispatch"}
        feedback = []
        for case_id, centre in list(cases.items())[:20]:
            region = case_id[:12]
            doc = {
                "feedback_id": f"{case_id}-acc",
                "case_id": case_id,
                "center_code": centre,
                "action": "accept",
                "at": "2026-11-25T10:00:00+08:00",
            }
            feedback.append((region.encode(), orjson.dumps(doc)))
        produce_sync(dep.bootstrap, dep.topic(FEEDBACK), feedback)
        chosen = set(list(cases)[:20])

        def settled(rs: list[dict[str, object]]) -> bool:
            # Accepted; or merged into a neighbouring village's case (docs/cross-village.md)
            # or taken over by a higher tier (a worse merged report), which refuse the
            # village's accept.
            done = {
                r["case_id"]
                for r in rs
                if r["case_id"] in chosen
                and (
                    (r.get("state") == "accepted" and r["action"] == "state")
                    or r.get("merged_into")
                    or r["action"] in ("escalate", "reroute")
                )
            }
            return len(done) >= len(chosen)

        out.wait_for(settled, 60, "20 accepts")
    finally:
        out.close()
        worker.stop()

    changelog = asyncio.run(read_all(dep.bootstrap, dep.topic_changelog()))
    held: dict[str, RegionState] = {}
    for _, _, _, key, value in changelog:
        assert key is not None
        if is_position_key(key):  # the input reader's positions share the table
            continue
        if value is None:
            held.pop(key.decode(), None)
        else:
            held[key.decode()] = RegionState.from_bytes(value)

    engine = load_engine(Settings(kafka_bootstrap=dep.bootstrap))
    villages = frozenset(r.code for r in engine.regions.by_tier(Tier.VILLAGE))
    rebuilt: dict[str, RegionState] = {}
    for topic in (EVENTS_IN, FEEDBACK):
        for _, _, ts, _, value in sorted(
            asyncio.run(read_all(dep.bootstrap, dep.topic(topic))), key=lambda r: (r[0], r[1])
        ):
            if topic == EVENTS_IN:
                events, _ = decode_events(
                    value,
                    known_region=villages,
                    known_network=engine.catalogue.networks,
                    now=datetime.now(UTC),
                    limits=IngestLimits(),
                )
                for event in events:
                    state = rebuilt.setdefault(event.region_code, RegionState(event.region_code))
                    engine.apply_event(state, event, ts)
            else:
                fb = Feedback.model_validate_json(value or b"")
                region = fb.case_id[:12]
                engine.apply_feedback(rebuilt.setdefault(region, RegionState(region)), fb, ts)
    # Merges across village lines (docs/cross-village.md): the town stage's absorbs and
    # joins, as the workers recorded them on the commands topic.
    for _, _, _, key, value in sorted(
        asyncio.run(read_all(dep.bootstrap, dep.topic(COMMANDS))), key=lambda r: (r[0], r[1])
    ):
        doc = orjson.loads(value or b"")
        region = (key or b"").decode()
        if doc.get("k") == "xv.absorb":
            state = rebuilt.setdefault(region, RegionState(region))
            engine.apply_absorb(state, doc["v"]["case"], doc["v"]["into"], doc["ts"])
        elif doc.get("k") == "xv.join":
            state = rebuilt.setdefault(region, RegionState(region))
            joined = Joined.from_doc(doc["v"]["joined"])
            engine.apply_join(state, doc["v"]["into"], joined, doc["ts"])
    assert summary(held) == summary(rebuilt)
    assert len(summary(held)) >= 100
