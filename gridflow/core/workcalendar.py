"""Working days and working hours for SLA deadlines (工作日 / 工作时间).

Workdays follow the State Council's holiday notices as packaged by ``chinese_calendar`` and
``holidays`` (``official_days``): official holidays are days off, and the make-up workdays
(调休, e.g. Sunday 2025-09-28) are workdays. A calendar can instead run every day
(``every_day``: 环卫 sweeps on holidays too). Which days are *covered* (the year's notice
is known) is a fact of its own: ``covers`` and ``covered_until``. Working hours are the local periods of the centre's duty roster, by default
09:00-12:00 and 14:00-18:00 Asia/Shanghai.

Every method takes and returns aware datetimes; results are expressed in the tzinfo of the
input (so a UTC start gives a UTC deadline). Local wall times are those of ``tz``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.official_days import is_official_workday, source_of
from gridflow.core.yaml_lines import YamlMapping, YamlSequence, check_keys, load_yaml

__all__ = [
    "DEFAULT_PERIODS",
    "OFFICE",
    "WorkCalendar",
    "load_calendar",
    "load_calendars",
    "parse_time_span",
]

DEFAULT_PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(9), dt.time(12)),
    (dt.time(14), dt.time(18)),
)
# A search for the next working instant gives up after this many days: a calendar whose
# overrides mark ten years as holidays is a configuration error, not a deadline.
_MAX_SCAN_DAYS = 3660
_ONE_DAY = dt.timedelta(days=1)


_SPAN = re.compile(r"^([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})$")
_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_US = 86400 * 1_000_000


class WorkCalendar:
    """Workdays, working periods and the arithmetic of working time in one time zone."""

    __slots__ = (
        "_day_us",
        "_every_day",
        "_holidays",
        "_midnights",
        "_notice_years",
        "_periods_us",
        "_workday_cache",
        "_workdays",
        "name",
        "periods",
        "tz",
        "tzinfo",
    )

    def __init__(
        self,
        tz: str = "Asia/Shanghai",
        periods: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_PERIODS,
        *,
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
        notice_years: Iterable[int] = (),
        every_day: bool = False,
        name: str = "office",
    ) -> None:
        """A calendar in time zone ``tz`` with daily working ``periods`` (local, sorted).

        ``holidays`` and ``workdays`` override the official calendar for single dates: a
        local day off, or the days of a State Council notice the packages do not carry
        yet; ``notice_years`` are the years whose notice those overrides complete (they
        count as covered). ``every_day``: every day is a workday (no weekends, no
        holidays). Raises ``ValueError`` for an unknown zone or bad periods.
        """
        try:
            self.tzinfo = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        self.tz = tz
        if not periods:
            raise ValueError("at least one working period is needed")
        previous_end = -1
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working periods are local wall times, without tzinfo")
            if _micros(start) >= _micros(end):
                raise ValueError(f"working period {start:%H:%M}-{end:%H:%M} is empty")
            if _micros(start) < previous_end:
                raise ValueError("working periods must be sorted and must not overlap")
            previous_end = _micros(end)
        self.periods = tuple(periods)
        self._periods_us = tuple((_micros(s), _micros(e)) for s, e in periods)
        self._day_us = sum(e - s for s, e in self._periods_us)
        self.name = name
        self._every_day = every_day
        self._notice_years = frozenset(notice_years)
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        both = self._holidays & self._workdays
        if both:
            raise ValueError(f"dates both holiday and workday: {sorted(both)}")
        self._workday_cache: dict[dt.date, bool] = {}
        self._midnights: dict[dt.date, int | None] = {}

    def __repr__(self) -> str:
        spans = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.periods)
        days = ", every day" if self._every_day else ""
        return f"WorkCalendar({self.name!r}, {self.tz!r}, [{spans}]{days})"

    @property
    def every_day(self) -> bool:
        """True when every day is a workday (no weekends, no holidays)."""
        return self._every_day

    @property
    def working_day_length(self) -> dt.timedelta:
        """Working time in one workday (7 hours with the default periods)."""
        return dt.timedelta(microseconds=self._day_us)

    def is_workday(self, day: dt.date) -> bool:
        """True when ``day`` (a local date) is a workday.

        Order: every day for an ``every_day`` calendar; then this calendar's own
        ``holidays``/``workdays`` overrides; then the official calendar
        (``official_days``: the State Council's notice where a package has it, else the
        statutory holidays and Monday-Friday). Results are cached per date.
        """
        cached = self._workday_cache.get(day)
        if cached is not None:
            return cached
        if self._every_day:
            result = True
        elif day in self._holidays:
            result = False
        elif day in self._workdays:
            result = True
        else:
            result = is_official_workday(day)
        self._workday_cache[day] = result
        return result

    def covers(self, day: dt.date) -> bool:
        """True when the workdays of ``day``'s year are known for certain.

        That is: an ``every_day`` calendar, or the year's State Council notice is in a
        package or listed in ``notice_years``. Outside, only the statutory holidays are
        known; bridging days and make-up workdays are missing.
        """
        return (
            self._every_day or day.year in self._notice_years or source_of(day.year) != "statutory"
        )

    def covered_until(self, today: dt.date) -> dt.date:
        """The last day of the unbroken run of covered days that starts at ``today``.

        ``today - 1 day`` when ``today`` itself is not covered; ``date.max`` for an
        ``every_day`` calendar.
        """
        if self._every_day:
            return dt.date.max
        year = today.year
        while year < dt.MAXYEAR and self.covers(dt.date(year, 1, 1)):
            year += 1
        if year == today.year:
            return today - _ONE_DAY
        return dt.date(year - 1, 12, 31)

    def to_local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in this calendar's zone. Refuses naive datetimes."""
        _require_aware(moment)
        return moment.astimezone(self.tzinfo)

    def is_working_time(self, moment: dt.datetime) -> bool:
        """True when ``moment`` falls in a working period of a workday (start and end included)."""
        local = self.to_local(moment)
        if not self.is_workday(local.date()):
            return False
        now = _micros(local.time())
        return any(s <= now <= e for s, e in self._periods_us)

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """The end of the last working period of local ``day``, aware in this zone."""
        return self._at(day, self._periods_us[-1][1])

    def add_working_time(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant when ``amount`` of working time has elapsed since ``start``.

        Only time inside working periods of workdays counts; a start outside them waits
        for the next period. When the amount runs out exactly at the end of a period
        the result is that end (18:00), not the start of the next one. ``amount`` zero
        returns ``start`` unchanged; a negative amount raises ``ValueError``.
        """
        _require_aware(start)
        if amount < dt.timedelta(0):
            raise ValueError("amount of working time must not be negative")
        if not amount:
            return start
        local = start.astimezone(self.tzinfo)
        try:
            day, micros = self.add_working_micros(
                local.date(), _micros(local.time()), amount // _US
            )
        except ValueError:
            raise ValueError(
                f"no working time within {_MAX_SCAN_DAYS} days of {start.isoformat()}"
            ) from None
        return self._at(day, micros).astimezone(start.tzinfo)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The end of the ``days``-th working day after the day ``start`` is received.

        This is how "3个工作日内办结" is read in practice: the receiving day is not counted
        (次日起算), and the deadline is the close of business (end of the last working
        period, 18:00 by default) of the last counted day. A start on a non-workday, or
        at or after close of business, counts as received on the next workday. So
        ``days=0`` means "by close of business on the receiving day" (当日办结), and from
        Monday 10:00, ``days=3`` gives Thursday 18:00. Negative ``days`` raises
        ``ValueError``.
        """
        _require_aware(start)
        if days < 0:
            raise ValueError("days must not be negative")
        local = start.astimezone(self.tzinfo)
        day, micros = self.add_working_days_at(local.date(), _micros(local.time()), days)
        return self._at(day, micros).astimezone(start.tzinfo)

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time inside ``[start, end]``; zero when ``end <= start``.

        The inverse of ``add_working_time``: for a start inside working time,
        ``working_time_between(s, add_working_time(s, a)) == a``.
        """
        _require_aware(start)
        _require_aware(end)
        if end <= start:
            return dt.timedelta(0)
        a = start.astimezone(self.tzinfo)
        b = end.astimezone(self.tzinfo)
        total = self.working_micros_between(
            a.date(), _micros(a.time()), b.date(), _micros(b.time())
        )
        return dt.timedelta(microseconds=total)

    # -- the same arithmetic on local positions: (local date, microseconds into it) -------
    # Deadlines are computed on every case opening and stage change; these spare the hot
    # path the datetime objects and time zone conversions of the methods above.

    def add_working_micros(self, day: dt.date, micros: int, amount: int) -> tuple[dt.date, int]:
        """``add_working_time`` from local ``day`` at ``micros``, for ``amount`` > 0 µs.

        Returns the local position of the result. Raises ``ValueError`` when no working
        time is found within the scan limit.
        """
        remaining = amount
        cursor = micros
        periods = self._periods_us
        day_us = self._day_us
        first_start = periods[0][0]
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_workday(day):
                if cursor <= first_start and remaining > day_us:
                    # A whole workday fits: skip it without walking its periods.
                    remaining -= day_us
                else:
                    for s, e in periods:
                        if cursor >= e:
                            continue
                        begin = max(cursor, s)
                        available = e - begin
                        if remaining <= available:
                            return day, begin + remaining
                        remaining -= available
            day += _ONE_DAY
            cursor = 0
        raise ValueError(f"no working time within {_MAX_SCAN_DAYS} days of {day}")

    def add_working_days_at(self, day: dt.date, micros: int, days: int) -> tuple[dt.date, int]:
        """``add_working_days`` from local ``day`` at ``micros`` (``days`` >= 0), as a position."""
        close = self._periods_us[-1][1]
        if micros >= close or not self.is_workday(day):
            day = self._next_workday(day)
        for _ in range(days):
            day = self._next_workday(day)
        return day, close

    def working_micros_between(
        self, start_day: dt.date, start_micros: int, end_day: dt.date, end_micros: int
    ) -> int:
        """``working_time_between`` in µs for local positions, the start before the end."""
        total = 0
        day = start_day
        periods = self._periods_us
        while day <= end_day:
            if self.is_workday(day):
                lo = start_micros if day == start_day else 0
                hi = end_micros if day == end_day else _DAY_US
                for s, e in periods:
                    total += max(0, min(hi, e) - max(lo, s))
            day += _ONE_DAY
        return total

    def midnight_micros(self, day: dt.date) -> int | None:
        """Epoch µs of local ``day``'s midnight, or ``None`` when its UTC offset changes.

        On a day with one offset throughout, the local position ``(day, m)`` is the
        instant ``midnight_micros(day) + m``.
        """
        try:
            return self._midnights[day]
        except KeyError:
            pass
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self.tzinfo)
        offset = midnight.utcoffset()
        # Offsets change on quarter hours at the finest: sampling them finds any change.
        steady = all(
            (midnight + dt.timedelta(minutes=minute)).utcoffset() == offset
            for minute in range(15, 24 * 60 + 1, 15)
        )
        found = (midnight - _EPOCH) // _US if steady else None
        self._midnights[day] = found
        return found

    def _next_workday(self, day: dt.date) -> dt.date:
        for _ in range(_MAX_SCAN_DAYS):
            day += _ONE_DAY
            if self.is_workday(day):
                return day
        raise ValueError(f"no workday within {_MAX_SCAN_DAYS} days after {day}")

    def _at(self, day: dt.date, micros: int) -> dt.datetime:
        if micros >= _DAY_US:
            return dt.datetime.combine(day + _ONE_DAY, dt.time(), self.tzinfo)
        seconds, micro = divmod(micros, 1_000_000)
        h, rest = divmod(seconds, 3600)
        m, sec = divmod(rest, 60)
        return dt.datetime(day.year, day.month, day.day, h, m, sec, micro, tzinfo=self.tzinfo)


def _micros(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: SLA arithmetic needs an offset")


def parse_time_span(text: object) -> tuple[dt.time, dt.time]:
    """Parse ``"HH:MM-HH:MM"`` (24-hour local times) into ``(start, end)``.

    The span is half-open, ``[start, end)``; ``start > end`` wraps past midnight
    (``"22:00-06:00"``): callers that cannot wrap check for it. Equal ends are refused
    because they could mean "never" or "always". Raises ``ValueError``.
    """
    found = _SPAN.match(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f'time span {text!r} is not HH:MM-HH:MM (e.g. "22:00-06:00")')
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"time span {text!r} has an hour over 23 or a minute over 59")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if start == end:
        raise ValueError(f"time span {text!r} is empty (start equals end)")
    return start, end


#: Name of the calendar defined by calendar.yaml's top level (office hours, official days).
OFFICE = "office"
_DAYS = ("official", "every_day")
_CALENDAR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def load_calendar(path: str | Path) -> WorkCalendar:
    """The office calendar of ``calendar.yaml`` (see ``load_calendars``)."""
    return load_calendars(path)[OFFICE]


def load_calendars(path: str | Path) -> dict[str, WorkCalendar]:
    """Load ``calendar.yaml``: the office calendar and the named ``calendars:``.

    The top level (``timezone``, ``working_periods``, ``holidays``, ``workdays``,
    ``notice_years``) defines ``office``; each entry of ``calendars:`` is another calendar
    in the same zone with ``days: official | every_day`` and optional
    ``working_periods`` (default: the office periods). Raises ``ConfigLoadError`` (file,
    line, message) for unknown fields, an unknown zone, malformed, wrapping, unsorted or
    overlapping periods, malformed dates or years, and bad calendar names.
    """
    doc = load_yaml(path)
    if not isinstance(doc, YamlMapping):
        raise ConfigLoadError(path, None, "calendar file must be a mapping")
    check_keys(
        doc,
        path,
        "calendar",
        required=("timezone", "working_periods"),
        optional=("holidays", "workdays", "notice_years", "calendars"),
    )
    tz = doc["timezone"]
    if not isinstance(tz, str):
        raise ConfigLoadError(path, doc.value_line("timezone"), "timezone must be a name")
    periods = _periods(doc, path)
    holidays = [_date(text, line, path) for text, line in _items(doc, "holidays", path)]
    workdays = [_date(text, line, path) for text, line in _items(doc, "workdays", path)]
    years = [_year(value, line, path) for value, line in _items(doc, "notice_years", path)]
    try:
        office = WorkCalendar(tz, periods, holidays=holidays, workdays=workdays, notice_years=years)
    except ValueError as exc:
        key = "timezone" if "zone" in str(exc) else "working_periods"
        if "holiday and workday" in str(exc):
            key = "workdays"
        raise ConfigLoadError(path, doc.value_line(key), str(exc)) from None
    calendars = {OFFICE: office}
    table = doc.get("calendars", {})
    if not isinstance(table, YamlMapping):
        if table == {}:
            return calendars
        raise ConfigLoadError(path, doc.value_line("calendars"), "calendars must be a mapping")
    for name, body in table.items():
        line = table.key_line(name)
        if not _CALENDAR_NAME.match(name) or name == OFFICE:
            raise ConfigLoadError(
                path, line, f"calendar name {name!r} must match [a-z][a-z0-9_]* and not be 'office'"
            )
        if not isinstance(body, YamlMapping):
            raise ConfigLoadError(path, line, f"calendar {name!r} must be a mapping")
        check_keys(
            body, path, f"calendar {name!r}", required=("days",), optional=("working_periods",)
        )
        days = body["days"]
        if days not in _DAYS:
            raise ConfigLoadError(
                path,
                body.value_line("days"),
                f"calendar {name!r}, days: {days!r} is not one of {', '.join(_DAYS)}",
            )
        own = _periods(body, path) if "working_periods" in body else periods
        try:
            calendars[name] = WorkCalendar(
                tz,
                own,
                holidays=holidays,
                workdays=workdays,
                notice_years=years,
                every_day=days == "every_day",
                name=name,
            )
        except ValueError as exc:
            raise ConfigLoadError(path, body.value_line("working_periods"), str(exc)) from None
    return calendars


def _periods(doc: YamlMapping, path: str | Path) -> tuple[tuple[dt.time, dt.time], ...]:
    periods: list[tuple[dt.time, dt.time]] = []
    for text, line in _items(doc, "working_periods", path):
        try:
            start, end = parse_time_span(text)
        except ValueError as exc:
            raise ConfigLoadError(path, line, str(exc)) from None
        if start > end:
            raise ConfigLoadError(path, line, f"working period {text!r} must not wrap midnight")
        periods.append((start, end))
    return tuple(periods)


def _year(value: object, line: int, path: str | Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1950 <= value <= 2200:
        raise ConfigLoadError(path, line, f"{value!r} is not a year (e.g. 2027)")
    return value


def _items(doc: YamlMapping, key: str, path: str | Path) -> list[tuple[object, int]]:
    value = doc.get(key, [])
    if not isinstance(value, YamlSequence):
        if value == []:
            return []
        raise ConfigLoadError(path, doc.value_line(key), f"{key} must be a list")
    return [(item, value.item_line(i)) for i, item in enumerate(value)]


def _date(text: object, line: int, path: str | Path) -> dt.date:
    try:
        if not isinstance(text, str):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigLoadError(path, line, f"{text!r} is not a date (YYYY-MM-DD)") from None
