"""What ``gridflow send`` reads, checks and keys, before anything is sent."""

from __future__ import annotations

import orjson
import pytest

from gridflow.ops.errors import OpsError
from gridflow.ops.send_input import contract_key, documents, prepare
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK

EVENT = {
    "event_id": "e1",
    "source_network": "chengguan",
    "reported_at": "2026-12-04T09:00:00+08:00",
    "region_code": "500103001003",
    "title": "井盖缺失",
}
FEEDBACK_DOC = {
    "feedback_id": "f1",
    "case_id": "500103001003-aaaaaaaaaaaa",
    "center_code": "500103001003",
    "action": "accept",
    "at": "2026-12-04T09:00:00+08:00",
}


def test_one_object_per_line_with_line_numbers_and_blank_lines_skipped() -> None:
    text = '{"a": 1}\n\n{"a": 2}\n'
    assert documents(text, "f") == [(1, {"a": 1}), (3, {"a": 2})]


def test_a_json_array_is_one_record_per_element() -> None:
    assert documents('\n [{"a": 1}, {"a": 2}]', "f") == [(2, {"a": 1}), (2, {"a": 2})]


@pytest.mark.parametrize(
    ("topic", "doc", "key"),
    [
        (EVENTS_IN, EVENT, "500103001003"),
        (EVENTS_IN, {**EVENT, "region_code": ""}, None),
        (FEEDBACK, FEEDBACK_DOC, "500103001003"),
        (FEEDBACK, {**FEEDBACK_DOC, "case_id": "foreign"}, None),
        (DISPOSITIONS, {"center_code": "500103001000"}, "500103001000"),
        (DLQ, {"reason": "schema"}, None),
    ],
)
def test_keys_follow_the_contract(topic: str, doc: dict[str, object], key: str | None) -> None:
    assert contract_key(topic, doc) == key


def test_records_are_validated_and_keyed() -> None:
    (event,) = prepare(EVENTS_IN, orjson.dumps(EVENT).decode(), "f", raw=False, key=None)
    assert event.key == b"500103001003" and event.ident == "e1"
    (fb,) = prepare(FEEDBACK, orjson.dumps(FEEDBACK_DOC).decode(), "f", raw=False, key="k")
    assert fb.key == b"k"


@pytest.mark.parametrize(
    ("topic", "text", "message"),
    [
        (EVENTS_IN, '{"event_id": "x"}', r"f:1: not a valid GridEvent: .*source_network"),
        (FEEDBACK, '{"feedback_id": "x"}\n', r"f:1: not a valid Feedback"),
        (EVENTS_IN, "{nope\n", r"f:1: not JSON"),
        (EVENTS_IN, "\n\n", r"no records"),
        (DISPOSITIONS, '{"a": 1}', r"--raw"),
    ],
)
def test_bad_input_is_refused_with_where_and_why(topic: str, text: str, message: str) -> None:
    with pytest.raises(OpsError, match=message):
        prepare(topic, text, "f", raw=False, key=None)


def test_raw_sends_anything_json_as_given() -> None:
    (rec,) = prepare(EVENTS_IN, '{"event_id": "x"}', "f", raw=True, key=None)
    assert orjson.loads(rec.value) == {"event_id": "x"} and rec.key is None


def test_raw_sends_each_line_byte_for_byte_even_when_not_json() -> None:
    broken, event = "not json at all", orjson.dumps(EVENT).decode()
    records = prepare(EVENTS_IN, f"{broken}\n\n{event}\n", "f", raw=True, key=None)
    assert [(r.line, r.value, r.key) for r in records] == [
        (1, broken.encode(), None),
        (3, event.encode(), b"500103001003"),
    ]
