"""How ``gridflow tail`` shows a record of each topic to a person: one line, the centres'
words first, then the codes to search for."""

from __future__ import annotations

import orjson
import pytest

from gridflow.ops.record_view import describe, view
from gridflow.ops.topic_reader import TopicRecord
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, FEEDBACK

CASE = "500103001003-aaaaaaaaaaaa"


def record(topic: str, value: object, headers: tuple[tuple[str, bytes], ...] = ()) -> TopicRecord:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return TopicRecord(topic, 2, 41, 1_796_414_400_000, b"k", raw, headers)


@pytest.mark.parametrize(
    ("topic", "value", "shown"),
    [
        (
            DISPOSITIONS,
            {
                "disposition_id": f"{CASE}/escalate/town",
                "case_id": CASE,
                "action": "escalate",
                "tier": "town",
                "center_code": "500103001000",
                "at": "2026-12-04T09:00:00+08:00",
                "state": "dispatched",
                "title": "井盖缺失",
            },
            [
                "督办：升级至上级",
                f"案件 {CASE}",
                "→ 乡镇/街道 500103001000",
                "已派遣，待受理",
                "井盖缺失",
            ],
        ),
        (
            FEEDBACK,
            {"feedback_id": "f", "case_id": CASE, "center_code": "500103001003", "action": "close"},
            ["反馈：结案 (close)", f"案件 {CASE}", "中心 500103001003"],
        ),
        (
            EVENTS_IN,
            {"event_id": "e-9", "source_network": "video_ai", "region_code": "500103001003"},
            ["上报：e-9", "网络 video_ai", "区划 500103001003"],
        ),
        (
            DLQ,
            {
                "reason": "unknown_network",
                "detail": "network 'xx' is not configured",
                "source_topic": EVENTS_IN,
                "partition": 1,
                "offset": 5,
                "original": "{}",
                "at": "2026-12-04T09:00:00+08:00",
            },
            ["拒收：未登记的来源网络 (unknown_network)", "来源 grid.events.in[1]@5"],
        ),
        (EVENTS_IN, b"[{}, {}]", ["批量记录：2 条"]),
        (EVENTS_IN, b"\xff garbage", ["（非 JSON 对象）"]),
    ],
    ids=["disposition", "feedback", "event", "dlq", "batch", "garbage"],
)
def test_each_topic_reads_as_one_line(topic: str, value: object, shown: list[str]) -> None:
    line = describe(view(record(topic, value), topic))
    assert "\n" not in line and f"{topic}[2]@41" in line
    for part in shown:
        assert part in line


def test_a_replayed_record_says_where_it_came_from() -> None:
    rec = record(
        EVENTS_IN,
        {"event_id": "e"},
        (("gridflow-replay-of", b"grid.events.dlq/0/3"),),
    )
    assert "重放自 grid.events.dlq/0/3" in describe(view(rec, EVENTS_IN))
    assert view(rec, EVENTS_IN).to_json()["headers"] == {
        "gridflow-replay-of": "grid.events.dlq/0/3"
    }
