"""Inhibition as a specification: which open case a report attaches to, and the rules file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gridflow.config import Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.engine import Engine
from gridflow.core.facts import StepKind
from gridflow.core.inhibition import InhibitRule, InhibitRules
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.region_state import RegionState
from gridflow.core.rules_version import decision_files, rules_version
from gridflow.reference import load_engine
from schemas import DispositionAction, GridEvent
from schemas.common import Severity

VILLAGE = "500103001003"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
FIRE = (29.556, 106.571)
#: ~96 m east per 0.001 degree of longitude at this latitude.
NEAR = (FIRE[0], FIRE[1] + 0.002)  # ~190 m
FAR = (FIRE[0], FIRE[1] + 0.008)  # ~775 m


def ev(
    event_id: str, category: str, where: tuple[float, float], minutes: float = 0, **kw: Any
) -> GridEvent:
    doc: dict[str, Any] = {
        "event_id": event_id,
        "source_network": "zongzhi",
        "reported_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": where[0], "lon": where[1]},
        "title": "现场情况",
        "category": category,
    }
    doc.update(kw)
    return GridEvent.model_validate(doc)


@pytest.fixture
def engine() -> Engine:
    engine = load_engine(Settings())
    assert engine.inhibitions, "the bundled rules have inhibit rules"
    return engine


def open_fire(engine: Engine, state: RegionState) -> str:
    out = engine.apply_event(state, ev("fire", "SJ0401", FIRE, title="居民楼起火"), T0.timestamp())
    assert out.facts[0].kind is StepKind.OPENED
    return out.dispositions[0].case_id


# (what, category, where, minutes after the fire, inhibited?)
PAIRS: list[tuple[str, str, tuple[float, float], float, bool]] = [
    ("parked cars near the fire", "SJ0504", NEAR, 10, True),
    ("blocked fire lane near the fire", "ZZ0401", NEAR, 10, True),
    ("hydrant in use", "BJ0103", NEAR, 30, True),
    ("parked cars beyond the radius", "SJ0504", FAR, 10, False),
    ("parked cars after the window", "SJ0504", NEAR, 7 * 60, False),
    ("parked cars before the fire", "SJ0504", NEAR, -5, False),
    ("a category the fire does not inhibit", "SJ0102", NEAR, 10, False),
]


@pytest.mark.parametrize(
    ("category", "where", "minutes", "inhibited"),
    [row[1:] for row in PAIRS],
    ids=[row[0] for row in PAIRS],
)
def test_inhibit_pairs(
    engine: Engine, category: str, where: tuple[float, float], minutes: float, inhibited: bool
) -> None:
    state = RegionState(region=VILLAGE)
    fire = open_fire(engine, state)
    out = engine.apply_event(
        state,
        ev("r1", category, where, minutes),
        (T0 + timedelta(minutes=max(minutes, 0))).timestamp(),
    )
    (step,) = [d for d in out.dispositions if d.action is not DispositionAction.STATE] or [None]
    if inhibited:
        assert step is not None and step.case_id == fire
        assert step.action is DispositionAction.MERGE
        assert step.reason is not None and "inhibited" in step.reason and "火灾现场" in step.reason
        assert [(f.kind, f.inhibit_rule) for f in out.facts] == [(StepKind.INHIBITED, "火灾现场")]
        assert "r1" in state.cases[fire].events
        assert len(state.cases) == 1, "no case of its own, nothing to escalate"
    else:
        assert all(f.kind is not StepKind.INHIBITED for f in out.facts)
        assert len(state.cases) == 2


def test_a_closed_source_inhibits_nothing(engine: Engine) -> None:
    from gridflow.core.case import CaseStatus

    state = RegionState(region=VILLAGE)
    state.cases[open_fire(engine, state)].status = CaseStatus.CLOSED
    out = engine.apply_event(state, ev("r1", "SJ0504", NEAR, 10), T0.timestamp() + 600)
    assert out.facts[0].kind is StepKind.OPENED


def test_the_source_must_be_severe_enough(engine: Engine) -> None:
    state = RegionState(region=VILLAGE)
    fire = open_fire(engine, state)
    state.cases[fire].priority = "high"  # 火灾现场 needs critical
    out = engine.apply_event(state, ev("r1", "SJ0504", NEAR, 10), T0.timestamp() + 600)
    assert out.facts[0].kind is StepKind.OPENED


def test_a_case_of_unknown_priority_inhibits_nothing_and_raises_nothing(engine: Engine) -> None:
    # Priorities are strings in kept state; one written before a severity was renamed (or
    # by hand) must not take the village stage down: it simply ranks for no rule.
    state = RegionState(region=VILLAGE)
    fire = open_fire(engine, state)
    state.cases[fire].priority = "urgent"
    out = engine.apply_event(state, ev("r1", "SJ0504", NEAR, 10), T0.timestamp() + 600)
    assert out.facts[0].kind is StepKind.OPENED


def test_the_nearest_source_wins(engine: Engine) -> None:
    state = RegionState(region=VILLAGE)
    fire = open_fire(engine, state)
    # A flood ~1.2 km east: too far to merge with the fire (1 km).
    flood_at = (FIRE[0], FIRE[1] + 0.0125)
    flood = (
        engine.apply_event(
            state, ev("flood", "SJ0404", flood_at, 1, title="道路积水严重"), T0.timestamp() + 60
        )
        .dispositions[0]
        .case_id
    )
    assert flood != fire
    # ~430 m from the fire, ~770 m from the flood: both rules apply, the fire is nearer.
    out = engine.apply_event(
        state, ev("r1", "SJ0504", (FIRE[0], FIRE[1] + 0.0045), 10), T0.timestamp() + 600
    )
    assert (out.dispositions[0].case_id, out.facts[0].inhibit_rule) == (fire, "火灾现场")
    # ~720 m from the fire (beyond its 500 m), ~480 m from the flood.
    out = engine.apply_event(
        state, ev("r2", "SJ0504", (FIRE[0], FIRE[1] + 0.0075), 10), T0.timestamp() + 600
    )
    assert (out.dispositions[0].case_id, out.facts[0].inhibit_rule) == (flood, "内涝")


# ------------------------------------------------------------------ loading
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inhibit.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """inhibit:
  - name: fire
    source: [SJ0401]
    target: [SJ0504]
    radius_m: 500
    window_s: 3600
