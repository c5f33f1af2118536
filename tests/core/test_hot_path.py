"""The hot path's shortcuts give exactly what the plain computations they replace give.

Each shortcut (text matched piece by piece, deadlines walked in integer microseconds,
models built without ``model_construct``, counters added once per batch) is checked
against the straightforward form on generated inputs.
"""

from __future__ import annotations

import shutil
import textwrap
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from pydantic import BaseModel, Field

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.classify import JointScan, KeywordMatcher, TextClassifier, normalise
from gridflow.core.danger import DangerLexicon
from gridflow.core.rules import RouteFacts, RuleSet
from gridflow.core.severity import SeverityRules
from gridflow.core.sla import SlaPolicy, Stage, load_policies, stage_times, stage_timestamps
from gridflow.core.trusted import TrustedBuilder
from gridflow.core.workcalendar import WorkCalendar
from gridflow.metrics import Metrics
from schemas import Disposition
from schemas.common import DispositionAction, Severity, Tier

RULES = BUNDLED_RULES

# ------------------------------------------------------------------ keyword matching

_MATCHERS = {
    "categories": KeywordMatcher(TextClassifier.default()._weights),
    "severity": SeverityRules.default()._matcher,
    "small": KeywordMatcher(["井盖", "消防", "消防栓", "公交站", "站牌", "火", "塌", "ktv"]),
}
# Keyword characters, marks that end pieces, and characters that normalisation changes or
# that combine with their neighbours.
_PIECES = st.sampled_from(
    [
        "井盖",
        "消防栓",
        "公交站牌",
        "火",
        "火锅",
        "起了火",
        "路面塌陷",
        "ＫＴＶ",
        "ktv",
        "，",
        "。",
        "：",
        " ",
        ",",
        "\r\n",
        "·",
        "．",
        "－",
        "…",
        "【",
        "Σ",
        "e\u0301",
        "\u0301",
        "\u1100\u1161",
        "\uf900",
        "29号",
        "位置",
        "老人",
        "很大",
    ]
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_PIECES, max_size=14), which=st.sampled_from(sorted(_MATCHERS)))
def test_find_text_is_find_on_the_normalised_text(parts: list[str], which: str) -> None:
    matcher = _MATCHERS[which]
    text = "".join(parts)
    expected = matcher.find(normalise(text))
    assert matcher.find_text(text) == expected
    assert matcher.find_text(text) == expected  # and again, from what it remembered


@settings(max_examples=600, deadline=None)
@given(
    parts=st.lists(
        _PIECES
        | st.sampled_from(
            ["；", "！", "？", "（", "）", "Ａ", "\u0338", "\u0301", "(", "=", "\u3000"]
        )
        | st.characters(),
        max_size=14,
    )
)
def test_normalise_is_nfkc_lower_cased(parts: list[str]) -> None:
    # Full-width marks replaced first, NFKC only where the result is not normalised:
    # marks next to combining characters (（ + U+0338, Ａ + U+0301) and any character.
    text = "".join(parts)
    assert normalise(text) == unicodedata.normalize("NFKC", text).lower()


def _plain_find(matcher: KeywordMatcher, text: str) -> list[tuple[int, str]]:
    """``find`` as it was before the automaton: every start position tried in Python."""
    spans = [
        (start, start + len(word), word)
        for start in range(len(text))
        for word in matcher.words
        if len(word) > 1 and text.startswith(word, start)
    ]
    singles = [position for position, char in enumerate(text) if char in matcher.words]
    return matcher.resolve(text, spans, singles)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_PIECES, max_size=14), which=st.sampled_from(sorted(_MATCHERS)))
def test_the_automaton_finds_what_trying_every_position_finds(parts: list[str], which: str) -> None:
    matcher = _MATCHERS[which]
    text = normalise("".join(parts))
    assert matcher.find(text) == _plain_find(matcher, text)


def test_a_longer_keyword_lost_to_a_longest_one_leaves_its_shorter_prefix() -> None:
    # 消防栓 loses to 栓塞物品 (longer); 消防 at the same start still matches.
    matcher = KeywordMatcher(["消防", "消防栓", "栓塞物品"])
    assert matcher.find("消防栓塞物品") == [(0, "消防"), (2, "栓塞物品")]


