"""The cross-village stage in the pipeline: announcements, absorb and join as commands.

The pipeline is driven like a worker would be: its outputs to ``grid.cases.commands`` are
read back on the partition their key hashes to, and its state rows are stored in a dict
standing in for the case table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from gridflow.config import Settings
from gridflow.core.crossvillage import town_key
from gridflow.core.engine import Engine
from gridflow.core.ingest import IngestLimits
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.pipeline import BatchResult, Pipeline
from gridflow.runtime.records import InRecord
from gridflow.topics import TopicNames

PARTITIONS = 4
V1, V2 = "500103001003", "500103001006"  # two communities of 七星岗街道 (500103001000)
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
NOW = T0.timestamp()
TOPICS = TopicNames.prefixed()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def _event(event_id: str, region: str, lat: float, category: str = "SJ0102") -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "chengguan" if region == V1 else "zongzhi",
            "reported_at": T0.isoformat(),
            "region_code": region,
            "location": {"lat": lat, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": category,
        }
    )


class World:
    """A pipeline, its table and the commands it sent, read back until nothing is left."""

    def __init__(self, engine: Engine, table: dict[str, bytes] | None = None) -> None:
        self.table: dict[str, bytes] = dict(table or {})
        self.pipeline = Pipeline(
            engine, TOPICS, PARTITIONS, IngestLimits(), Metrics(), self.table.get, self._scan
        )
        self.offset = 0
        self.dispositions: list[dict[str, Any]] = []
        self.commands: list[InRecord] = []

    def _scan(self, partition: int) -> dict[str, bytes]:
        return {
            k: v
            for k, v in self.table.items()
            if not k.startswith("~") and partition_for(k, PARTITIONS) == partition
        }

    def batch(self, records: list[InRecord], *, store: bool = True) -> BatchResult:
        result = self.pipeline.process(records, NOW + 1)
        if store:
            for rows in result.writes.values():
                for key, value in rows.items():
                    if value is None:
                        self.table.pop(key, None)
                    else:
                        self.table[key] = value
        for out in result.outputs:
            if out.topic == TOPICS.dispositions:
                self.dispositions.append(orjson.loads(out.value))
            elif out.topic == TOPICS.commands:
                key = out.key.decode()
                self.offset += 1
                self.commands.append(
                    InRecord(
                        TOPICS.commands,
                        partition_for(key, PARTITIONS),
                        self.offset,
                        NOW + 1,
                        out.key,
                        out.value,
                    )
                )
        return result

    def send(self, region: str, value: bytes) -> BatchResult:
        self.offset += 1
        rec = InRecord(
            TOPICS.events_in, partition_for(region, PARTITIONS), self.offset, NOW, None, value
        )
        return self.batch([rec])

    def drain(self) -> None:
        while self.commands:
            pending, self.commands = self.commands, []
            for rec in pending:  # one partition's batch at a time, in order
                self.batch([rec])


def test_one_incident_under_two_villages_becomes_one_case_listing_both(engine: Engine) -> None:
    world = World(engine)
    world.send(V1, _event("e1", V1, 29.5560))
    world.send(V2, _event("e2", V2, 29.5565))  # 55 m away, across the village line
    assert [orjson.loads(c.value or b"")["k"] for c in world.commands] == ["xv.case", "xv.case"]
    assert {c.key for c in world.commands} == {town_key("500103001000").encode()}
    world.drain()
    merged = [d for d in world.dispositions if d.get("merged_into")]
    joins = [d for d in world.dispositions if d.get("merged_cases")]
    assert len(merged) == 1 and len(joins) == 1
    survivor, absorbed = joins[0]["case_id"], merged[0]["case_id"]
    assert merged[0]["merged_into"] == survivor and merged[0]["state"] == "merged"
    assert joins[0]["villages"] == [V1, V2] and joins[0]["events"] == ["e1", "e2"]
    assert survivor.startswith(V1) and absorbed.startswith(V2)
    # The town's row is stored beside the region rows, under a key no region scan reads.
    assert town_key("500103001000") in world.table


def test_far_apart_or_incompatible_reports_stay_two_cases(engine: Engine) -> None:
    world = World(engine)
    world.send(V1, _event("e1", V1, 29.5560))
    world.send(V2, _event("e2", V2, 29.5600))  # 445 m
    world.send(V2, _event("e3", V2, 29.5561, category="ZZ0405"))  # 火灾隐患 beside 垃圾
    world.drain()
    assert not [d for d in world.dispositions if d.get("merged_into") or d.get("merged_cases")]


def test_a_replayed_batch_and_redelivered_commands_merge_once(engine: Engine) -> None:
    world = World(engine)
    world.send(V1, _event("e1", V1, 29.5560))
    world.send(V2, _event("e2", V2, 29.5565))
    announcements = list(world.commands)
    world.drain()
    first = sorted(d["disposition_id"] for d in world.dispositions)
    # Every command delivered again (at-least-once), and the town's batch replayed.
    world.commands = announcements + announcements
    world.drain()
    again = sorted({d["disposition_id"] for d in world.dispositions})
    assert again == sorted(set(first))
    assert sum(1 for d in world.dispositions if d.get("merged_cases")) == 1


def test_a_crash_before_the_state_is_stored_replays_the_same_decisions(engine: Engine) -> None:
    world = World(engine)
    world.send(V1, _event("e1", V1, 29.5560))
    world.send(V2, _event("e2", V2, 29.5565))
    pending = list(world.commands)
    # A worker that sent the outputs of the town's batches, then died before storing state…
    dead = World(engine, world.table)
    sent = [out for rec in pending for out in dead.batch([rec], store=False).outputs]
    # …and the new owner, replaying the same records from the same stored state.
    heir = World(engine, world.table)
    again = [out for rec in pending for out in heir.batch([rec]).outputs]
    assert [orjson.loads(o.value) for o in sent] == [orjson.loads(o.value) for o in again]
    assert any(orjson.loads(o.value).get("k") == "xv.absorb" for o in again)


# ------------------------------------------------- silences and inhibition across villages
TOWN = "500103001000"


@pytest.fixture(scope="module")
def silenced_engine() -> Engine:
    from gridflow.core.silences import SilenceBook
    from schemas import Silence

    engine = load_engine(Settings())
    works = Silence.model_validate(
        {
            "silence_id": "works-1",
            "center_code": TOWN,
            "kind": "construction",
            "matchers": {"categories": ["SJ03"]},
            "starts_at": "2026-11-24T00:00:00+00:00",
            "ends_at": "2026-12-24T00:00:00+00:00",
            "author": "张三",
            "comment": "地铁 18 号线施工许可 2026-118",
            "created_at": "2026-11-23T00:00:00+00:00",
        }
    )
    engine.silences = SilenceBook([(works, 0.0)])
    return engine


def test_a_town_silence_gathers_two_villages_reports_into_one_case(
    silenced_engine: Engine,
) -> None:
    world = World(silenced_engine)
    world.send(V1, _event("n1", V1, 29.5560, category="SJ0301"))
    world.send(V2, _event("n2", V2, 29.5600, category="SJ0301"))
    assert world.dispositions == [], "the villages decide nothing themselves"
    sent = [(c.key, orjson.loads(c.value or b"")["k"]) for c in world.commands]
    assert sent == [(TOWN.encode(), "sl.report")] * 2
    replayed = list(world.commands)  # what a replay of the villages' batches re-sends
    world.drain()
    (opened,) = [d for d in world.dispositions if d["action"] == "dispatch"]
    (joined,) = [d for d in world.dispositions if d["action"] == "merge"]
    assert opened["case_id"].startswith(TOWN) and opened["center_code"] == TOWN
    assert joined["case_id"] == opened["case_id"] and joined["events"] == ["n1", "n2"]
    # Re-delivered commands and a duplicate report change nothing.
    world.commands = replayed
    world.drain()
    world.send(V2, _event("n2", V2, 29.5600, category="SJ0301"))
    assert world.commands == [] and len(world.dispositions) == 2
    table = {k for k in world.table if not k.startswith("~")}
    assert {V1, V2, TOWN} <= table, "villages remember the ids; the case lives in the town row"


def test_a_bad_silence_command_goes_to_the_dlq(silenced_engine: Engine) -> None:
    world = World(silenced_engine)
    world.offset += 1
    bad = InRecord(
        TOPICS.commands,
        partition_for(TOWN, PARTITIONS),
        world.offset,
        NOW,
        TOWN.encode(),
        orjson.dumps({"k": "sl.report", "v": {}, "s": {}, "ts": NOW}),
    )
    result = world.batch([bad])
    (dlq,) = [o for o in result.outputs if o.topic == TOPICS.dlq]
    assert orjson.loads(dlq.value)["reason"] == "schema"


def test_a_fire_inhibits_a_neighbouring_villages_report(engine: Engine) -> None:
    world = World(engine)
    fire = orjson.loads(_event("fire", V1, 29.5560, category="SJ0401"))
    world.send(V1, orjson.dumps({**fire, "title": "居民楼起火"}))
    world.drain()
    (fire_case,) = {d["case_id"] for d in world.dispositions}
    cars = orjson.loads(_event("cars", V2, 29.5580, category="SJ0504"))
    world.send(V2, orjson.dumps({**cars, "title": "消防车旁车辆乱停"}))
    world.drain()
    (absorbed,) = [d for d in world.dispositions if d.get("merged_into")]
    assert absorbed["merged_into"] == fire_case and "抑制" in absorbed["reason"]
    (attached,) = [
        d for d in world.dispositions if d["case_id"] == fire_case and d["action"] == "merge"
    ]
    assert "火灾现场" in attached["reason"] and attached["villages"] == [V1, V2]
