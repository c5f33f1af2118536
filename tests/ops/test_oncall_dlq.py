"""DLQ records for on-call: what they say, where a replay goes, how they are counted."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from gridflow.config import Settings
from gridflow.core.regions import RegionGraph
from gridflow.ops import dlq
from gridflow.ops.arguments import since_time
from gridflow.ops.errors import OpsError
from gridflow.ops.record_view import Filter, view
from gridflow.ops.topic_names import resolve
from gridflow.ops.topic_reader import TopicRecord
from gridflow.topics import COMMANDS, DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK

PREFIX = "t1."
SETTINGS = Settings(topic_prefix=PREFIX)
FEEDBACK_DOC = {"feedback_id": "f1", "case_id": "500103001003-aaaaaaaaaaaa", "action": "close"}
EVENT = {"event_id": "e1", "source_network": "huanbao", "region_code": "500103001003"}


def refusal(source: str, original: object, reason: str = "schema", offset: int = 7) -> dlq.Refusal:
    raw = original if isinstance(original, bytes) else orjson.dumps(original)
    try:
        text, b64 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text, b64 = base64.b64encode(raw).decode(), True
    doc = {
        "reason": reason,
        "detail": "d",
        "source_topic": PREFIX + source,
        "partition": 1,
        "offset": 3,
        "original": text,
        "original_base64": b64,
        "at": "2026-12-04T09:15:00+08:00",
    }
    record = TopicRecord(PREFIX + DLQ, 0, offset, 0, b"500103001003", orjson.dumps(doc), ())
    item = dlq.refusal(view(record, DLQ))
    assert item is not None
    return item


@pytest.mark.parametrize(
    ("source", "original", "target"),
    [
        (EVENTS_IN, EVENT, EVENTS_IN),
        (FEEDBACK, FEEDBACK_DOC, FEEDBACK),
        # Forwarded through the workers' re-key topic: back to the input of its kind.
        (COMMANDS, FEEDBACK_DOC, FEEDBACK),
        (COMMANDS, EVENT, EVENTS_IN),
        (DISPOSITIONS, {"a": 1}, None),
    ],
)
def test_a_replay_goes_to_the_input_topic_it_came_from(
    source: str, original: object, target: str | None
) -> None:
    expected = PREFIX + target if target else None
    assert refusal(source, original).target(SETTINGS) == expected


def test_the_replay_sends_the_original_bytes_even_when_not_utf8() -> None:
    item = refusal(EVENTS_IN, b"\xff\xfe not utf-8")
    assert item.original == b"\xff\xfe not utf-8"
    assert dict(dlq.replay_headers(item)) == {
        "gridflow-replay-of": f"{PREFIX}grid.events.dlq/0/7".encode(),
        "gridflow-replay-reason": b"schema",
    }


def test_facts_of_a_refusal_come_from_its_original() -> None:
    v = refusal(FEEDBACK, FEEDBACK_DOC, "invalid_transition").view
    assert v.facts.case == FEEDBACK_DOC["case_id"] and v.facts.action == "close"
    assert v.facts.region == "500103001003" and v.facts.reason == "invalid_transition"
    assert Filter(case=FEEDBACK_DOC["case_id"], reason="invalid_transition").matches(v)
    assert not Filter(reason="schema").matches(v)


def test_tally_counts_by_reason_network_topic_and_hour() -> None:
    items = [
        refusal(EVENTS_IN, EVENT, "unknown_region"),
        refusal(EVENTS_IN, EVENT, "unknown_region"),
        refusal(FEEDBACK, FEEDBACK_DOC, "unknown_case"),
    ]
    tally = dlq.Tally()
    for item in items:
        tally.add(item)
    counts = tally.by
    assert tally.total == 3
    assert counts["reason"] == {"unknown_region": 2, "unknown_case": 1}
    assert counts["network"] == {"huanbao": 2, "-": 1}
    assert counts["source_topic"] == {PREFIX + EVENTS_IN: 2, PREFIX + FEEDBACK: 1}
    assert counts["hour"] == {"2026-12-04T01:00Z": 3}


def test_topics_are_named_with_or_without_the_prefix() -> None:
    assert resolve(SETTINGS, FEEDBACK) == (FEEDBACK, PREFIX + FEEDBACK)
    assert resolve(SETTINGS, PREFIX + FEEDBACK) == (
        FEEDBACK,
        PREFIX + FEEDBACK,
    )
    with pytest.raises(OpsError, match="unknown topic"):
        resolve(SETTINGS, "grid.events")


def test_since_takes_an_age_or_a_time_with_offset() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert since_time("90m", now) == datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
    assert since_time("2026-12-04T08:00:00+08:00") == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    with pytest.raises(OpsError, match="offset"):
        since_time("2026-12-04T08:00:00")


@pytest.mark.parametrize(
    ("region", "kept"),
    [
        ("500103001003", True),  # the village itself
        ("500103001000", True),  # its town
        ("500103000000", True),  # its county
        ("500101000000", False),  # another county
        ("500103001006", False),  # a neighbouring village
    ],
)
def test_region_filter_keeps_the_regions_subtree(region: str, kept: bool) -> None:
    v = refusal(EVENTS_IN, EVENT).view
    assert Filter(region=region, regions=RegionGraph.default()).matches(v) is kept
