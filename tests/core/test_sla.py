"""SLA stage deadlines, warnings and extensions on the three clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.sla import (
    SlaPolicy,
    Stage,
    extension_verdict,
    load_policies,
    stage_deadline,
    stage_warning,
    warning_time,
)
from gridflow.core.workcalendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = BUNDLED_RULES


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def policy(clock: str, accept: timedelta, resolve: timedelta, **extra: object) -> SlaPolicy:
    fields: dict[str, object] = {
        "verify": None,
        "warn_at": 0.8,
        "max_extensions": 1,
        "max_extension": timedelta(hours=4),
    }
    fields.update(extra)
    return SlaPolicy("p", clock, accept, resolve, **fields)  # type: ignore[arg-type]


GARBAGE = policy("working_hours", timedelta(minutes=30), timedelta(hours=4))
HELP = policy("working_days", timedelta(0), timedelta(days=3), max_extension=timedelta(days=5))
EMERGENCY = policy("wall", timedelta(minutes=30), timedelta(hours=2), max_extensions=0)


@pytest.mark.parametrize(
    ("p", "stage", "start", "expected"),
    [
        # Working hours: 4 h from Friday 16:00 runs over the weekend (Saturday 09-27 off,
        # Sunday 09-28 a 调休 workday).
        (GARBAGE, "resolve", at(2025, 9, 26, 16), at(2025, 9, 28, 11)),
        (GARBAGE, "accept", at(2025, 9, 30, 11, 45), at(2025, 9, 30, 14, 15)),
        (GARBAGE, "resolve", at(2025, 9, 30, 16), at(2025, 10, 9, 11)),
        # Working days: the receiving day is not counted; close of business on day N.
        (HELP, "resolve", at(2025, 9, 29, 10), at(2025, 10, 10, 18)),
        (HELP, "accept", at(2025, 9, 29, 10), at(2025, 9, 29, 18)),
        (HELP, "accept", at(2025, 10, 1, 3), at(2025, 10, 9, 18)),
        # Wall clock: holidays and nights count.
        (EMERGENCY, "accept", at(2025, 10, 1, 23, 50), at(2025, 10, 2, 0, 20)),
        (EMERGENCY, "resolve", at(2025, 10, 1, 23), at(2025, 10, 2, 1)),
    ],
)
def test_stage_deadline(p: SlaPolicy, stage: Stage, start: datetime, expected: datetime) -> None:
    assert stage_deadline(CAL, p, stage, start) == expected


@pytest.mark.parametrize(
    ("p", "start", "scale", "expected"),
    [
        # Compresses the whole interval, nights and holidays included: 4 wh from 09-30
        # 16:00 end 10-09 11:00 (211 h of wall time); at 0.001 that is 12 min 39.6 s.
        (GARBAGE, at(2025, 9, 30, 16), 0.001, at(2025, 9, 30, 16) + timedelta(hours=211) * 0.001),
        (EMERGENCY, at(2025, 10, 1, 23), 0.5, at(2025, 10, 2, 0)),
        (HELP, at(2025, 9, 29, 10), 1.0, at(2025, 10, 10, 18)),
    ],
)
def test_scale_compresses_the_whole_interval(
    p: SlaPolicy, start: datetime, scale: float, expected: datetime
) -> None:
    assert stage_deadline(CAL, p, "resolve", start, scale) == expected


def test_deadline_is_in_the_tzinfo_of_the_start() -> None:
    start = at(2025, 9, 30, 16).astimezone(UTC)
    for scale in (1.0, 0.01):
        deadline = stage_deadline(CAL, GARBAGE, "resolve", start, scale)
        assert deadline.tzinfo is UTC


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stage_deadline(CAL, GARBAGE, "verify", at(2025, 9, 30)), "no verify"),
        (lambda: stage_deadline(CAL, GARBAGE, "accept", datetime(2025, 9, 30)), "aware"),
        (lambda: stage_deadline(CAL, GARBAGE, "accept", at(2025, 9, 30), 0), "positive"),
        (
            lambda: stage_deadline(CAL, GARBAGE, "triage", at(2025, 9, 30)),  # type: ignore[arg-type]
            "unknown SLA stage",
        ),
    ],
)
def test_stage_deadline_refuses(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("start", "deadline", "warn_at", "expected"),
    [
        (at(2025, 9, 30, 10), at(2025, 9, 30, 20), 0.8, at(2025, 9, 30, 18)),
        (at(2025, 9, 30, 10), at(2025, 9, 30, 10, 30), 0.5, at(2025, 9, 30, 10, 15)),
    ],
)
def test_warning_time_is_a_fraction_of_the_wall_interval(
    start: datetime, deadline: datetime, warn_at: float, expected: datetime
) -> None:
    assert warning_time(start, deadline, warn_at) == expected


@pytest.mark.parametrize(
    ("p", "start", "expected"),
    [
        # 0.8 of 4 working hours = 3 h 12 min of working time, in working hours.
        (GARBAGE, at(2025, 9, 26, 16), at(2025, 9, 28, 10, 12)),
        # 3 working days from Monday 10:00 end Thursday 18:00: 6 + 21 = 27 working hours;
        # 0.8 of them is 21.6 h: Monday 6, Tuesday 7, Wednesday 7, Thursday 1.6 → 10:36.
        (HELP, at(2025, 11, 3, 10), at(2025, 11, 6, 10, 36)),
        (EMERGENCY, at(2025, 10, 1, 23), at(2025, 10, 2, 0, 36)),
    ],
)
def test_stage_warning_is_on_the_policys_clock(
    p: SlaPolicy, start: datetime, expected: datetime
) -> None:
    assert stage_warning(CAL, p, "resolve", start) == expected


@pytest.mark.parametrize(
    ("p", "until", "used", "granted", "reason"),
    [
        (GARBAGE, at(2025, 9, 30, 17), 0, True, "granted"),
        # The longest extension: 4 working hours after Tuesday 12:00 is Tuesday 18:00.
        (GARBAGE, at(2025, 9, 30, 18), 0, True, "granted"),
        (GARBAGE, at(2025, 9, 30, 18, 1), 0, False, "longest extension"),
        (GARBAGE, at(2025, 9, 30, 17), 1, False, "allows 1 extension"),
        (GARBAGE, at(2025, 9, 30, 11), 0, False, "not later"),
        (EMERGENCY, at(2025, 9, 30, 13), 0, False, "allows 0 extension"),
        # 5 working days after the deadline day 09-30: 10-09, 10-10, 10-11 (调休), 10-13, 10-14.
        (HELP, at(2025, 10, 14, 18), 0, True, "granted"),
        (HELP, at(2025, 10, 15, 9), 0, False, "longest extension"),
    ],
)
def test_extension_verdict(
    p: SlaPolicy, until: datetime, used: int, granted: bool, reason: str
) -> None:
    current = at(2025, 9, 30, 12)
    verdict = extension_verdict(CAL, p, current, until, used)
    assert verdict.granted is granted
    assert reason in verdict.reason
    assert verdict.deadline == (until if granted else current)


# ---- Properties -------------------------------------------------------------------------

_starts = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH)
)


@given(
    _starts,
    st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=100)),
    st.floats(min_value=0.0001, max_value=1.0),
)
def test_scaled_deadline_lies_between_start_and_unscaled_deadline(
    start: datetime, amount: timedelta, scale: float
) -> None:
    p = policy("working_hours", amount, amount)
    full = stage_deadline(CAL, p, "accept", start)
    scaled = stage_deadline(CAL, p, "accept", start, scale)
    assert start < full
    assert start <= scaled <= full


@given(_starts, st.sampled_from([GARBAGE, HELP, EMERGENCY]))
def test_warning_comes_before_the_deadline(start: datetime, p: SlaPolicy) -> None:
    assert (
        start <= stage_warning(CAL, p, "resolve", start) < stage_deadline(CAL, p, "resolve", start)
    )


# ---- policies.yaml ----------------------------------------------------------------------


def test_bundled_policies_carry_the_published_limits() -> None:
    policies = load_policies(RULES / "policies.yaml")
    limits = {name: (p.clock, p.resolve) for name, p in policies.items()}
    assert limits["garbage_exposed"] == ("working_hours", timedelta(hours=4))
    assert limits["street_cleaning"] == ("working_hours", timedelta(hours=2))
    assert limits["illegal_building_stop"] == ("working_hours", timedelta(hours=4))
    assert limits["muck"] == ("working_days", timedelta(days=2))
    assert limits["greenery"] == ("working_days", timedelta(days=5))
    assert limits["grid_onsite"] == ("working_days", timedelta(0))
    assert limits["grid_standard"] == ("working_days", timedelta(days=3))
    assert limits["grid_complex"] == ("working_days", timedelta(days=7))
    assert limits["hotline_urgent"] == ("wall", timedelta(hours=24))  # same day, 24/7
    assert limits["hotline_help"] == ("working_days", timedelta(days=3))
    assert limits["hotline_complaint"] == ("working_days", timedelta(days=13))
    assert limits["hotline_report"] == ("working_days", timedelta(days=13))
    assert limits["emergency"] == ("wall", timedelta(hours=2))
    assert policies["emergency"].accept == timedelta(minutes=30)
    # The county grid rule's ceiling: 15 days at most, extensions included.
    for name in ("grid_standard", "grid_complex"):
        p = policies[name]
        assert p.resolve + p.max_extensions * p.max_extension == timedelta(days=15)


_GOOD = "policies:\n  p:\n    clock: working_hours\n    accept: 30m\n    resolve: 4h\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("policy: {}\n", 1, "unknown field 'policy'.*did you mean 'policies'"),
        (_GOOD.replace("working_hours", "working_hour"), 3, "did you mean 'working_hours'"),
        (_GOOD.replace("4h", "4x"), 5, "unknown unit 'x'"),
        (_GOOD.replace("4h", "1d"), 5, "allowed here: h, m, s"),
        (_GOOD.replace("4h", "0h"), 5, "must be > 0"),
        (_GOOD.replace("4h", "4"), 5, "must be a string with a unit"),
        (_GOOD + "    resolv: 4h\n", 6, "did you mean 'resolve'"),
        (_GOOD + "    warn_at: 1.5\n", 6, "warn_at"),
        (_GOOD + "    extensions: {max_count: 2}\n", 6, "need max_length"),
        (_GOOD + "    extensions: {max_count: -1}\n", 6, "max_count"),
        (_GOOD.replace("  p:", "  Bad-Name:"), 2, "must match"),
        (_GOOD.replace("    clock: working_hours\n", ""), 3, "lacks required field 'clock'"),
        (_GOOD + "  p:\n    clock: wall\n", 6, "duplicate key 'p'"),
        (_GOOD.replace("resolve: 4h", "resolve: [4h"), 6, "YAML syntax error"),
    ],
)
def test_policy_file_errors_point_at_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigLoadError, match=message) as caught:
        load_policies(path)
    assert caught.value.line == line


def test_stage_times_gives_the_stage_deadline_and_a_warning_before_it() -> None:
    from datetime import UTC, datetime, timedelta

    from gridflow.core.rules import RuleSet
    from gridflow.core.sla import stage_deadline, stage_times

    rules = RuleSet.load(BUNDLED_RULES)
    start = datetime(2026, 9, 30, 9, 30, tzinfo=UTC)  # eve of National Day, through the holiday
    for policy in rules.policies.values():
        for stage in ("accept", "resolve"):
            for offset_h in (0, 7, 15):
                at = start + timedelta(hours=offset_h)
                for scale in (1.0, 0.01):
                    deadline, warn = stage_times(rules.calendar, policy, stage, at, scale)
                    assert deadline == stage_deadline(rules.calendar, policy, stage, at, scale)
                    assert at <= warn <= deadline
