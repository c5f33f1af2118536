"""Deadlines across the year end and per-policy calendars, on the bundled rules.

The two reports of issue 13: a report at 2026-12-31 17:45 must not be due on New Year's
Day 2027, and one on 2027-02-04 must not be due on 除夕 (2027-02-05). Both are statutory
holidays, known without 2027's notice. 环卫's policies run on the every-day calendar.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules import RuleSet
from gridflow.core.sla import Stage, stage_deadline
from gridflow.core.workcalendar import load_calendars

SH = ZoneInfo("Asia/Shanghai")
RULES = BUNDLED_RULES


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load(RULES)


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.mark.parametrize(
    ("policy", "stage", "reported", "due", "why"),
    [
        (
            "illegal_building_stop",
            "accept",
            at(2026, 12, 31, 17, 45),
            at(2027, 1, 4, 9, 15),
            "30 working minutes: 15 on 12-31, then 元旦 and the weekend, 15 on Monday",
        ),
        (
            "grid_standard",
            "accept",
            at(2027, 2, 4, 18, 30),
            at(2027, 2, 9, 18, 0),
            "after hours on 02-04: received on the next workday, past 除夕 and 春节 02-05..08",
        ),
        (
            "hotline_help",
            "resolve",
            at(2027, 2, 4, 10, 0),
            at(2027, 2, 11, 18, 0),
            "3 working days counted from 02-09: 09, 10, 11",
        ),
        (
            "garbage_exposed",
            "accept",
            at(2026, 12, 31, 17, 45),
            at(2027, 1, 1, 9, 15),
            "环卫 works every day: New Year's Day counts",
        ),
        (
            "street_cleaning",
            "resolve",
            at(2026, 10, 3, 9, 0),
            at(2026, 10, 3, 11, 0),
            "环卫 works during National Day (a 2026 holiday and a Saturday)",
        ),
        (
            "greenery",
            "resolve",
            at(2026, 10, 3, 9, 0),
            at(2026, 10, 14, 18, 0),
            "office calendar: 10-08, 09, 10 (调休 Saturday), 12, 13... 5 working days",
        ),
    ],
)
def test_deadlines(
    rules: RuleSet, policy: str, stage: Stage, reported: datetime, due: datetime, why: str
) -> None:
    chosen = rules.policies[policy]
    assert stage_deadline(rules.calendar_for(chosen), chosen, stage, reported) == due, why


def test_environmental_sanitation_policies_use_the_every_day_calendar(rules: RuleSet) -> None:
    for name in ("garbage_exposed", "street_cleaning"):
        assert rules.calendar_for(rules.policies[name]).every_day, name
    assert rules.calendar_for(rules.policies["grid_standard"]) is rules.calendar


def test_a_policy_naming_an_unknown_calendar_is_refused_at_its_line(tmp_path: Path) -> None:
    for f in RULES.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    text = (tmp_path / "policies.yaml").read_text(encoding="utf-8")
    (tmp_path / "policies.yaml").write_text(
        text.replace("calendar: every_day", "calendar: everyday", 1), encoding="utf-8"
    )
    with pytest.raises(ConfigLoadError, match=r"'everyday' is not defined.*did you mean") as err:
        RuleSet.load(tmp_path)
    assert err.value.line is not None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("calendars:\n  office:\n    days: official\n", "must match"),
        ("calendars:\n  sweep:\n    days: weekends\n", "not one of official, every_day"),
        ("calendars:\n  sweep:\n    days: every_day\n    hours: []\n", "unknown field 'hours'"),
        ("notice_years: [twenty27]\n", "is not a year"),
    ],
)
def test_calendar_file_refuses_bad_calendars(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "timezone: Asia/Shanghai\nworking_periods: ['09:00-12:00']\n" + extra, encoding="utf-8"
    )
    with pytest.raises(ConfigLoadError, match=message):
        load_calendars(path)


def test_the_worker_exports_the_end_of_the_covered_days(rules: RuleSet) -> None:
    # gridflow_calendar_covered_until_timestamp_seconds: local midnight after 2026-12-31.
    ends = rules.coverage_ends(datetime(2026, 12, 4, 12, tzinfo=SH))
    assert ends == datetime(2027, 1, 1, tzinfo=SH)
    assert rules.covered_until(datetime(2026, 12, 4).date()).isoformat() == "2026-12-31"
