"""Hot reload decides by event time: the bundle in force at a record's own timestamp.

A published bundle becomes a switch at ``max(effective_from, its publication record's
timestamp)``; a batch is decided with the publications read up to the position it
journaled, so a bundle read later cannot change a replay. Bundles that do not load, do
not match their version or drop a policy open cases name are refused; the worker keeps
its rules.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from aiokafka import TopicPartition

from gridflow.config import Settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.engine import Engine
from gridflow.core.ingest import IngestLimits
from gridflow.core.opening import stage_clock
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.rules_bundles import (
    build_bundle,
    dropped_policies,
    load_bundle_engine,
    policy_names,
)
from gridflow.runtime.checkpoint import Journal, build_batch
from gridflow.runtime.pipeline import Pipeline
from gridflow.runtime.records import InRecord
from gridflow.runtime.rules_timeline import Refused, RulesTimeline, Switch
from gridflow.topics import TopicNames
from schemas import Disposition, RulesBundle

VILLAGE = "500103001003"
TOWN = "500103001"
#: 10:00 in Chongqing, a Wednesday; the new rules take effect an hour later.
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SWITCH = T0 + timedelta(hours=1)


def fake_engine(version: str, policies: tuple[str, ...] = ("p",)) -> Engine:
    """What the timeline looks at of an engine: its rules' version and policy names."""
    rules = SimpleNamespace(version=version, policies=dict.fromkeys(policies))
    return cast(Engine, SimpleNamespace(rules=rules))


def bundle(version: str, effective_from: datetime, label: str = "") -> RulesBundle:
    return RulesBundle(
        version=version,
        label=label or version,
        effective_from=effective_from,
        published_at=T0 - timedelta(days=1),
        files={},
    )


def timeline(*versions: str, base: str = "0000000ba5e0") -> RulesTimeline:
    engines = {v: fake_engine(v) for v in versions}
    return RulesTimeline(fake_engine(base), lambda b: engines[b.version])


LONG_AGO = (T0 - timedelta(days=30)).timestamp()


# ------------------------------------------------------------------ the timeline
def test_before_the_first_switch_the_workers_own_rules_decide_and_after_it_the_bundle() -> None:
    line = timeline("aaaaaaaaaaaa")
    line.publication(0, bundle("aaaaaaaaaaaa", SWITCH), "aaaaaaaaaaaa", LONG_AGO)
    instant = SWITCH.timestamp()
    assert line.at(instant - 0.001).rules.version == "0000000ba5e0"
    assert line.at(instant).rules.version == "aaaaaaaaaaaa"  # at effective_from: the new one
    assert line.in_force(instant + 3600) == ("aaaaaaaaaaaa", "aaaaaaaaaaaa")


def test_a_bundle_published_late_takes_effect_at_its_publication_not_in_the_past() -> None:
    line = timeline("aaaaaaaaaaaa")
    published = T0.timestamp()
    taken = line.publication(
        0, bundle("aaaaaaaaaaaa", T0 - timedelta(days=2)), "aaaaaaaaaaaa", published
    )
    assert isinstance(taken, Switch)
    assert taken.effective == published  # clamped: decisions already made stay made
    assert line.at(published - 1).rules.version == "0000000ba5e0"
    assert line.at(published).rules.version == "aaaaaaaaaaaa"


def test_a_batch_is_decided_with_the_publications_before_its_journaled_position() -> None:
    line = timeline("aaaaaaaaaaaa")
    line.publication(0, bundle("aaaaaaaaaaaa", SWITCH), "aaaaaaaaaaaa", LONG_AGO)
    after = SWITCH.timestamp() + 60
    line.pin(0)  # the batch was decided before the bundle was read
    assert line.at(after).rules.version == "0000000ba5e0"
    line.pin(1)
    assert line.at(after).rules.version == "aaaaaaaaaaaa"
    line.pin(None)
    assert line.at(after).rules.version == "aaaaaaaaaaaa"


def test_rolling_back_republishes_an_older_version_from_a_later_instant() -> None:
    line = timeline("aaaaaaaaaaaa", "bbbbbbbbbbbb")
    first, second, back = SWITCH, SWITCH + timedelta(hours=1), SWITCH + timedelta(hours=2)
    line.publication(0, bundle("aaaaaaaaaaaa", first), "aaaaaaaaaaaa", LONG_AGO)
    line.publication(1, bundle("bbbbbbbbbbbb", second), "bbbbbbbbbbbb", LONG_AGO)
    line.publication(2, bundle("aaaaaaaaaaaa", back), "aaaaaaaaaaaa", LONG_AGO)
    decided = [line.at(t.timestamp() + 1).rules.version for t in (T0, first, second, back)]
    assert decided == ["0000000ba5e0", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "aaaaaaaaaaaa"]
    assert line.loaded_versions == ("0000000ba5e0", "aaaaaaaaaaaa", "bbbbbbbbbbbb")


