"""核查 by a department office (监管分离 with a verifying office), and 催办 to the supervisor.

* ``verifiers:`` may name a department office of a tier of the case's area
  (``county:zjz``: the county 住建委's 质监站): that office alone verifies, rejects and
  closes; the region centres above the holder may not (``wrong_center``).
* A case's dispositions name the office as ``verifier``; the office is told when the case
  awaits its 核查 (a ``state`` of its own, keyed by its code).
* SLA warnings (催办) go to the holder and, under 督办, to its supervisor; a 核查 stage's
  warning goes to the verifier too. Every recipient gets its own disposition, each listing
  them all in ``recipients``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridflow.config import Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.engine import Engine
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.loop import LOOP, may_act
from gridflow.core.offices import VerifierRule, office_code, split_office
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.core.supervision import case_roles, verifier_of
from gridflow.reference import load_engine
from schemas import Feedback, FeedbackAction, GridEvent, RejectReason
from schemas.common import Tier

VILLAGE = "500103001003"
TOWN = "500103001000"
OTHER_TOWN = "500103002000"
COUNTY = "500103000000"
OTHER_COUNTY = "500104000000"
CITY = "500000000000"
ZJZ = "500103000000-zjz"  # 渝中区住建委质监站
YJJ = "500103000000-yjj"  # 渝中区应急管理局
SCJGS = "500103001000-scjgs"  # the town's 市场监管所
OTHER_ZJZ = "500104000000-zjz"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Chongqing
NOW = T0.timestamp()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


def test_an_office_code_is_its_region_s_code_and_its_key() -> None:
    assert office_code(COUNTY, "zjz") == ZJZ
    assert split_office(ZJZ) == (COUNTY, "zjz")
    for not_an_office in (COUNTY, "500103000000-", "500103000000-ZJZ", "5001-zjz", "x" * 20):
        assert split_office(not_an_office) is None, not_an_office


# ------------------------------------------------------------- the verifier (golden)

#: (rule, holder) -> the centre that verifies a case of VILLAGE.
OFFICE_VERIFIERS = [
    (VerifierRule(Tier.COUNTY, "zjz"), VILLAGE, ZJZ),
    (VerifierRule(Tier.COUNTY, "zjz"), TOWN, ZJZ),
    # held at the office's own tier: the county centre handles, its 质监站 checks
    (VerifierRule(Tier.COUNTY, "zjz"), COUNTY, ZJZ),
    # held above the office's tier: a county office does not check the city; the default
    (VerifierRule(Tier.COUNTY, "zjz"), CITY, CITY),
    (VerifierRule(Tier.TOWN, "scjgs"), TOWN, SCJGS),
    (VerifierRule(Tier.TOWN, "scjgs"), COUNTY, CITY),
]


@pytest.mark.parametrize(("rule", "holder", "verifier"), OFFICE_VERIFIERS)
def test_the_office_that_verifies_a_case(
    regions: RegionGraph, rule: VerifierRule, holder: str, verifier: str
) -> None:
    assert verifier_of(regions, VILLAGE, holder, rule) == verifier


#: Who may verify, reject and close (the loop's VERIFIER actions), per bundled category,
#: for a case of VILLAGE at its starting holder: category -> (holder, verifier, allowed
#: centres). Every other centre of this list is refused.
CENTRES = (VILLAGE, TOWN, OTHER_TOWN, COUNTY, OTHER_COUNTY, CITY, ZJZ, YJJ, SCJGS, OTHER_ZJZ)
CHECKERS = [
    # 暴露垃圾: no rule, the town above the village, and the centres above it
    ("SJ0102", VILLAGE, TOWN, {TOWN, COUNTY, CITY}),
    # 违规户外广告: the county's 监督中心, not the town between
    ("SJ0202", VILLAGE, COUNTY, {COUNTY, CITY}),
    # 危房: the town handles, the county 住建委's 质监站 checks, alone
    ("BJ0501", TOWN, ZJZ, {ZJZ}),
    # 安全生产隐患: the county 应急管理局
    ("ZZ0306", TOWN, YJJ, {YJJ}),
    # 食品安全: the town's command centre handles, its 市场监管所 checks
    ("SJ0802", TOWN, SCJGS, {SCJGS}),
]


@pytest.mark.parametrize(("category", "holder", "verifier", "allowed"), CHECKERS)
def test_who_may_verify_reject_and_close_per_category(
    engine: Engine, category: str, holder: str, verifier: str, allowed: set[str]
) -> None:
    state, case_id = _open(engine, category)
    case = state.cases[case_id]
    assert (case.holder, engine.verifier(case)) == (holder, verifier)
    roles = case_roles(engine.regions, holder, verifier)
    for action in (
        FeedbackAction.VERIFY,
        FeedbackAction.REJECT_RESOLUTION,
        FeedbackAction.CLOSE,
        FeedbackAction.REVISIT,
    ):
        who = LOOP[action].who
        may = {centre for centre in CENTRES if may_act(who, centre, roles)}
        assert may == allowed, (category, action.value)


# ------------------------------------------------------------------ the loop (engine)


def _event(category: str, event_id: str = "e1") -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": event_id,
            "source_network": "zongzhi",
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "title": "居民楼外墙开裂，疑似危房",
            "category": category,
        }
    )


def _fb(case_id: str, action: str, center: str, n: int) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"f{n}-{action}",
            "case_id": case_id,
            "center_code": center,
            "action": action,
            "at": T0.isoformat(),
        }
    )


def _open(engine: Engine, category: str) -> tuple[RegionState, str]:
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, _event(category), NOW)
    return state, out.dispositions[0].case_id


def _resolved(engine: Engine, category: str = "BJ0501") -> tuple[RegionState, str]:
    state, case_id = _open(engine, category)
    holder = state.cases[case_id].holder
    for n, action in enumerate(("accept", "resolve")):
        out = engine.apply_feedback(state, _fb(case_id, action, holder, n), NOW + 60 * (n + 1))
        assert out.reject is None, out.reject
    return state, case_id


def test_a_feedback_may_come_from_an_office() -> None:
    assert _fb("500103001003-abc", "verify", ZJZ, 1).center_code == ZJZ
    with pytest.raises(ValueError, match="center_code"):
        _fb("500103001003-abc", "verify", "500103000000-住建", 1)


def test_the_office_is_told_when_the_case_awaits_its_check(engine: Engine) -> None:
    state, case_id = _open(engine, "BJ0501")
    engine.apply_feedback(state, _fb(case_id, "accept", TOWN, 1), NOW + 60)
    out = engine.apply_feedback(state, _fb(case_id, "resolve", TOWN, 2), NOW + 120)
    assert [
        (d.action.value, d.center_code, d.tier.value, d.verifier) for d in out.dispositions
    ] == [
        ("state", TOWN, "town", ZJZ),  # the holder's step
        ("state", ZJZ, "county", ZJZ),  # 核查: the office is told, on its own key
    ]
    assert out.dispositions[1].holder == TOWN and out.dispositions[1].acted_by == TOWN
    assert len({d.disposition_id for d in out.dispositions}) == 2


def test_a_region_centre_verifier_gets_no_extra_notice(engine: Engine) -> None:
    state, case_id = _open(engine, "SJ0202")
    engine.apply_feedback(state, _fb(case_id, "accept", VILLAGE, 1), NOW + 60)
    out = engine.apply_feedback(state, _fb(case_id, "resolve", VILLAGE, 2), NOW + 120)
    assert [d.center_code for d in out.dispositions] == [VILLAGE]


@pytest.mark.parametrize("centre", [TOWN, COUNTY, CITY, OTHER_ZJZ, YJJ])
@pytest.mark.parametrize("action", ["verify", "reject_resolution", "close"])
def test_only_the_office_checks_its_cases(engine: Engine, centre: str, action: str) -> None:
    state, case_id = _resolved(engine)
    out = engine.apply_feedback(state, _fb(case_id, action, centre, 9), NOW + 600)
    assert out.reject is not None and out.reject[0] is RejectReason.WRONG_CENTER
    assert f"department office {ZJZ}" in out.reject[1]


def test_the_office_verifies_and_closes(engine: Engine) -> None:
    state, case_id = _resolved(engine)
    for n, action in enumerate(("verify", "close"), start=5):
        out = engine.apply_feedback(state, _fb(case_id, action, ZJZ, n), NOW + 600 + n)
        assert out.reject is None, out.reject
        [d] = out.dispositions
        assert (d.center_code, d.holder, d.verifier, d.acted_by) == (TOWN, TOWN, ZJZ, ZJZ)
    assert state.cases[case_id].status.value == "closed"


def test_the_office_sends_rework_back_and_is_asked_again(engine: Engine) -> None:
    state, case_id = _resolved(engine)
    out = engine.apply_feedback(state, _fb(case_id, "reject_resolution", ZJZ, 5), NOW + 600)
    assert out.reject is None and state.cases[case_id].status.value == "accepted"
    again = engine.apply_feedback(state, _fb(case_id, "resolve", TOWN, 6), NOW + 700)
    assert [d.center_code for d in again.dispositions] == [TOWN, ZJZ]


# --------------------------------------------------------------------- 催办 recipients


def _warn(engine: Engine, state: RegionState, case_id: str) -> list[tuple[str, str, str]]:
    case = state.cases[case_id]
    assert case.warn_at is not None and not case.warned
    out = engine.apply_tick(state, case_id, case.warn_at + 1)
    assert all(d.action.value == "sla_warning" for d in out.dispositions)
    told = [d.center_code for d in out.dispositions]
    assert all(d.recipients == told for d in out.dispositions)
    assert len({d.disposition_id for d in out.dispositions}) == len(told)
    return [(d.center_code, d.tier.value, d.stage or "") for d in out.dispositions]


def _miss(engine: Engine, state: RegionState, case_id: str) -> None:
    case = state.cases[case_id]
    assert case.deadline is not None
    engine.apply_tick(state, case_id, case.deadline + 1)


def test_a_warning_without_supervision_goes_to_the_holder_alone(engine: Engine) -> None:
    state, case_id = _open(engine, "SJ0102")
    assert _warn(engine, state, case_id) == [(VILLAGE, "village", "accept")]


def test_under_supervision_the_supervisor_is_warned_too(engine: Engine) -> None:
    state, case_id = _open(engine, "SJ0102")
    _miss(engine, state, case_id)  # the town supervises (督办)
    assert _warn(engine, state, case_id) == [
        (VILLAGE, "village", "accept"),
        (TOWN, "town", "accept"),
    ]


def test_a_check_s_warning_goes_to_the_verifying_office(engine: Engine) -> None:
    state, case_id = _resolved(engine)
    assert state.cases[case_id].stage == "verify"
    assert _warn(engine, state, case_id) == [
        (TOWN, "town", "verify"),
        (ZJZ, "county", "verify"),
    ]


def test_a_missed_check_is_supervised_above_the_office_and_all_three_are_warned(
    engine: Engine,
) -> None:
    state, case_id = _resolved(engine)
    _miss(engine, state, case_id)
    case = state.cases[case_id]
    # The office (county) missed it: the city supervises; the office still checks alone.
    assert (case.supervisor, engine.verifier(case)) == (CITY, ZJZ)
    assert _warn(engine, state, case_id) == [
        (TOWN, "town", "verify"),
        (CITY, "city", "verify"),
        (ZJZ, "county", "verify"),
    ]


def test_warnings_replayed_give_the_same_ids(engine: Engine) -> None:
    ids = []
    for _ in range(2):
        state, case_id = _resolved(engine)
        case = state.cases[case_id]
        assert case.warn_at is not None
        out = engine.apply_tick(state, case_id, case.warn_at + 1)
        ids.append([d.disposition_id for d in out.dispositions])
    assert ids[0] == ids[1] and len(ids[0]) == 2


# ----------------------------------------------------------------- catalogue errors

CATALOGUE = """\
fallback: SJ0601
majors:
  SJ01: 市容环境
  SJ06: 其他事件
