"""Duration strings: the syntax the rules files use for SLA limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridflow.core.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("0d", timedelta(0)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("45s", timedelta(seconds=45)),
        ("13d", timedelta(days=13)),
    ],
)
def test_parses_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty duration"),
        ("4", "bad duration"),
        ("h", "bad duration"),
        ("4 h", "bad duration"),
        ("4H", "bad duration"),
        ("-4h", "bad duration"),
        ("1.5h", "bad duration"),
        ("4x", "unknown unit 'x'"),
        ("7wd", "unknown unit 'wd'"),
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        ("4h ", "bad duration"),
        (4, "must be a string with a unit"),
        (None, "must be a string with a unit"),
        (True, "must be a string with a unit"),
    ],
)
def test_refuses_malformed_durations(value: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("1d", "hms"),  # a "day" of working hours is ambiguous
        ("4h", "d"),  # working days are whole days
        ("1d4h", "d"),
    ],
)
def test_refuses_units_the_context_does_not_allow(text: str, units: str) -> None:
    with pytest.raises(DurationError, match="allowed here"):
        parse_duration(text, units=units)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_formats_canonically(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


@pytest.mark.parametrize("value", [timedelta(seconds=-1), timedelta(milliseconds=1500)])
def test_format_refuses_what_the_syntax_cannot_say(value: timedelta) -> None:
    with pytest.raises(DurationError):
        format_duration(value)


@given(st.integers(min_value=0, max_value=10**8))
def test_format_and_parse_round_trip(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
