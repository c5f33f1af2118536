"""More hot-path shortcuts checked against the plain computations they replace.

Case JSON remembered between steps, the strongest severity word found piece by piece,
stage deadlines remembered per start instant, ingest's single UTF-8 check, latency samples
observed in groups, and the pipeline's per-batch metric tallies.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from gridflow.config import Settings
from gridflow.core import opening as opening_module
from gridflow.core.engine import Engine
from gridflow.core.ingest import IngestLimits, decode_events
from gridflow.core.region_state import RegionState
from gridflow.core.severity import SEVERITY_ORDER, SeverityRules
from gridflow.core.sla import _times
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.pipeline import Pipeline
from gridflow.runtime.records import InRecord
from gridflow.topics import TopicNames
from schemas import Feedback, GridEvent, RejectReason

VILLAGE = "500103001003"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Chongqing
NOW = T0.timestamp()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def _event(event_id: str, lat: float, title: str = "菜市场旁垃圾堆积无人清运") -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": lat, "lon": 106.571},
            "title": title,
            "category": "SJ0102",
        }
    )


def _plain_bytes(state: RegionState) -> bytes:
    # RegionState.to_bytes as it was before cases remembered their JSON.
    return orjson.dumps(
        {
            "r": state.region,
            "c": [case.to_dict() for case in state.cases.values()],
            "e": state.seen_events,
            "f": state.seen_feedback,
        }
    )


_ACTIONS = ["accept", "resolve", "verify", "close", "reject_resolution", "escalate", "cancel"]


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9)), max_size=25))
def test_remembered_case_json_is_the_json_of_the_case_now(
    engine: Engine, steps: list[tuple[int, int]]
) -> None:
    state = RegionState(VILLAGE)
    now = NOW
    for n, (kind, pick) in enumerate(steps):
        now += 600.0
        cases = sorted(state.cases)
        if kind == 0 or not cases:
            # Two spots: reports near one of them merge, so cases take merges too.
            engine.apply_event(state, _event(f"e{n}", 29.556 + 0.05 * (pick % 2)), now)
        elif kind == 1:
            case_id = cases[pick % len(cases)]
            case = state.cases[case_id]
            action = _ACTIONS[pick % len(_ACTIONS)]
            feedback = Feedback.model_validate(
                {
                    "feedback_id": f"f{n}",
                    "case_id": case_id,
                    "center_code": case.holder,
                    "action": action,
                    "at": T0.isoformat(),
                }
            )
            engine.apply_feedback(state, feedback, now)
        else:
            case_id = cases[pick % len(cases)]
            engine.apply_tick(state, case_id, now + pick * 86400.0)
        assert state.to_bytes() == _plain_bytes(state)
    assert RegionState.from_bytes(state.to_bytes()).to_bytes() == _plain_bytes(state)


def test_a_case_is_serialised_again_only_after_its_next_step(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    engine.apply_event(state, _event("e1", 29.556), NOW)
    [case] = state.cases.values()
    first = case.to_json()
    assert case.to_json() is first
    engine.apply_event(state, _event("e2", 29.556), NOW + 60)  # merges: the case moves on
    assert case.to_json() is not first
    assert bytes(orjson.dumps(case.to_json())) == orjson.dumps(case.to_dict())


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "起火",
                "火",
                "火锅",
                "，",
                "。",
                " ",
                "浓烟",
                "坍塌",
                "有人受伤",
                "ＫＴＶ",
                "位置：",
                "老人",
            ]
        ),
        max_size=12,
    )
)
def test_the_strongest_severity_word_is_what_the_full_scan_finds(parts: list[str]) -> None:
    rules = SeverityRules.default()
    text = "".join(parts)
    level, _ = rules._scan(text)
    rank = rules._matcher.highest(text, rules._word_rank)
    assert (SEVERITY_ORDER[rank] if rank >= 0 else None) == level
    assert rules._matcher.highest(text, rules._word_rank) == rank  # and from what it remembered


def test_stage_times_are_recomputed_for_another_policy_under_the_same_name(
    engine: Engine,
) -> None:
    state = RegionState(VILLAGE)
    engine.apply_event(state, _event("e1", 29.556), NOW)
    [case] = state.cases.values()
    remembered = opening_module._STAGE_TIMES[(case.policy, "accept", NOW, engine.sla_scale)]
    assert remembered[0] is engine.rules.policies[case.policy]
    # Another entry under the key, for other rules: the engine does not take it.
    opening_module._STAGE_TIMES[(case.policy, "accept", NOW, engine.sla_scale)] = (
        remembered[0],
        object(),  # type: ignore[dict-item]
        0.0,
        0.0,
    )
    again = RegionState(VILLAGE)
    engine.apply_event(again, _event("e1", 29.556), NOW)
    assert [c.deadline for c in again.cases.values()] == [case.deadline]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"a": "\xff"', RejectReason.NOT_UTF8),  # neither UTF-8 nor JSON: UTF-8 is named
        (b'"\xed\xa0\x80"', RejectReason.NOT_UTF8),  # an encoded surrogate
        (b'{"a": 1', RejectReason.INVALID_JSON),
        (b"\xef\xbb\xbf{}", RejectReason.INVALID_JSON),  # UTF-8, but a BOM is not JSON
        (b"", RejectReason.INVALID_JSON),
    ],
)
def test_a_value_is_checked_for_utf8_only_when_json_refuses_it(
    value: bytes, reason: RejectReason
) -> None:
    events, rejects = decode_events(
        value,
        known_region={VILLAGE},
        known_network={"chengguan"},
        now=T0,
        limits=IngestLimits(),
    )
    assert events == [] and [r.reason for r in rejects] == [reason]


def _samples(metrics: Metrics) -> list[str]:
    return [
        line
        for line in generate_latest(metrics.registry).decode().splitlines()
        if "ingest_to_disposition" in line and "_created" not in line
    ]


def test_latencies_observed_in_groups_are_the_samples_observed_one_by_one() -> None:
    one_by_one, grouped = Metrics(), Metrics()
    for latency, count in [(0.004, 3), (0.005, 2), (0.5, 1), (7.25, 4), (9999.0, 2), (-1.0, 2)]:
        for _ in range(count):
            one_by_one._child(one_by_one.ingest_to_disposition, "merge").observe(max(latency, 0.0))
        grouped.observe_latency("merge", latency, count)
    assert _samples(grouped) == _samples(one_by_one)


def test_batch_tallies_count_every_disposition_once(engine: Engine) -> None:
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    metrics = Metrics()
    table: dict[str, bytes] = {}
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), metrics, table.get, lambda p: {})
    rng = random.Random(4)
    records = []
    for i in range(60):
        doc: dict[str, Any] = {
            "event_id": f"e{i}",
            "source_network": rng.choice(["chengguan", "zongzhi"]),
            "reported_at": (T0 + timedelta(seconds=i)).isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.5 + 0.01 * rng.randrange(6), "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
        }
        records.append(InRecord("in", partition_for(VILLAGE, 4), i, NOW, None, orjson.dumps(doc)))
    result = pipeline.process(records, NOW + 60)
    registry = metrics.registry
    by_action: dict[str, int] = {}
    for disp in result.dispositions:
        by_action[disp.action.value] = by_action.get(disp.action.value, 0) + 1
    for action, count in by_action.items():
        total = sum(
            registry.get_sample_value(
                "gridflow_dispositions_total", {"action": action, "tier": tier}
            )
            or 0
            for tier in ("city", "county", "town", "village")
        )
        assert total == count
        assert (
            registry.get_sample_value(
                "gridflow_ingest_to_disposition_seconds_count", {"action": action}
            )
            == count
        )
    opened = sum(
        registry.get_sample_value("gridflow_cases_opened_total", {"tier": tier}) or 0
        for tier in ("city", "county", "town", "village")
    )
    assert opened == by_action["dispatch"]
    networks = sum(
        registry.get_sample_value("gridflow_events_in_total", {"network": n}) or 0
        for n in ("chengguan", "zongzhi")
    )
    assert networks == len(records)


def test_closed_cases_are_counted_from_the_step_facts(engine: Engine) -> None:
    """A close and a cancel finish a case; the notices to other tiers and the rest do not."""
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    metrics = Metrics()
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), metrics, {}.get, lambda p: {})
    home = partition_for(VILLAGE, 4)
    fire = _event("fire", 29.9, "居民楼起火有人被困").model_dump(mode="json", exclude_none=True)
    fire.pop("category")
    events = [
        _event("e1", 29.5).model_dump(mode="json"),
        _event("e2", 29.7).model_dump(mode="json"),
        fire,
    ]
    records = [
        InRecord("in", home, i, NOW, None, orjson.dumps(doc)) for i, doc in enumerate(events)
    ]
    result = pipeline.process(records, NOW + 1)
    assert [f.kind.value for f in result.facts].count("informed") >= 1
    first, second = [d.case_id for d in result.dispositions if d.action == "dispatch"][:2]

    def fb(n: int, case_id: str, action: str) -> InRecord:
        doc = {
            "feedback_id": f"f{n}",
            "case_id": case_id,
            # 监管分离: the town above the village verifies and closes.
            "center_code": "500103001000" if action in ("verify", "close") else VILLAGE,
            "action": action,
            "at": T0.isoformat(),
        }
        return InRecord("fb", home, n, NOW + 2 + n, None, orjson.dumps(doc))

    steps = [(first, "accept"), (first, "resolve"), (first, "verify"), (first, "close")]
    steps.append((second, "cancel"))
    result = pipeline.process([fb(n, c, a) for n, (c, a) in enumerate(steps)], NOW + 10)
    assert [f.kind.value for f in result.facts] == [
        "accepted",
        "resolved",
        "verified",
        "closed",
        "cancelled",
    ]
    closed = sum(
        metrics.registry.get_sample_value("gridflow_cases_closed_total", {"tier": tier}) or 0
        for tier in ("city", "county", "town", "village")
    )
    assert closed == 2


def test_a_timer_driven_disposition_has_no_latency_sample(engine: Engine) -> None:
    # SLA steps from a tick have no input record to measure from: they are counted, but
    # their SLA durations stay out of the ingest -> disposition histogram.
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    metrics = Metrics()
    table: dict[str, bytes] = {}
    # One village, so the table is its partition's scan (the timers are rebuilt from it).
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), metrics, table.get, lambda p: table)
    home = partition_for(VILLAGE, 4)
    doc = {
        "event_id": "timer-1",
        "source_network": "chengguan",
        "reported_at": T0.isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": 29.5, "lon": 106.571},
        "title": "菜市场旁垃圾堆积无人清运",
    }
    opened = pipeline.process([InRecord("in", home, 1, NOW, None, orjson.dumps(doc))], NOW + 60)
    table.update({k: v for rows in opened.writes.values() for k, v in rows.items() if v})
    tick_at = NOW + 3600.0 * 24 * 30
    result = pipeline.process([InRecord("cmd", home, 2, tick_at, None, b'{"k":"tick"}')], tick_at)
    timed = {d.action.value for d in result.dispositions}
    assert timed  # the tick warned or escalated the case
    registry = metrics.registry
    for action in timed:
        counted = sum(
            registry.get_sample_value(
                "gridflow_dispositions_total", {"action": action, "tier": tier}
            )
            or 0
            for tier in ("city", "county", "town", "village")
        )
        assert counted >= 1
        assert (
            registry.get_sample_value(
                "gridflow_ingest_to_disposition_seconds_count", {"action": action}
            )
            is None
        )


@settings(max_examples=2000, deadline=None)
@given(
    micros=st.integers(-(10**14), 10**14),
    factor=st.one_of(
        st.sampled_from([0.5, 0.8, 0.37, 1 / 3, 2.5, 1.0, 0.0]),
        st.floats(min_value=0.0, max_value=100.0, allow_nan=False),
    ),
)
def test_times_rounds_as_timedelta_times_float(micros: int, factor: float) -> None:
    expected = (timedelta(microseconds=micros) * factor) // timedelta(microseconds=1)
    assert _times(micros, factor) == expected


def _walked(pipeline: Pipeline) -> dict[tuple[str, str], int]:
    # Every open case counted from its flags, as the remembered tallies should say.
    counts: dict[tuple[str, str], int] = {}
    for states in pipeline._states.values():
        for state in states.values():
            for case in state.cases.values():
                if case.is_open:
                    if case.breached and case.deadline is not None:
                        sla = "overdue"
                    else:
                        sla = "warned" if case.warned else "on_time"
                    counts[(case.tier, sla)] = counts.get((case.tier, sla), 0) + 1
    return counts


def test_open_case_tallies_follow_every_batch_that_changes_a_region(engine: Engine) -> None:
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    table: dict[str, bytes] = {}
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), table.get, lambda p: {})
    home = partition_for(VILLAGE, 4)
    rng = random.Random(7)
    offset = 0

    def batch(records: list[InRecord], now: float) -> None:
        result = pipeline.process(records, now)
        for rows in result.writes.values():
            for region, value in rows.items():
                if value is not None:
                    table[region] = value
        assert pipeline.open_cases_by_tier() == _walked(pipeline)

    seen = [pipeline.open_cases_by_tier()]
    for step in range(6):
        records = []
        for _ in range(10):
            offset += 1
            doc = {
                "event_id": f"t{offset}",
                "source_network": "chengguan",
                "reported_at": T0.isoformat(),
                "region_code": VILLAGE,
                "location": {"lat": 29.5 + 0.05 * rng.randrange(40), "lon": 106.571},
                "title": rng.choice(["菜市场旁垃圾堆积无人清运", "井盖丢失", "路灯不亮"]),
            }
            records.append(InRecord("in", home, offset, NOW, None, orjson.dumps(doc)))
        batch(records, NOW + 60)
        # Ticks far enough apart to warn, then breach and escalate what is still open.
        tick_at = NOW + 3600.0 * 24 * (step + 1)
        batch([InRecord("cmd", home, 10_000 + step, tick_at, None, b'{"k":"tick"}')], tick_at)
        seen.append(pipeline.open_cases_by_tier())
    states = {sla for counts in seen for _, sla in counts}
    assert {"on_time", "overdue"} <= states  # the ticks moved cases between SLA states


# -- feedback re-keyed through the commands topic ------------------------------------------


def _rekeyed_refusal(engine: Engine, value: bytes, arrived_on: int) -> tuple[Any, list[Any]]:
    """Feedback ``value`` sent to partition ``arrived_on`` (a producer whose partitioner
    differs from the worker's), re-keyed, then applied on its home partition: (the
    command record, the records the home partition produced)."""
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    table: dict[str, bytes] = {}
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), table.get, lambda p: {})
    sent = InRecord("fb", arrived_on, 41, NOW, b"not-the-region", value)
    first = pipeline.process([sent], NOW)
    (command,) = [r for r in first.outputs if r.topic == "cmd"]
    home = partition_for(VILLAGE, 4)
    assert home != arrived_on
    rekeyed = InRecord("cmd", home, 7, NOW, command.key, command.value)
    return command, pipeline.process([rekeyed], NOW).outputs


def _feedback_bytes(case_id: str) -> bytes:
    # What a centre's system might send: an extra field, a note with trailing spaces, a
    # timestamp with a numeric offset; re-serialising would change all three.
    return (
        b'{"feedback_id": "fb-1", "case_id": "' + case_id.encode() + b'", '
        b'"center_code": "' + VILLAGE.encode() + b'", "action": "resolve", '
        b'"at": "2026-11-25T10:00:00.000+08:00", "note": "done   ", '
        b'"vendor_extra": {"x": 1}}'
    )


@pytest.mark.parametrize("case_id", [f"{VILLAGE}-nosuchcase", "not-a-case-id"])
def test_a_rekeyed_feedback_refused_names_the_record_as_it_was_sent(
    engine: Engine, case_id: str
) -> None:
    home = partition_for(VILLAGE, 4)
    arrived_on = (home + 1) % 4
    value = _feedback_bytes(case_id)
    if case_id == "not-a-case-id":
        # Refused before any re-keying: the original record, on the partition it came in.
        outputs = _rekeyed_refusal_direct(engine, value, arrived_on)
    else:
        command, outputs = _rekeyed_refusal(engine, value, arrived_on)
        assert orjson.loads(command.value)["src"] == ["fb", arrived_on, 41]
    (dlq,) = [r for r in outputs if r.topic == "dlq"]
    rejection = orjson.loads(dlq.value)
    assert (rejection["source_topic"], rejection["partition"], rejection["offset"]) == (
        "fb",
        arrived_on,
        41,
    )
    assert rejection["original"].encode() == value
    assert rejection["reason"] in {RejectReason.UNKNOWN_CASE.value, "invalid_transition"}


def _rekeyed_refusal_direct(engine: Engine, value: bytes, arrived_on: int) -> list[Any]:
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), {}.get, lambda p: {})
    return pipeline.process([InRecord("fb", arrived_on, 41, NOW, None, value)], NOW).outputs


def test_a_disposition_is_written_with_exactly_its_set_fields_in_model_order(
    engine: Engine,
) -> None:
    # The pipeline deletes the None fields from a copy instead of filtering every field;
    # the document must be what the filter gives, in the same order (the wire bytes).
    import time

    from gridflow.runtime.pipeline import _disposition_doc
    from gridflow.simulator.events import generate

    now = time.time()  # the simulator reports at the wall clock

    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    table: dict[str, bytes] = {}
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), table.get, lambda p: {})
    records = [
        InRecord(
            "in", partition_for(rec.key.decode(), 4) if rec.key else 0, i, now, rec.key, rec.value
        )
        for i, rec in enumerate(generate(400, 5, boundary_rate=0.1))
    ]
    # A tick first: each partition's timers start with it, so the later one finds them.
    ticks = [InRecord("cmd", p, -1, now, None, b'{"k":"tick"}') for p in range(4)]
    dispositions = pipeline.process(ticks + records, now).dispositions
    later = pipeline.process(
        [InRecord("cmd", p, -1, now + 86400 * 3, None, b'{"k":"tick"}') for p in range(4)],
        now + 86400 * 3,
    )
    dispositions += later.dispositions
    kinds = {d.action for d in dispositions}
    assert {"dispatch", "merge", "state", "escalate"} <= {k.value for k in kinds}
    for disp in dispositions:
        plain = {k: v for k, v in disp.__dict__.items() if v is not None}
        doc = _disposition_doc(disp)
        assert list(doc.items()) == list(plain.items())


def _boundary_records(events: int, boundary_rate: float) -> tuple[float, list[InRecord]]:
    """Simulator events, on their home partitions, with the instant they were made at."""
    import time

    from gridflow.simulator.events import generate

    now = time.time()  # the simulator reports at the wall clock
    records = [
        InRecord(
            "in", partition_for(rec.key.decode(), 4) if rec.key else 0, i, now, rec.key, rec.value
        )
        for i, rec in enumerate(generate(events, 11, boundary_rate=boundary_rate))
    ]
    return now, records


def _boundary_stream(
    engine: Engine, now: float, records: list[InRecord], announced: bool
) -> list[tuple[Any, ...]]:
    """Outputs and row writes of ``records``, each batch's commands read with the next;
    ``announced=False`` forgets the announcements' kept parses before every batch, as a
    worker replaying them after a crash has none."""
    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    table: dict[str, bytes] = {}
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), table.get, lambda p: {})
    seen: list[tuple[Any, ...]] = []
    pending: list[InRecord] = []
    offset = 0
    for start in range(0, len(records) + 200, 100):
        if not announced:
            pipeline._announced.clear()
        result = pipeline.process(pending + records[start : start + 100], now)
        pending = []
        for out in result.outputs:
            if out.topic == "dlq":
                doc = orjson.loads(out.value)
                doc.pop("at")  # the wall clock
                seen.append((out.topic, out.key, doc))
                continue
            seen.append((out.topic, out.key, out.value))
            if out.topic == "cmd" and out.key is not None:
                # A broker hands back equal bytes, not the object that was sent.
                home = partition_for(out.key.decode(), 4)
                pending.append(InRecord("cmd", home, offset, now, out.key, bytes(out.value)))
                offset += 1
        for rows in result.writes.values():
            seen += sorted(rows.items())
            table.update({k: v for k, v in rows.items() if v is not None})
    return seen


def test_town_announcements_read_back_decide_as_a_replay_that_parses_them(
    engine: Engine,
) -> None:
    now, records = _boundary_records(600, boundary_rate=0.3)
    kept = _boundary_stream(engine, now, records, announced=True)
    assert kept == _boundary_stream(engine, now, records, announced=False)
    merged = [e for e in kept if e[0] == "cmd" and b'"xv.absorb"' in e[2]]
    assert merged, "the stream must merge across village lines"


def test_a_kept_announcement_parse_is_the_parse_of_its_bytes(engine: Engine) -> None:
    from gridflow.core.crossvillage import OpenedCase

    topics = TopicNames("in", "fb", "cmd", "disp", "dlq", "metrics")
    pipeline = Pipeline(engine, topics, 4, IngestLimits(), Metrics(), {}.get, lambda p: {})
    now, records = _boundary_records(300, boundary_rate=0.2)
    pipeline.process(records, now)
    assert len(pipeline._announced) > 50
    for value, parsed in pipeline._announced.items():
        doc = orjson.loads(value)
        assert parsed == {"k": doc["k"], "v": OpenedCase.from_doc(doc["v"]), "ts": float(doc["ts"])}
        assert [type(x) for x in parsed["v"]] == [type(x) for x in OpenedCase.from_doc(doc["v"])]


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_a_converted_event_is_what_model_copy_makes(datum: str) -> None:
    from gridflow.core.ingest import _in_wgs84

    event = GridEvent.model_validate(
        {
            "event_id": "e1",
            "source_network": "chengguan",
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.556, "lon": 106.571},
            "coord_system": datum,
            "title": "井盖缺失",
        }
    )
    converted = _in_wgs84(event)
    plain = event.model_copy(update={"location": converted.location, "coord_system": "wgs84"})
    assert list(converted.__dict__.items()) == list(plain.__dict__.items())
    assert converted.__pydantic_fields_set__ == plain.__pydantic_fields_set__
    assert (converted.__pydantic_extra__, converted.__pydantic_private__) == (None, None)
    assert converted.location != event.location and event.coord_system == datum