categories:
  SJ0102: {name: 暴露垃圾}
  SJ0601: {name: 其他事件}
offices:
  zjz: {name: 住建委质监站, department: 住建委, tiers: [county]}
verifiers:
  SJ01: county:zjz
"""
NETWORKS = "networks:\n  chengguan: {name: 城管}\n"


def _load(tmp_path: Path, text: str) -> Catalogue:
    cat, net = tmp_path / "catalogue.yaml", tmp_path / "networks.yaml"
    cat.write_text(text, encoding="utf-8")
    net.write_text(NETWORKS, encoding="utf-8")
    return Catalogue.load(cat, net)


def test_a_category_names_an_office(tmp_path: Path) -> None:
    catalogue = _load(tmp_path, CATALOGUE)
    assert catalogue.verifier_rules() == {"SJ0102": VerifierRule(Tier.COUNTY, "zjz")}
    assert catalogue.offices["zjz"].name == "住建委质监站"


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            "  SJ01: county:zjz\n",
            "  SJ01: county:zjx\n",
            11,
            "verifiers: SJ01 names office 'zjx' (did you mean 'zjz'?), which offices: does "
            "not list (known: zjz)",
            id="unknown-office",
        ),
        pytest.param(
            "  SJ01: county:zjz\n",
            "  SJ01: town:zjz\n",
            11,
            "verifiers: SJ01 names office zjz (住建委质监站) at the town; it sits at county only",
            id="office-not-at-that-tier",
        ),
        pytest.param(
            "  zjz: {",
            "  ZJ-Z: {",
            9,
            "office key 'ZJ-Z' must be 2-16 lower-case letters and digits, a letter first (it "
            "is part of the office's centre code, e.g. 500103000000-zjz)",
            id="bad-key",
        ),
        pytest.param(
            "tiers: [county]",
            "tiers: [village]",
            9,
            "office zjz: tier 'village' is not one of town, county, city",
            id="office-at-a-village",
        ),
        pytest.param(
            ", department: 住建委",
            "",
            9,
            "office zjz lacks required field 'department'",
            id="missing-department",
        ),
    ],
)
def test_office_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in CATALOGUE
    with pytest.raises(ConfigLoadError) as caught:
        _load(tmp_path, CATALOGUE.replace(old, new))
    assert (caught.value.line, caught.value.message) == (line, message)
    assert caught.value.file.endswith("catalogue.yaml")
