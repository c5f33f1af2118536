"""The official calendar: both packages against the State Council's published days.

2026 is the last year whose notice (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04)
is published in a form the packages carry; it is written out below as the notice states
it. 2027's notice is in neither package (chinese-calendar 1.11.0 stops at 2026; holidays
0.109 computes 2027 from the law, plus guessed bridging days), so for 2027 only the
statutory holidays of 全国年节及纪念日放假办法 (2024 revision) are certain: that table is
below too, and 2027 counts as not covered.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gridflow.core.official_days import is_official_workday, package_workday, source_of
from gridflow.core.workcalendar import WorkCalendar


def span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# 国务院办公厅关于2026年部分节假日安排的通知: days off (放假调休) and make-up workdays (上班).
NOTICE_2026_OFF = [
    *span(date(2026, 1, 1), date(2026, 1, 3)),  # 元旦
    *span(date(2026, 2, 15), date(2026, 2, 23)),  # 春节
    *span(date(2026, 4, 4), date(2026, 4, 6)),  # 清明节
    *span(date(2026, 5, 1), date(2026, 5, 5)),  # 劳动节
    *span(date(2026, 6, 19), date(2026, 6, 21)),  # 端午节
    *span(date(2026, 9, 25), date(2026, 9, 27)),  # 中秋节
    *span(date(2026, 10, 1), date(2026, 10, 7)),  # 国庆节
]
NOTICE_2026_WORK = [
    date(2026, 1, 4),  # Sunday
    date(2026, 2, 14),  # Saturday
    date(2026, 2, 28),  # Saturday
    date(2026, 5, 9),  # Saturday
    date(2026, 9, 20),  # Sunday
    date(2026, 10, 10),  # Saturday
]

# 全国年节及纪念日放假办法 (2024): the 13 statutory days of 2027 (农历 dates converted).
STATUTORY_2027 = {
    date(2027, 1, 1): "元旦",
    date(2027, 2, 5): "除夕",
    date(2027, 2, 6): "春节 初一",
    date(2027, 2, 7): "春节 初二",
    date(2027, 2, 8): "春节 初三",
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节",
    date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    date(2027, 10, 1): "国庆节",
    date(2027, 10, 2): "国庆节",
    date(2027, 10, 3): "国庆节",
}


def published_2026(day: date) -> bool:
    if day in NOTICE_2026_WORK:
        return True
    return day.weekday() < 5 and day not in NOTICE_2026_OFF


@pytest.mark.parametrize("package", ["chinese_calendar", "holidays"])
def test_both_packages_match_the_2026_notice_on_every_day(package: str) -> None:
    wrong = [
        day
        for day in span(date(2026, 1, 1), date(2026, 12, 31))
        if package_workday(day, package) is not published_2026(day)  # type: ignore[arg-type]
    ]
    assert wrong == []


def test_the_packages_agree_on_every_day_of_2006_to_2026() -> None:
    # 2005-12-31 is the one day they differ on since 2004; chinese_calendar decides it.
    wrong = [
        day
        for day in span(date(2006, 1, 1), date(2026, 12, 31))
        if package_workday(day, "chinese_calendar") is not package_workday(day, "holidays")
    ]
    assert wrong == []


def test_chinese_calendar_decides_its_years_and_2027_has_only_statutory_days() -> None:
    assert source_of(2026) == "chinese_calendar"
    assert source_of(2027) == "statutory"


@pytest.mark.parametrize(("day", "name"), sorted(STATUTORY_2027.items()))
def test_2027_statutory_holidays_are_days_off(day: date, name: str) -> None:
    assert not is_official_workday(day), name


def test_2027_other_weekdays_are_workdays_until_the_notice_says_otherwise() -> None:
    weekdays = [d for d in span(date(2027, 1, 1), date(2027, 12, 31)) if d.weekday() < 5]
    off = [d for d in weekdays if not is_official_workday(d)]
    assert off == sorted(d for d in STATUTORY_2027 if d.weekday() < 5)


@pytest.mark.parametrize(
    ("calendar", "today", "until"),
    [
        (WorkCalendar(), date(2026, 12, 4), date(2026, 12, 31)),
        (WorkCalendar(), date(2020, 3, 1), date(2026, 12, 31)),
        (WorkCalendar(), date(2027, 1, 10), date(2027, 1, 9)),  # already uncovered
        (WorkCalendar(notice_years=[2027]), date(2026, 12, 4), date(2027, 12, 31)),
        (WorkCalendar(notice_years=[2028]), date(2026, 12, 4), date(2026, 12, 31)),  # a gap
        (WorkCalendar(every_day=True), date(2026, 12, 4), date.max),
    ],
)
def test_covered_until(calendar: WorkCalendar, today: date, until: date) -> None:
    assert calendar.covered_until(today) == until
