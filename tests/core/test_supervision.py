"""Supervision apart from handling (监管分离, 督办): who handles, supervises and checks.

* After a missed deadline the case is **supervised** by the next tier up while the centre
  that missed keeps handling it, on the policy's 督办 (``supervise``) time.
* A centre above the holder may **take the case over** (``take_over``, 接管).
* The **verifier** is the centre of the tier ``catalogue.yaml`` names for the category
  (``verifiers:``), or the centre above the holder; never the holder itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridflow.config import Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.engine import Engine
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.loop import Who, may_act
from gridflow.core.offices import VerifierRule
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.core.supervision import case_roles, verifier_of
from gridflow.reference import load_engine
from schemas import Feedback, GridEvent, RejectReason
from schemas.common import Tier

VILLAGE = "500103001003"
NEIGHBOUR = "500103001006"
TOWN = "500103001000"
OTHER_TOWN = "500103002000"
COUNTY = "500103000000"
CITY = "500000000000"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Chongqing
NOW = T0.timestamp()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


# ------------------------------------------------------------------ the verifier (golden)

#: (configured verifier tier, holder) -> the centre that verifies a case of VILLAGE.
VERIFIERS = [
    (None, VILLAGE, TOWN),  # default: the centre above the holder
    (None, TOWN, COUNTY),
    (None, CITY, CITY),  # nobody above the city: it checks its own
    (Tier.TOWN, VILLAGE, TOWN),
    (Tier.COUNTY, VILLAGE, COUNTY),  # e.g. 部件: the county's 监督中心, not the town
    (Tier.COUNTY, TOWN, COUNTY),
    (Tier.COUNTY, COUNTY, CITY),  # holder at the verifier's tier: the centre above it
    (Tier.CITY, VILLAGE, CITY),
    (Tier.TOWN, COUNTY, CITY),  # a verifier tier below the holder never checks it
]


@pytest.mark.parametrize(("tier", "holder", "verifier"), VERIFIERS)
def test_the_verifier_of_a_case(
    regions: RegionGraph, tier: Tier | None, holder: str, verifier: str
) -> None:
    assert verifier_of(regions, VILLAGE, holder, tier and VerifierRule(tier)) == verifier


#: (who, centre, holder, verifier) -> may act? The holder never checks its own work.
MAY_ACT = [
    (Who.VERIFIER, TOWN, VILLAGE, TOWN, True),
    (Who.VERIFIER, COUNTY, VILLAGE, TOWN, True),  # above the verifier
    (Who.VERIFIER, VILLAGE, VILLAGE, TOWN, False),  # the handler
    (Who.VERIFIER, TOWN, VILLAGE, COUNTY, False),  # between holder and verifier
    (Who.VERIFIER, COUNTY, VILLAGE, COUNTY, True),
    (Who.VERIFIER, CITY, VILLAGE, COUNTY, True),
    (Who.VERIFIER, OTHER_TOWN, VILLAGE, TOWN, False),
    (Who.VERIFIER, CITY, CITY, CITY, True),
    (Who.ABOVE, TOWN, VILLAGE, TOWN, True),
    (Who.ABOVE, CITY, VILLAGE, TOWN, True),
    (Who.ABOVE, VILLAGE, VILLAGE, TOWN, False),
    (Who.ABOVE, NEIGHBOUR, VILLAGE, TOWN, False),
    (Who.HOLDER, VILLAGE, VILLAGE, TOWN, True),
    (Who.HOLDER, TOWN, VILLAGE, TOWN, False),
    (Who.SUPERVISION, TOWN, VILLAGE, COUNTY, True),
    (Who.SUPERVISION, NEIGHBOUR, VILLAGE, TOWN, False),
]


@pytest.mark.parametrize(("who", "centre", "holder", "verifier", "allowed"), MAY_ACT)
def test_who_may_act_on_a_case(
    regions: RegionGraph, who: Who, centre: str, holder: str, verifier: str, allowed: bool
) -> None:
    assert may_act(who, centre, case_roles(regions, holder, verifier)) is allowed


def test_the_bundled_catalogue_names_the_county_for_advertising_and_three_offices() -> None:
    catalogue = Catalogue.default()
    rules = {code: str(rule) for code, rule in catalogue.verifier_rules().items()}
    assert rules == {
        "BJ0501": "county:zjz",  # 危房: the county 住建委's 质监站
        "SJ0201": "county",
        "SJ0202": "county",
        "SJ0203": "county",
        "SJ0802": "town:scjgs",  # 食品安全: the town's 市场监管所
        "ZZ0306": "county:yjj",  # 安全生产隐患: the county 应急管理局
    }
    assert catalogue.verifier_rule("SJ0102") is None


CATALOGUE = """\
fallback: SJ0601
majors:
  SJ01: 市容环境
  SJ06: 其他事件