#: The three word lists a report's text is read with, in the order assess_report scans them,
#: and the danger patterns read with them.
_JOINT = JointScan(
    (
        TextClassifier.default().matcher,
        SeverityRules.default().matcher,
        DangerLexicon.default().matcher,
    ),
    DangerLexicon.default().patterns,
)
_REPORT_PIECES = st.sampled_from(
    [
        "井盖",
        "消防栓",
        "着火了",
        "火",
        "火锅",
        "起了火",
        "存在火灾隐患",
        "没有人受伤",
        "路面塌陷",
        "燃气",
        "煤气味",
        "被困",
        "电梯",
        "万一",
        "，",
        "。",
        " ",
        "ＫＴＶ",
        "e\u0301",
        "29号",
        "老人",
        "很大",
        "打架",
        "持刀",
        # Danger patterns: things, states, blockers, and a place name.
        "天然气",
        "的味道",
        "没",
        "井口村",
        "井盖",
        "不见了",
        "独居",
        "敲门没人应",
    ]
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_REPORT_PIECES, max_size=14))
def test_a_joint_scan_finds_what_each_matcher_finds_alone(parts: list[str]) -> None:
    text = "".join(parts)
    for _ in range(2):  # and again, from what it remembered
        scanned, patterns = _JOINT.scan_read(text)
        for index, matcher in enumerate(_JOINT.matchers):
            assert scanned[index] == matcher.find_text(text)
        # The patterns read piece by piece with the scan, as they read the text alone.
        assert patterns == DangerLexicon.default().patterns.find_text(text)


def test_a_joint_scan_keeps_each_lists_longest_match() -> None:
    # The classifier's 消防栓 must not hide the danger lexicon's shorter words, nor the
    # reverse: each list resolves overlaps among its own words only.
    inner = KeywordMatcher(["消防栓"], dictionary=frozenset())
    outer = KeywordMatcher(["消防", "栓"], dictionary=frozenset())
    scanned = JointScan((inner, outer)).scan("消防栓坏了")
    assert scanned[0] == [(0, "消防栓")]
    assert scanned[1] == outer.find_text("消防栓坏了")


def test_a_one_character_keyword_counts_once_across_pieces() -> None:
    matcher = KeywordMatcher(["火"])
    assert matcher.find_text("起了火，火很大。火") == [(2, "火")]
    assert matcher.find_text("火锅，火很大") == [(3, "火")]


def test_keywords_outside_jieba_blocks_match_the_whole_text() -> None:
    matcher = KeywordMatcher(["a b", "火"])
    assert matcher.find_text("a b，火很大") == matcher.find(normalise("a b，火很大"))


# ------------------------------------------------------------------ SLA deadlines

_POLICIES = [
    *load_policies(RULES / "policies.yaml").values(),
    SlaPolicy("wall", "wall", timedelta(minutes=30), timedelta(hours=4), None, 0.8, 0, timedelta()),
    SlaPolicy(
        "hours",
        "working_hours",
        timedelta(0),
        timedelta(hours=40, microseconds=3),
        None,
        0.37,
        0,
        timedelta(),
    ),
]
_CALENDARS = [
    WorkCalendar(),
    # Daylight saving time: days with a transition go the datetime way.
    WorkCalendar(
        "Europe/Berlin",
        ((time(1, 30), time(3)), (time(8), time(23, 59, 59, 999999))),
        holidays=[date(2026, 3, 30)],
    ),
]
_STAGES: list[Stage] = ["accept", "resolve", "verify"]


@settings(max_examples=600, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    policy=st.sampled_from(_POLICIES),
    stage=st.sampled_from(_STAGES),
    calendar=st.sampled_from(_CALENDARS),
    scale=st.sampled_from([1.0, 0.001, 0.5, 2.0, 1 / 3]),
)
def test_stage_timestamps_are_stage_times(
    moment: datetime, policy: SlaPolicy, stage: Stage, calendar: WorkCalendar, scale: float
) -> None:
    try:
        deadline, warn = stage_times(calendar, policy, stage, moment, scale)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            stage_timestamps(calendar, policy, stage, moment, scale)
        return
    assert stage_timestamps(calendar, policy, stage, moment, scale) == (
        deadline.timestamp(),
        warn.timestamp(),
    )


def test_stage_timestamps_around_a_clock_change() -> None:
    berlin = _CALENDARS[1]
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # the night before summer time
    assert berlin.midnight_micros(date(2026, 3, 29)) is None
    for policy in _POLICIES:
        deadline, warn = stage_times(berlin, policy, "resolve", start)
        assert stage_timestamps(berlin, policy, "resolve", start) == (
            deadline.timestamp(),
            warn.timestamp(),
        )


# ------------------------------------------------------------------ routing


# Every kind of condition, a wrapping time window and a continue.
TREE = """\
route:
  id: root
  tier: village
  policy: grid_standard
  routes:
    - id: overlay
      match: {severity: [critical]}
      tier: county
      inform: [city]
      continue: true
    - id: appearance
      match: {category: [SJ01]}
      inform: [town]
      routes:
        - id: garbage
          match: {category: [SJ0102], network: [chengguan]}
          policy: garbage_exposed
        - id: night
          match: {time_of_day: "22:00-06:30"}
          tier: town
    - id: by-region
      match: {region_prefix: ["500103", "5002"], kind: [event]}
      policy: muck
      priority: high
"""