def test_a_republished_version_is_loaded_once() -> None:
    loads: list[str] = []

    def load(b: RulesBundle) -> Engine:
        loads.append(b.version)
        return fake_engine(b.version)

    line = RulesTimeline(fake_engine("0000000ba5e0"), load)
    for offset in range(3):
        line.publication(offset, bundle("aaaaaaaaaaaa", SWITCH), "aaaaaaaaaaaa", LONG_AGO)
    line.publication(3, bundle("0000000ba5e0", SWITCH), "0000000ba5e0", LONG_AGO)
    assert loads == ["aaaaaaaaaaaa"]  # and the worker's own version not at all


def test_a_tombstone_withdraws_a_version_from_its_position_on() -> None:
    line = timeline("aaaaaaaaaaaa")
    line.publication(0, bundle("aaaaaaaaaaaa", SWITCH), "aaaaaaaaaaaa", LONG_AGO)
    assert line.publication(1, None, "aaaaaaaaaaaa", LONG_AGO) is None
    after = SWITCH.timestamp() + 1
    assert line.at(after).rules.version == "0000000ba5e0"
    line.pin(1)
    assert line.at(after).rules.version == "aaaaaaaaaaaa"


def test_switches_superseded_before_the_dedup_memory_are_forgotten_with_their_engines() -> None:
    line = timeline("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc")
    for offset, (version, hours) in enumerate(
        (("aaaaaaaaaaaa", 0), ("bbbbbbbbbbbb", 1), ("cccccccccccc", 2))
    ):
        line.publication(
            offset, bundle(version, SWITCH + timedelta(hours=hours)), version, LONG_AGO
        )
    now = (SWITCH + timedelta(hours=1, minutes=30)).timestamp()
    assert line.prune(now) == 1  # a: superseded by b before `now`; b is in force then
    assert line.loaded_versions == ("0000000ba5e0", "bbbbbbbbbbbb", "cccccccccccc")
    assert line.at(now).rules.version == "bbbbbbbbbbbb"
    assert line.at(now + 3600).rules.version == "cccccccccccc"
    assert line.prune(now) == 0


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        pytest.param(
            lambda b: (_ for _ in ()).throw(ValueError("routes.yaml:3: unknown policy 'x'")),
            "routes.yaml:3: unknown policy 'x'",
            id="does not load",
        ),
        pytest.param(
            lambda b: fake_engine(b.version, policies=("q",)),
            "drops SLA policies that earlier versions' cases name: p",
            id="drops a policy",
        ),
    ],
)
def test_a_bundle_that_cannot_decide_is_refused_and_the_rules_in_force_stay(
    load: Any, reason: str
) -> None:
    line = RulesTimeline(fake_engine("0000000ba5e0"), load)
    taken = line.publication(4, bundle("aaaaaaaaaaaa", SWITCH), "aaaaaaaaaaaa", LONG_AGO)
    assert taken == Refused(4, "aaaaaaaaaaaa", reason)
    assert line.at(SWITCH.timestamp() + 1).rules.version == "0000000ba5e0"
    assert line.position == 5  # read past: not retried on every batch


def test_the_journal_carries_the_rules_position_and_an_old_journal_reads_without_it() -> None:
    journal = Journal(12.5, {"t": 1}, {"t": 3}, rules=7)
    assert Journal.parse(journal.to_bytes()) == journal
    old = orjson.dumps({"now": 12.5, "from": {"t": 1}, "to": {"t": 3}})
    assert Journal.parse(old).rules is None
    batch = build_batch(
        {TopicPartition("t", 0): [_kafka_record(1), _kafka_record(2)]},
        ["t"],
        now=12.5,
    )
    batch.decided_under(7)
    assert batch.journals[0].rules == 7


def _kafka_record(offset: int) -> Any:
    return SimpleNamespace(
        topic="t",
        partition=0,
        offset=offset,
        timestamp=12_000,
        timestamp_type=1,
        key=None,
        value=b"",
    )


# ------------------------------------------------------------ real bundles
def edited_rules(tmp: Path) -> Path:
    """December's rules: 暴露垃圾 goes to 环卫集团 and is accepted in 20 minutes, resolved in 2 hours."""
    rules = tmp / "december"
    shutil.copytree(BUNDLED_RULES, rules)
    for file, old, new in (
        (
            "catalogue.yaml",
            "SJ0102: {name: 暴露垃圾}",
            "SJ0102: {name: 暴露垃圾, department: 环卫集团}",
        ),
        (
            "policies.yaml",
            "    accept: 30m         # project default\n    resolve: 4h\n",
            "    accept: 20m\n    resolve: 2h\n",
        ),
    ):
        path = rules / file
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Engine, RulesBundle]:
    settings = Settings()
    base = load_engine(settings)
    december = build_bundle(
        edited_rules(tmp_path_factory.mktemp("rules")),
        None,
        label="2026-12",
        note="暴露垃圾 移交环卫集团",
        author="王工",
        effective_from=SWITCH,
        published_at=T0,
    )
    return base, load_bundle_engine(settings, december), december