categories:
  SJ0102: {name: 暴露垃圾}
  SJ0104: {name: 道路不洁}
  SJ0601: {name: 其他事件}
verifiers:
  SJ01: county
  SJ0104: town
"""
NETWORKS = "networks:\n  chengguan: {name: 城管}\n"


def _load(tmp_path: Path, text: str) -> Catalogue:
    cat, net = tmp_path / "catalogue.yaml", tmp_path / "networks.yaml"
    cat.write_text(text, encoding="utf-8")
    net.write_text(NETWORKS, encoding="utf-8")
    return Catalogue.load(cat, net)


def test_the_longest_verifier_prefix_wins(tmp_path: Path) -> None:
    catalogue = _load(tmp_path, CATALOGUE)
    assert catalogue.verifier_rules() == {
        "SJ0102": VerifierRule(Tier.COUNTY),
        "SJ0104": VerifierRule(Tier.TOWN),
    }


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            "  SJ01: county\n",
            "  SJ09: county\n",
            10,
            "verifiers: 'SJ09' is neither a category code nor the prefix of one "
            "(BJ, SJ01, ZZ0304 …)",
            id="unknown-prefix",
        ),
        pytest.param(
            "  SJ01: county\n",
            "  SJ01: conty\n",
            10,
            "verifiers: SJ01 names tier 'conty' (did you mean 'county'?); a verifier is "
            "the centre of one of town, county, city, or an office there (county:<office>)",
            id="unknown-tier",
        ),
        pytest.param(
            "  SJ0104: town\n",
            "  SJ0104: village\n",
            11,
            "verifiers: SJ0104 names tier 'village'; a verifier is the centre of one of "
            "town, county, city, or an office there (county:<office>)",
            id="village-cannot-verify",
        ),
        pytest.param(
            "  SJ0104: town\n",
            "  SJ01: town\n",
            11,
            "duplicate key 'SJ01' in verifiers (first at line 10)",
            id="duplicate",
        ),
    ],
)
def test_verifier_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in CATALOGUE
    with pytest.raises(ConfigLoadError) as caught:
        _load(tmp_path, CATALOGUE.replace(old, new))
    assert (caught.value.line, caught.value.message) == (line, message)
    assert caught.value.file.endswith("catalogue.yaml")


# ------------------------------------------------------------ the supervised loop (engine)


def _event(category: str = "SJ0102", event_id: str = "e1") -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "title": "菜市场旁垃圾堆积无人清运",
            "category": category,
        }
    )


def _fb(case_id: str, action: str, center: str, n: int) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"f{n}-{action}-{center}",
            "case_id": case_id,
            "center_code": center,
            "action": action,
            "at": T0.isoformat(),
        }
    )


def _open(engine: Engine, category: str = "SJ0102") -> tuple[RegionState, str]:
    state = RegionState(VILLAGE)
    [opened] = engine.apply_event(state, _event(category), NOW).dispositions
    return state, opened.case_id


def _miss(engine: Engine, state: RegionState, case_id: str) -> list[tuple[str, str, str | None]]:
    case = state.cases[case_id]
    assert case.deadline is not None
    out = engine.apply_tick(state, case_id, case.deadline + 1)
    return [(d.action.value, d.center_code, d.supervisor) for d in out.dispositions]


def test_the_lower_centre_keeps_handling_under_supervision_and_the_town_checks(
    engine: Engine,
) -> None:
    state, case_id = _open(engine)
    case = state.cases[case_id]
    assert _miss(engine, state, case_id) == [
        ("escalate", TOWN, TOWN),  # the town now supervises (督办) ...
        ("state", VILLAGE, TOWN),  # ... and the village is told it keeps handling
    ]
    assert (case.holder, case.tier, case.supervisor, case.stage) == (
        VILLAGE,
        "village",
        TOWN,
        "accept",
    )
    # The supervisor is not the handler: it may not accept or resolve for the village.
    refused = engine.apply_feedback(state, _fb(case_id, "accept", TOWN, 1), NOW + 10)
    assert refused.reject is not None and refused.reject[0] is RejectReason.WRONG_CENTER
    steps = [("accept", VILLAGE), ("resolve", VILLAGE), ("verify", TOWN), ("close", TOWN)]
    for n, (action, centre) in enumerate(steps, start=2):
        out = engine.apply_feedback(state, _fb(case_id, action, centre, n), NOW + 10 + n)
        assert out.reject is None, (action, out.reject)
        [d] = out.dispositions
        # Who acted travels with the step; the case stays the village's.
        assert (d.acted_by, d.holder, d.center_code, d.supervisor) == (
            centre,
            VILLAGE,
            VILLAGE,
            TOWN,
        )
    assert case.status.value == "closed"


def test_a_second_miss_moves_the_supervision_up_not_the_case(engine: Engine) -> None:
    state, case_id = _open(engine)
    _miss(engine, state, case_id)
    assert _miss(engine, state, case_id) == [
        ("escalate", COUNTY, COUNTY),
        ("state", VILLAGE, COUNTY),
    ]
    case = state.cases[case_id]
    assert (case.holder, case.supervisor, case.escalated) == (VILLAGE, COUNTY, ["town", "county"])


def test_the_holder_under_supervision_cannot_ask_the_supervisor_up_again(engine: Engine) -> None:
    state, case_id = _open(engine)
    _miss(engine, state, case_id)
    out = engine.apply_feedback(state, _fb(case_id, "escalate", VILLAGE, 1), NOW + 10)
    assert out.reject is not None and out.reject[0] is RejectReason.INVALID_TRANSITION
    assert "supervision (督办) of 500103001000" in out.reject[1] and "take_over" in out.reject[1]


def test_the_supervisor_may_take_the_case_over(engine: Engine) -> None:
    state, case_id = _open(engine)
    _miss(engine, state, case_id)
    case = state.cases[case_id]
    deadline = case.deadline
    out = engine.apply_feedback(state, _fb(case_id, "take_over", TOWN, 1), NOW + 10)
    assert out.reject is None, out.reject
    assert [(d.action.value, d.center_code, d.holder, d.acted_by) for d in out.dispositions] == [
        ("reroute", TOWN, TOWN, TOWN),  # the town now holds it ...
        ("state", VILLAGE, TOWN, TOWN),  # ... and the village is told
    ]
    # The 督办 clock runs on (no fresh stage); the county above checks the town's work.
    assert (case.holder, case.tier, case.supervisor, case.deadline) == (
        TOWN,
        "town",
        None,
        deadline,
    )
    for n, (action, centre) in enumerate([("accept", TOWN), ("resolve", TOWN)], start=2):
        assert (
            engine.apply_feedback(state, _fb(case_id, action, centre, n), NOW + 20).reject is None
        )
    refused = engine.apply_feedback(state, _fb(case_id, "verify", TOWN, 5), NOW + 30)
    assert refused.reject is not None and refused.reject[0] is RejectReason.WRONG_CENTER
    assert engine.apply_feedback(state, _fb(case_id, "verify", COUNTY, 6), NOW + 30).reject is None


def test_a_take_over_replayed_changes_nothing(engine: Engine) -> None:
    state, case_id = _open(engine)
    first = engine.apply_feedback(state, _fb(case_id, "take_over", COUNTY, 1), NOW + 10)
    again = engine.apply_feedback(state, _fb(case_id, "take_over", COUNTY, 1), NOW + 10)
    assert len(first.dispositions) == 2 and again.duplicate == "feedback"
    assert len({d.disposition_id for d in first.dispositions}) == 2


@pytest.mark.parametrize(
    ("category", "verifier", "refused"),
    [
        ("SJ0102", TOWN, COUNTY),  # 暴露垃圾: the town above the village (default)
        ("SJ0202", COUNTY, TOWN),  # 违规户外广告: the county's 监督中心, not the town
    ],
)
def test_the_category_s_verifier_checks_and_no_one_between(
    engine: Engine, category: str, verifier: str, refused: str
) -> None:
    assert category in engine.catalogue
    state, case_id = _open(engine, category)
    for n, action in enumerate(["accept", "resolve"]):
        assert (
            engine.apply_feedback(state, _fb(case_id, action, VILLAGE, n), NOW + 1).reject is None
        )
    # A county verifier: the town between it and the village may not check. A town
    # verifier: the county above it may (not tried here), the village never.
    no = engine.apply_feedback(
        state, _fb(case_id, "verify", VILLAGE if refused == COUNTY else refused, 3), NOW + 2
    )
    assert no.reject is not None and no.reject[0] is RejectReason.WRONG_CENTER
    assert verifier in no.reject[1]
    out = engine.apply_feedback(state, _fb(case_id, "verify", verifier, 4), NOW + 3)
    assert out.reject is None, out.reject
    [d] = out.dispositions
    assert (d.verifier, d.acted_by) == (verifier, verifier)