"""

# (what, file text, line, message part)
BAD: list[tuple[str, str, int | None, str]] = [
    ("unknown field", GOOD + "    radius: 3\n", 7, "unknown field 'radius'"),
    (
        "missing field",
        GOOD.replace("    window_s: 3600\n", ""),
        2,
        "lacks required field 'window_s'",
    ),
    ("unknown category", GOOD.replace("[SJ0504]", "[XX0504]"), 4, "'XX0504' is no category"),
    ("negative radius", GOOD.replace("500", "-5"), 5, "radius_m must be a positive number"),
    ("bad priority", GOOD + "    source_priority: huge\n", 7, "source_priority 'huge'"),
    ("target is a source", GOOD.replace("[SJ0504]", "[SJ04]"), 4, "also a source"),
    (
        "duplicate name",
        GOOD + GOOD.replace("inhibit:\n", ""),
        7,
        "duplicate inhibit rule 'fire' (first at line 2)",
    ),
    ("not a list", "inhibit: 3\n", 1, "'inhibit' must be a list"),
    ("unknown top key", GOOD + "inhibits: []\n", 7, "unknown field 'inhibits'"),
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_engine(Settings()).catalogue


def test_good_file_loads(tmp_path: Path, catalogue: Catalogue) -> None:
    (rule,) = InhibitRules.load(write(tmp_path, GOOD), catalogue).rules
    assert (rule.name, rule.sources, rule.targets, rule.radius_m) == (
        "fire",
        ("SJ0401",),
        ("SJ0504",),
        500.0,
    )


@pytest.mark.parametrize(("text", "line", "message"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_bad_files_fail_with_file_and_line(
    tmp_path: Path, catalogue: Catalogue, text: str, line: int | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigLoadError) as caught:
        InhibitRules.load(path, catalogue)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert caught.value.line == line


def test_inhibit_rules_are_part_of_the_rules_version(tmp_path: Path) -> None:
    bundled = Path(Settings().rules)
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("routes.yaml", "policies.yaml", "calendar.yaml"):
        (folder / name).write_bytes((bundled / name).read_bytes())
    without = rules_version(decision_files(folder))
    (folder / "inhibit.yaml").write_text(GOOD, encoding="utf-8")
    with_rules = rules_version(decision_files(folder))
    (folder / "inhibit.yaml").write_text(GOOD.replace("500", "600"), encoding="utf-8")
    assert len({without, with_rules, rules_version(decision_files(folder))}) == 3


# --------------------------------------------- the town stage's remembered windows
_LONG_FIRE = InhibitRule("火场长", ("SJ04",), ("SJ0504",), radius_m=800.0, window_s=43200.0)
_SHORT_FIRE = InhibitRule("火场短", ("SJ0401",), ("SJ0504",), 300.0, 3600.0, Severity.HIGH)


@pytest.mark.parametrize(
    ("category", "priority", "window"),
    [
        ("SJ0401", "critical", 43200.0),  # a source of both: the longest window
        ("SJ0401", "high", 3600.0),  # ranks only for the rule that asks for high
        ("SJ0401", "normal", None),
        ("SJ0402", "critical", 43200.0),  # the 大类 prefix
        ("SJ0402", "high", None),
        ("SJ0504", "critical", None),  # a target, never a source
        ("SJ0401", "", None),  # announced before priorities were carried
        ("SJ0401", "urgent", None),  # not a severity
    ],
)
def test_a_cases_source_window_is_the_longest_of_the_rules_it_ranks_for(
    category: str, priority: str, window: float | None
) -> None:
    rules = InhibitRules([_LONG_FIRE, _SHORT_FIRE])
    assert rules.source_window(category, priority) == window
    assert rules.source_window(category, priority) == window  # remembered, the same
