"""The SLA clock starts at a record time the worker can vouch for: clamp, never trust blindly."""

from __future__ import annotations

import pytest

from gridflow.core.record_clock import LOG_APPEND_TIME, trusted_record_time

NOW = 1_796_000_000.0
SKEW = 300.0
CREATE_TIME = 0


@pytest.mark.parametrize(
    ("record", "kind", "expected", "why"),
    [
        (NOW - 2, CREATE_TIME, NOW - 2, "an ordinary delay is kept"),
        (NOW - 2, LOG_APPEND_TIME, NOW - 2, "the broker's append time is kept"),
        (NOW - 86_400, CREATE_TIME, NOW, "a back-dated producer stamp is clamped to now"),
        (NOW - 86_400, LOG_APPEND_TIME, NOW - 86_400, "a day in a backlog is real waiting"),
        (NOW + 3_600, CREATE_TIME, NOW, "a producer clock ahead is clamped"),
        (NOW + 3_600, LOG_APPEND_TIME, NOW, "a broker clock ahead is clamped"),
        (NOW + SKEW, CREATE_TIME, NOW + SKEW, "within the skew either way"),
        (NOW - SKEW, CREATE_TIME, NOW - SKEW, "within the skew either way"),
    ],
)
def test_trusted_record_time(record: float, kind: int, expected: float, why: str) -> None:
    assert trusted_record_time(record, kind, NOW, SKEW) == expected, why