@pytest.fixture(scope="module")
def rule_sets(tmp_path_factory: pytest.TempPathFactory) -> list[RuleSet]:
    tmp_path = tmp_path_factory.mktemp("rules")
    for name in ("policies.yaml", "calendar.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    (tmp_path / "routes.yaml").write_text(textwrap.dedent(TREE), encoding="utf-8")
    return [RuleSet.load(RULES), RuleSet.load(tmp_path)]


_FACTS = st.builds(
    lambda category, network, severity, region, at: RouteFacts(
        category,
        {"BJ": "component", "SJ": "event", "ZZ": "governance"}[category[:2]],
        network,
        severity,
        region,
        at,
    ),
    st.sampled_from(["SJ0102", "SJ0401", "SJ0403", "BJ0101", "ZZ0401", "SJ0601"]),
    st.sampled_from(["chengguan", "zongzhi", "yingji", "video_ai"]),
    st.sampled_from(list(Severity)),
    st.sampled_from(["500103001001", "500103002003", "500101001001", "500235218209"]),
    st.times(),
)


@settings(max_examples=300, deadline=None)
@given(facts=st.lists(_FACTS, min_size=1, max_size=20))
def test_remembered_route_decisions_are_the_decisions(
    rule_sets: list[RuleSet], facts: list[RouteFacts]
) -> None:
    for rules in rule_sets:
        for one in facts + facts:  # the second time from memory
            assert rules.route(one) == rules._decide(one)


# ------------------------------------------------------------------ trusted models


def _disposition_values() -> dict[str, object]:
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    return {
        "disposition_id": "500101001001-abc/dispatch",
        "case_id": "500101001001-abc",
        "action": DispositionAction.DISPATCH,
        "tier": Tier.VILLAGE,
        "center_code": "500101001001",
        "at": at,
        "category": "SJ0102",
        "priority": Severity.NORMAL,
        "department": "城管",
        "deadline": at + timedelta(hours=4),
        "rule": "root",
        "events": ["e1"],
        "networks": ["zongzhi"],
        "reason": None,
        "state": "dispatched",
        "rules_version": "abc",
        "stage": "accept",
        "region_code": "500101001001",
        "title": "垃圾",
        "reported_at": at,
        "lat": 29.556,
        "lon": 106.571,
        "grid_code": None,
        "request_type": None,
        "holder": "500101001001",
        "supervisor": None,
        "verifier": "500101001000",
        "acted_by": None,
        "villages": None,
        "merged_cases": None,
        "merged_into": None,
        "recipients": None,
    }


def test_trusted_builder_builds_what_model_construct_builds() -> None:
    built = TrustedBuilder(Disposition)(_disposition_values())
    constructed = Disposition.model_construct(**_disposition_values())  # type: ignore[arg-type]
    assert built == constructed
    assert list(built.__dict__) == list(constructed.__dict__) == list(Disposition.model_fields)
    assert built.model_fields_set == constructed.model_fields_set
    assert built.__pydantic_extra__ is constructed.__pydantic_extra__ is None
    assert built.__pydantic_private__ is constructed.__pydantic_private__ is None
    assert built.model_dump_json() == constructed.model_dump_json()
    with pytest.raises(Exception, match="frozen"):
        built.reason = "changed"  # type: ignore[misc]


def test_trusted_builder_refuses_models_model_construct_treats_differently() -> None:
    class Aliased(BaseModel):
        value: int = Field(alias="v")

    with pytest.raises(TypeError, match="alias"):
        TrustedBuilder(Aliased)


# ------------------------------------------------------------------ batched counters


def _exercise(metrics: Metrics) -> None:
    metrics.event_in("zongzhi")
    metrics.event_in("zongzhi", 3)
    metrics.rejected("schema")
    metrics.duplicate("event")
    metrics.feedback_applied("accept")
    metrics.case_opened("town")
    metrics.case_merged("town")
    metrics.case_closed("village")
    metrics.dispositions_published("dispatch", "town", 1)
    metrics.observe_latency("dispatch", 0.02)
    metrics.dispositions_published("sla_warning", "town", 1)
    metrics.escalated("county")
    metrics.sla_warning("town")
    metrics.sla_breach()


def _counts(metrics: Metrics) -> list[str]:
    return [
        line
        for line in generate_latest(metrics.registry).decode().splitlines()
        if not line.startswith("#") and "_created" not in line
    ]


def test_batched_counters_add_up_to_the_same_figures() -> None:
    direct, batched = Metrics(), Metrics()
    _exercise(direct)
    _exercise(direct)
    with batched.batched():
        _exercise(batched)
        with batched.batched():  # nested: still added once, by the outer block
            _exercise(batched)
        assert batched.sla_breaches._value.get() == 0  # held back until the block ends
    assert _counts(batched) == _counts(direct)
