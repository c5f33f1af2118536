"""The working calendar: workdays (official holidays, 调休) and working-time arithmetic.

Calendar facts used below, from chinese_calendar 1.11.0 (State Council notices):
  National Day 2025: 10-01 .. 10-08 off; Sun 09-28 and Sat 10-11 are make-up workdays.
  Spring Festival 2025: 01-28 .. 02-04 off; Sun 01-26 and Sat 02-08 are make-up workdays.
  Spring Festival 2026: 02-15 .. 02-23 off; Sat 02-14 and Sat 02-28 are make-up workdays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.workcalendar import WorkCalendar, load_calendar, parse_time_span

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = BUNDLED_RULES


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2025, 9, 26), True),  # Friday
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, 调休 for National Day
        (date(2025, 10, 1), False),  # National Day
        (date(2025, 10, 8), False),  # last day of the holiday (a Wednesday)
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, 调休
        (date(2025, 10, 12), False),  # Sunday
        (date(2025, 1, 26), True),  # Sunday, 调休 for Spring Festival
        (date(2025, 1, 29), False),  # 春节
        (date(2025, 2, 8), True),  # Saturday, 调休
        (date(2026, 2, 14), True),  # Saturday, 调休
        (date(2026, 2, 17), False),  # 春节 2026
        (date(2026, 2, 28), True),  # Saturday, 调休
    ],
)
def test_workdays_follow_the_official_calendar(day: date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2030, 1, 1), False),  # 元旦, a statutory holiday every year
        (date(2030, 1, 2), True),  # a Wednesday; bridging days need the year's notice
        (date(2030, 1, 5), False),  # Saturday
        (date(1999, 10, 1), False),  # National Day, before chinese_calendar's first year
        (date(1999, 10, 8), True),  # a Friday
    ],
)
def test_years_without_a_notice_keep_statutory_holidays_and_monday_to_friday(
    day: date, workday: bool
) -> None:
    assert not CAL.covers(day)
    assert CAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("overrides", "day", "workday"),
    [
        ({"holidays": [date(2025, 10, 10)]}, date(2025, 10, 10), False),
        ({"workdays": [date(2030, 1, 5)]}, date(2030, 1, 5), True),
        ({"holidays": [date(2030, 1, 2)]}, date(2030, 1, 2), False),
    ],
)
def test_local_overrides_win(overrides: dict[str, list[date]], day: date, workday: bool) -> None:
    assert WorkCalendar(**overrides).is_workday(day) is workday  # type: ignore[arg-type]


# ---- add_working_time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "expected", "why"),
    [
        (at(2025, 9, 30, 10), timedelta(hours=1), at(2025, 9, 30, 11), "inside a period"),
        (at(2025, 9, 30, 11), timedelta(hours=2), at(2025, 9, 30, 15), "across lunch"),
        (at(2025, 9, 30, 12, 30), timedelta(hours=1), at(2025, 9, 30, 15), "start at lunch"),
        (at(2025, 9, 29, 7), timedelta(hours=1), at(2025, 9, 29, 10), "start before work"),
        (at(2025, 9, 29, 17), timedelta(hours=2), at(2025, 9, 30, 10), "across the night"),
        (at(2025, 9, 29, 20), timedelta(hours=4), at(2025, 9, 30, 15), "start after hours"),
        (at(2025, 9, 30, 14), timedelta(hours=4), at(2025, 9, 30, 18), "ends at close"),
        (at(2025, 9, 30, 9), timedelta(hours=3), at(2025, 9, 30, 12), "ends at lunch"),
        # Tuesday 16:00 + 4 wh: 2 h on 09-30, then 10-01..10-08 off, 2 h on Thursday 10-09.
        (at(2025, 9, 30, 16), timedelta(hours=4), at(2025, 10, 9, 11), "across National Day"),
        # Friday 17:00 + 2 wh: Saturday 09-27 is off, Sunday 09-28 is a 调休 workday.
        (at(2025, 9, 26, 17), timedelta(hours=2), at(2025, 9, 28, 10), "onto a 调休 Sunday"),
        # Friday 10-10 17:00 + 2 wh: Saturday 10-11 is a 调休 workday.
        (at(2025, 10, 10, 17), timedelta(hours=2), at(2025, 10, 11, 10), "onto a 调休 Saturday"),
        # Saturday 2025-09-27 (off) + 1 wh: the next workday is Sunday 09-28.
        (at(2025, 9, 27, 10), timedelta(hours=1), at(2025, 9, 28, 10), "start on a day off"),
        # Spring Festival 2025: Monday 01-27 16:00 + 4 wh resumes Wednesday 02-05.
        (at(2025, 1, 27, 16), timedelta(hours=4), at(2025, 2, 5, 11), "across 春节 2025"),
        # Spring Festival 2026: Saturday 02-14 is a workday, then 02-15..02-23 off.
        (at(2026, 2, 14, 17), timedelta(hours=3), at(2026, 2, 24, 11), "across 春节 2026"),
        # Three whole days of working time (21 h) from Monday morning.
        (at(2025, 9, 29, 9), timedelta(hours=21), at(2025, 10, 9, 18), "whole days skipped"),
        (at(2025, 9, 30, 10, 0), timedelta(0), at(2025, 9, 30, 10, 0), "zero changes nothing"),
        (at(2025, 9, 27, 3), timedelta(0), at(2025, 9, 27, 3), "zero even off hours"),
        (
            at(2025, 9, 30, 10),
            timedelta(seconds=1),
            at(2025, 9, 30, 10) + timedelta(seconds=1),
            "a second",
        ),
    ],
)
def test_add_working_time(start: datetime, amount: timedelta, expected: datetime, why: str) -> None:
    assert CAL.add_working_time(start, amount) == expected, why


def test_add_working_time_answers_in_the_tzinfo_of_the_input() -> None:
    start = at(2025, 9, 30, 16).astimezone(UTC)
    result = CAL.add_working_time(start, timedelta(hours=4))
    assert result.tzinfo is UTC
    assert result == at(2025, 10, 9, 11)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: CAL.add_working_time(datetime(2025, 9, 30, 10), timedelta(hours=1)), "naive"),
        (lambda: CAL.add_working_time(at(2025, 9, 30), timedelta(hours=-1)), "negative"),
        (lambda: CAL.add_working_days(at(2025, 9, 30), -1), "negative"),
        (lambda: CAL.add_working_days(datetime(2025, 9, 30, 10), 1), "naive"),
    ],
)
def test_refuses_naive_or_negative_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# ---- add_working_days -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected", "why"),
    [
        (at(2025, 9, 29, 10), 0, at(2025, 9, 29, 18), "0d is the same day's close"),
        (at(2025, 9, 29, 10), 1, at(2025, 9, 30, 18), "the receiving day is not counted"),
        (at(2025, 9, 29, 17, 59), 1, at(2025, 9, 30, 18), "late but before close"),
        (at(2025, 9, 29, 18), 0, at(2025, 9, 30, 18), "at close: received next workday"),
        (at(2025, 9, 29, 22), 1, at(2025, 10, 9, 18), "after close, then National Day"),
        (at(2025, 9, 30, 16), 2, at(2025, 10, 10, 18), "across National Day"),
        (at(2025, 9, 30, 16), 3, at(2025, 10, 11, 18), "onto a 调休 Saturday"),
        (at(2025, 9, 27, 10), 0, at(2025, 9, 28, 18), "Saturday off: received on 调休 Sunday"),
        (at(2025, 10, 3, 10), 0, at(2025, 10, 9, 18), "received in a holiday"),
        (at(2025, 10, 3, 10), 3, at(2025, 10, 13, 18), "holiday start, 10-11 counts"),
        (at(2025, 1, 27, 10), 3, at(2025, 2, 7, 18), "across 春节 2025"),
        (at(2026, 2, 13, 10), 1, at(2026, 2, 14, 18), "onto 调休 Saturday 2026-02-14"),
        (at(2026, 2, 13, 10), 2, at(2026, 2, 24, 18), "across 春节 2026"),
        (at(2025, 11, 3, 10), 13, at(2025, 11, 20, 18), "12345 complaint: 13 wd"),
    ],
)
def test_add_working_days(start: datetime, days: int, expected: datetime, why: str) -> None:
    assert CAL.add_working_days(start, days) == expected, why


def test_add_working_days_uses_the_calendars_zone_for_the_receiving_day() -> None:
    # 2025-09-29 11:00 UTC is 19:00 in Shanghai: after close, so received on 09-30.
    start = datetime(2025, 9, 29, 11, tzinfo=UTC)
    assert CAL.add_working_days(start, 0) == at(2025, 9, 30, 18)
    assert CAL.add_working_days(start, 0).tzinfo is UTC


# ---- working_time_between ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(2025, 9, 30, 10), at(2025, 9, 30, 11), timedelta(hours=1)),
        (at(2025, 9, 30, 11), at(2025, 9, 30, 15), timedelta(hours=2)),
        (at(2025, 9, 30, 16), at(2025, 10, 9, 11), timedelta(hours=4)),
        (at(2025, 9, 30, 11), at(2025, 9, 30, 10), timedelta(0)),
        (at(2025, 9, 27, 0), at(2025, 9, 28, 0), timedelta(0)),
    ],
)
def test_working_time_between(start: datetime, end: datetime, expected: timedelta) -> None:
    assert CAL.working_time_between(start, end) == expected


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (at(2025, 9, 30, 9), True),
        (at(2025, 9, 30, 12, 30), False),
        (at(2025, 9, 30, 18), True),
        (at(2025, 9, 30, 18, 1), False),
        (at(2025, 10, 2, 10), False),
        (at(2025, 10, 11, 10), True),
    ],
)
def test_is_working_time(moment: datetime, working: bool) -> None:
    assert CAL.is_working_time(moment) is working


# ---- Properties -------------------------------------------------------------------------

_starts = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH)
)
_amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=200))


@given(_starts, _amounts, _amounts)
def test_add_working_time_is_monotonic_in_the_amount(
    start: datetime, a: timedelta, b: timedelta
) -> None:
    small, large = sorted((a, b))
    assert CAL.add_working_time(start, small) <= CAL.add_working_time(start, large)


@given(_starts, _amounts.filter(bool))
def test_add_working_time_lands_in_working_time(start: datetime, amount: timedelta) -> None:
    end = CAL.add_working_time(start, amount)
    assert end > start
    assert CAL.is_working_time(end)


@given(_starts, _amounts)
def test_working_time_between_inverts_add_working_time(start: datetime, amount: timedelta) -> None:
    assert CAL.working_time_between(start, CAL.add_working_time(start, amount)) == amount


@given(_starts, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_add_working_days_is_monotonic_and_ends_at_close(start: datetime, a: int, b: int) -> None:
    small, large = sorted((a, b))
    first, second = CAL.add_working_days(start, small), CAL.add_working_days(start, large)
    assert start < first <= second
    assert first.time() == time(18) and CAL.is_workday(first.date())


# ---- Time spans and calendar.yaml -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-12:00", (time(9), time(12))),
        ("9:00-12:00", (time(9), time(12))),
        ("22:00-06:00", (time(22), time(6))),
        ("14:30 - 18:00", (time(14, 30), time(18))),
    ],
)
def test_parse_time_span(text: str, expected: tuple[time, time]) -> None:
    assert parse_time_span(text) == expected


@pytest.mark.parametrize(
    "text", ["9-12", "09:00", "25:00-06:00", "10:60-11:00", "10:00-10:00", 540]
)
def test_parse_time_span_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_time_span(text)


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ((), "at least one"),
        (((time(12), time(9)),), "empty"),
        (((time(9), time(12)), (time(11), time(18))), "overlap"),
    ],
)
def test_constructor_refuses_bad_periods(
    periods: tuple[tuple[time, time], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar(periods=periods)


def test_constructor_refuses_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkCalendar("Asia/Beijing")


def test_bundled_calendar_file_matches_the_defaults() -> None:
    calendar = load_calendar(RULES / "calendar.yaml")
    assert calendar.tz == "Asia/Shanghai"
    assert calendar.periods == ((time(9), time(12)), (time(14), time(18)))
    assert calendar.working_day_length == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("timezone: Asia/Shanghai\n", 1, "lacks required field 'working_periods'"),
        ("timezone: Mars/Base\nworking_periods: ['09:00-12:00']\n", 1, "unknown time zone"),
        ("timezone: Asia/Shanghai\nworking_periods:\n  - '22:00-06:00'\n", 3, "must not wrap"),
        ("timezone: Asia/Shanghai\nworking_periods:\n  - 9am-noon\n", 3, "not HH:MM-HH:MM"),
        (
            "timezone: Asia/Shanghai\nworking_periods: ['09:00-12:00']\nholidays:\n  - 2025-13-01\n",
            4,
            "not a date",
        ),
        (
            "timezone: Asia/Shanghai\nworking_periods: ['09:00-12:00']\nworkday: []\n",
            3,
            "did you mean 'workdays'",
        ),
    ],
)
def test_calendar_file_errors_point_at_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigLoadError, match=message) as caught:
        load_calendar(path)
    assert caught.value.line == line