def test_a_bundle_loads_to_the_engine_of_its_directory(
    engines: tuple[Engine, Engine, RulesBundle],
) -> None:
    base, new, december = engines
    assert new.rules.version == december.version != base.rules.version
    assert new.catalogue.get("SJ0102").department == "环卫集团"  # type: ignore[union-attr]
    # inhibit.yaml (hashed only when a directory has it) travels in the bundle too.
    assert "inhibit.yaml" in december.files and new.inhibitions is not None


def test_a_bundle_whose_files_do_not_match_its_version_is_refused(
    engines: tuple[Engine, Engine, RulesBundle],
) -> None:
    _, _, december = engines
    files = dict(december.files)
    files["routes.yaml"] += "\n# edited after publication\n"
    tampered = december.model_copy(update={"files": files})
    with pytest.raises(Exception, match=f"bundle {december.version}: its files hash to"):
        load_bundle_engine(Settings(), tampered)


def test_publishing_finds_the_policies_a_bundle_drops_before_the_workers_refuse_it(
    engines: tuple[Engine, Engine, RulesBundle],
) -> None:
    _, _, december = engines
    text = december.files["policies.yaml"]
    start = text.index("  hazard_major:\n")
    end = text.index("max_length: 7d\n", start) + len("max_length: 7d\n")
    trimmed = text[:start] + text[end:]
    january = december.model_copy(
        update={"label": "2027-01", "files": {**december.files, "policies.yaml": trimmed}}
    )
    assert "hazard_major" in policy_names(december)
    assert dropped_policies(january, [december]) == {"hazard_major": "2026-12"}
    assert dropped_policies(december, [january]) == {}


def _event(event_id: str, lat: float, at: datetime) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": at.isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": lat, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def test_events_feedback_and_ticks_are_decided_by_the_rules_in_force_at_their_time(
    engines: tuple[Engine, Engine, RulesBundle],
) -> None:
    base, new, december = engines
    line = RulesTimeline(base, lambda b: new)
    line.publication(0, december, december.version, T0.timestamp())
    topics = TopicNames.prefixed("")
    pipeline = Pipeline(
        engine=base,
        topics=topics,
        partitions=1,
        limits=IngestLimits(max_clock_skew=timedelta(days=365 * 10)),
        metrics=Metrics(),
        read_state=lambda region: None,
        scan_partition=lambda partition: {},
        engine_at=line.at,
    )
    before, after = T0 + timedelta(minutes=10), SWITCH + timedelta(minutes=10)
    # Far apart, so the second report opens its own case instead of joining the first.
    records = [
        # A first tick builds the partition's timer index, which then follows every case.
        InRecord(topics.commands, 0, 0, T0.timestamp(), None, b'{"k":"tick"}'),
        InRecord(
            topics.events_in,
            0,
            0,
            before.timestamp(),
            VILLAGE.encode(),
            _event("e-old", 29.55, before),
        ),
        InRecord(
            topics.events_in,
            0,
            1,
            after.timestamp(),
            VILLAGE.encode(),
            _event("e-new", 29.60, after),
        ),
    ]
    opened = pipeline.process(records, after.timestamp()).dispositions
    old_case, new_case = (d for d in opened if d.action.value == "dispatch")
    garbage = base.catalogue.get("SJ0102")
    assert garbage is not None
    assert (old_case.rules_version, old_case.department) == (
        base.rules.version,
        garbage.department,
    )
    assert garbage.department != "环卫集团"
    assert (new_case.rules_version, new_case.department) == (december.version, "环卫集团")
    assert new_case.deadline == datetime.fromtimestamp(
        stage_clock(new.rules, "garbage_exposed", "accept", after.timestamp())[0], UTC
    )

    # The old case is accepted after the switch: its accept deadline stayed as given;
    # the resolve stage it starts now runs under the new policy.
    accept_at = after + timedelta(minutes=5)
    accept = orjson.dumps(
        {
            "feedback_id": "fb-1",
            "case_id": old_case.case_id,
            "center_code": old_case.center_code,
            "action": "accept",
            "at": accept_at.isoformat(),
        }
    )
    out = pipeline.process(
        [InRecord(topics.feedback, 0, 0, accept_at.timestamp(), None, accept)],
        accept_at.timestamp(),
    ).dispositions
    (accepted,) = out
    assert accepted.rules_version == december.version
    assert accepted.deadline == datetime.fromtimestamp(
        stage_clock(new.rules, "garbage_exposed", "resolve", accept_at.timestamp())[0], UTC
    )
    assert old_case.deadline == datetime.fromtimestamp(
        stage_clock(base.rules, "garbage_exposed", "accept", before.timestamp())[0], UTC
    )
    assert _ticks_decided_by(pipeline, topics, new_case, december.version)


def _ticks_decided_by(
    pipeline: Pipeline, topics: TopicNames, case: Disposition, version: str
) -> bool:
    assert case.deadline is not None
    late = case.deadline + timedelta(minutes=1)
    tick = InRecord(topics.commands, 0, 5, late.timestamp(), None, b'{"k":"tick"}')
    steps = pipeline.process([tick], late.timestamp()).dispositions
    missed = [d for d in steps if d.case_id == case.case_id]
    return bool(missed) and all(d.rules_version == version for d in missed)
