"""China's official days off and make-up workdays, from two well-kept packages.

Two kinds of facts decide whether a day is a workday:

* **Statutory holidays** (法定节假日), fixed by the State Council's 全国年节及纪念日放假办法
  (2024 revision: 元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1,
  国庆 3). They follow from the law and the lunar calendar, so they are known for any
  year: ``holidays`` computes them.
* **The yearly notice** (国务院办公厅关于YYYY年部分节假日安排的通知, published each
  November): bridging days off (放假调休) and the weekend make-up workdays (调休上班). Only
  the notice gives these; a year whose notice is not known is *not covered*.

Sources, first match wins, per year:

1. ``chinese_calendar`` (the project's long-standing source) for the years it has the
   notice of (1.11.0: 2004-2026);
2. ``holidays`` for the years whose notice it carries (0.109: through 2026; it agrees
   with ``chinese_calendar`` on every day of 2006-2026, tests/core/test_official_days.py);
3. otherwise the statutory holidays from ``holidays`` plus Monday-Friday: the law's days
   are right, but bridging days and make-up workdays are missing until the notice is
   entered in calendar.yaml (``holidays:``, ``workdays:``, ``notice_years:``). Such a
   year is reported by ``covers``: `gridflow rules check` fails and an alert fires before
   a deadline can reach into it.

``holidays`` also computes guessed bridging days for future years (its 补假 "observed"
rule); they are not the notice, so they are not used.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

import chinese_calendar
import holidays

__all__ = ["Source", "is_official_workday", "package_workday", "source_of"]

Source = Literal["chinese_calendar", "holidays", "statutory"]


@lru_cache(maxsize=256)
def source_of(year: int) -> Source:
    """Which source decides the workdays of ``year`` (see the module docstring)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        pass
    else:
        return "chinese_calendar"
    if year in _holidays_notice_years():
        return "holidays"
    return "statutory"


def is_official_workday(day: dt.date) -> bool:
    """True when ``day`` is a workday by the official calendar of its year."""
    source = source_of(day.year)
    if source == "chinese_calendar":
        return bool(chinese_calendar.is_workday(day))
    days_off, make_up = _holidays_year(day.year, source == "holidays")
    if day in make_up:
        return True
    return day.weekday() < 5 and day not in days_off


def package_workday(day: dt.date, package: Literal["chinese_calendar", "holidays"]) -> bool:
    """``day``'s answer from one package alone (the notice where it has one): for tests.

    Raises ``NotImplementedError`` where ``chinese_calendar`` has no data.
    """
    if package == "chinese_calendar":
        return bool(chinese_calendar.is_workday(day))
    days_off, make_up = _holidays_year(day.year, day.year in _holidays_notice_years())
    return day in make_up or (day.weekday() < 5 and day not in days_off)


@lru_cache(maxsize=64)
def _holidays_year(year: int, with_notice: bool) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    # observed=False leaves only the statutory days: the package's observed rule guesses
    # the bridging days of years without a notice. In notice years its observed days are
    # the notice's.
    table = holidays.country_holidays("CN", years=year, observed=with_notice)
    make_up = frozenset(d for d in table.weekend_workdays if d.year == year) if with_notice else ()
    return frozenset(table), frozenset(make_up)


@lru_cache(maxsize=1)
def _holidays_notice_years() -> frozenset[int]:
    # The package keeps each notice's bridging days per year on ChinaStaticHolidays; were
    # that attribute renamed, no year counts as noticed and coverage errs on the safe side
    # (tested).
    try:
        from holidays.countries.china import ChinaStaticHolidays
    except ImportError:  # pragma: no cover - depends on the installed package
        return frozenset()
    table = getattr(ChinaStaticHolidays, "special_public_holidays", {})
    return frozenset(y for y in table if isinstance(y, int))
