"""A batch takes record times the worker can vouch for (gridflow.core.record_clock)."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.structs import TopicPartition

from gridflow.runtime.checkpoint import build_batch

NOW = 1_796_000_000.0
CREATE_TIME, LOG_APPEND_TIME = 0, 1


def message(offset: int, seconds: float, kind: int) -> SimpleNamespace:
    return SimpleNamespace(
        topic="in",
        partition=0,
        offset=offset,
        timestamp=int(seconds * 1000),
        timestamp_type=kind,
        key=None,
        value=b"{}",
    )


def test_a_batch_clamps_record_times_the_worker_cannot_vouch_for() -> None:
    # The embedded broker keeps producer timestamps (CreateTime) even on a topic created
    # with LogAppendTime: a back-dated one must not start an SLA clock a day ago.
    fetched = {
        TopicPartition("in", 0): [
            message(0, NOW - 1, CREATE_TIME),
            message(1, NOW - 86_400, CREATE_TIME),
            message(2, NOW - 86_400, LOG_APPEND_TIME),
            message(3, NOW + 3_600, LOG_APPEND_TIME),
        ]
    }
    first = build_batch(fetched, ["in"], NOW, max_skew_s=300)
    assert [r.timestamp for r in first.records] == [NOW - 1, NOW, NOW - 86_400, NOW]
    # A replay of the journaled batch runs on the journaled clock and clamps alike.
    again = build_batch(fetched, ["in"], first.now, max_skew_s=300)
    assert again.records == first.records
