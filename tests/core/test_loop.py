"""The closed loop is a table (gridflow/core/loop.py) that the engine executes.

Every (action, state) pair is tried on a real case: the table alone predicts whether the
engine allows it, the state it leaves, the SLA stage, the disposition and the step fact.
README's table is the same table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridflow.config import Settings
from gridflow.core.case import CaseStatus
from gridflow.core.engine import Engine
from gridflow.core.loop import LOOP, StageChange, Transition, Who, table_rows
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Feedback, FeedbackAction, GridEvent, RejectReason

README = Path(__file__).resolve().parents[2] / "README.md"
VILLAGE = "500103001003"
NEIGHBOUR = "500103001006"
TOWN = "500103001000"
COUNTY = "500103000000"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Chongqing
NOW = T0.timestamp()

#: Feedback that brings a fresh case (dispatched) to each state.
PATHS: dict[CaseStatus, tuple[str, ...]] = {
    CaseStatus.DISPATCHED: (),
    CaseStatus.ACCEPTED: ("accept",),
    CaseStatus.RESOLVED: ("accept", "resolve"),
    CaseStatus.VERIFIED: ("accept", "resolve", "verify"),
    CaseStatus.CLOSED: ("accept", "resolve", "verify", "close"),
    CaseStatus.CANCELLED: ("cancel",),
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def readme_table() -> list[tuple[str, ...]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The closed loop", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in lines[2:]]


def test_readme_s_closed_loop_table_is_the_table_the_engine_executes() -> None:
    assert readme_table() == table_rows()


def test_every_feedback_action_has_one_row() -> None:
    assert set(LOOP) == set(FeedbackAction)
    assert all(t.action is action for action, t in LOOP.items())


def feedback(
    case_id: str,
    action: str,
    n: int,
    center: str = VILLAGE,
    deadline: float | None = None,
    satisfaction: str = "satisfied",
) -> Feedback:
    doc: dict[str, object] = {
        "feedback_id": f"f{n}-{action}",
        "case_id": case_id,
        "center_code": center,
        "action": action,
        "at": T0.isoformat(),
    }
    if action == "extend":
        # a minute past the running deadline: within every policy's limit
        until = datetime.fromtimestamp(deadline or NOW, UTC) + timedelta(minutes=1)
        doc["until"] = until.isoformat()
    if action == "return":
        doc["target_center"] = NEIGHBOUR
    if action == "revisit":
        doc["satisfaction"] = satisfaction
    return Feedback.model_validate(doc)


def case_in(engine: Engine, status: CaseStatus) -> tuple[RegionState, str]:
    state = RegionState(VILLAGE)
    event = GridEvent.model_validate(
        {
            "event_id": "e1",
            "source_network": "chengguan",
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )
    case_id = engine.apply_event(state, event, NOW).dispositions[0].case_id
    if status is CaseStatus.MERGED:  # 跨村合并: absorbed into a neighbouring village's case
        engine.apply_absorb(state, case_id, "500103001006-0123456789ab", NOW + 1)
    for n, action in enumerate(PATHS.get(status, ())):
        who = LOOP[FeedbackAction(action)].who
        out = engine.apply_feedback(
            state, feedback(case_id, action, n, centre_for(who)), NOW + 1 + n
        )
        assert out.reject is None, out.reject
    assert state.cases[case_id].status is status
    return state, case_id


def centre_for(who: Who) -> str:
    """Who sends an action on a village's case: the village, or the town above it."""
    return TOWN if who in (Who.VERIFIER, Who.ABOVE) else VILLAGE


PAIRS = [(t, status) for t in LOOP.values() for status in CaseStatus]


@pytest.mark.parametrize(
    ("rule", "status"), PAIRS, ids=[f"{t.action.value} from {s.value}" for t, s in PAIRS]
)
def test_the_engine_does_what_the_row_says(
    engine: Engine, rule: Transition, status: CaseStatus
) -> None:
    state, case_id = case_in(engine, status)
    case = state.cases[case_id]
    stage_before, deadline_before = case.stage, case.deadline
    fb = feedback(case_id, rule.action.value, 99, centre_for(rule.who), deadline_before)
    out = engine.apply_feedback(state, fb, NOW + 60)
    if rule.action is FeedbackAction.CLOSE and status is CaseStatus.RESOLVED:
        # The row allows it; the policy (close_requires_verify, the default) does not.
        assert out.reject is not None and "needs verified" in out.reject[1]
        return
    if status not in rule.allowed:
        assert out.reject is not None and out.reject[0] is RejectReason.INVALID_TRANSITION
        assert case.status is status and not out.dispositions
        return
    assert out.reject is None, out.reject
    assert case.status is (rule.becomes or status)
    # 接管 also tells the former holder (a second, inform step); every other action is one.
    [disposition, *notices] = out.dispositions
    [fact, *_] = out.facts
    assert len(notices) == (rule.action is FeedbackAction.TAKE_OVER)
    assert (disposition.action, fact.kind) == (rule.disposition, rule.step)
    expected_stage = {
        StageChange.START_ACCEPT: "accept",
        StageChange.START_RESOLVE: "resolve",
        StageChange.START_VERIFY: "verify",
        StageChange.STOP: None,
        StageChange.RESTART: stage_before,
        StageChange.MOVE: stage_before,
        StageChange.KEEP: stage_before,
        StageChange.NONE: None,
    }[rule.stage]
    assert case.stage == expected_stage
    if rule.stage in (StageChange.RESTART, StageChange.MOVE):
        assert case.deadline is not None and case.deadline != deadline_before
    if rule.stage is StageChange.KEEP:
        assert case.deadline == deadline_before


@pytest.mark.parametrize("rule", list(LOOP.values()), ids=[a.value for a in LOOP])
def test_who_may_act_is_the_row_s(engine: Engine, rule: Transition) -> None:
    state, case_id = case_in(engine, rule.allowed[0])
    deadline = state.cases[case_id].deadline
    out = engine.apply_feedback(
        state, feedback(case_id, rule.action.value, 99, TOWN, deadline), NOW + 60
    )
    if rule.who is Who.HOLDER:
        assert out.reject is not None and out.reject[0] is RejectReason.WRONG_CENTER
    else:
        assert out.reject is None, out.reject
    if rule.who in (Who.VERIFIER, Who.ABOVE):
        # 监管分离: the centre that handled the case never checks or takes it over.
        state, case_id = case_in(engine, rule.allowed[0])
        out = engine.apply_feedback(
            state, feedback(case_id, rule.action.value, 97, VILLAGE, deadline), NOW + 60
        )
        assert out.reject is not None and out.reject[0] is RejectReason.WRONG_CENTER
        assert ("supervising side" if rule.who is Who.VERIFIER else "a centre above") in (
            out.reject[1]
        )
    # a centre beside the holder (not above it) may never act
    out = engine.apply_feedback(
        state, feedback(case_id, rule.action.value, 98, NEIGHBOUR, deadline), NOW + 60
    )
    assert out.reject is not None and out.reject[0] is RejectReason.WRONG_CENTER


def test_a_refusal_names_the_states_the_action_needs(engine: Engine) -> None:
    state, case_id = case_in(engine, CaseStatus.DISPATCHED)
    out = engine.apply_feedback(state, feedback(case_id, "close", 1, TOWN), NOW)
    assert out.reject is not None
    assert re.search(r"is dispatched; close needs verified, resolved$", out.reject[1])


def test_resolving_starts_verification_on_the_policy_s_clock(engine: Engine) -> None:
    state, case_id = case_in(engine, CaseStatus.RESOLVED)
    case = state.cases[case_id]
    # garbage_exposed: verify 2 working hours, from the resolution at 10:00:02 (the
    # morning period ends at 12:00, so the last 2 s fall after lunch).
    assert case.stage == "verify"
    policy = engine.rules.policies[case.policy]
    assert policy.verify is not None
    resolved = datetime.fromtimestamp(NOW + 2, UTC)
    due = engine.rules.calendar.add_working_time(resolved, policy.verify).timestamp()
    assert case.deadline == due


def test_a_missed_verification_goes_above_the_verifier(engine: Engine) -> None:
    # The town (the verifier) missed its 核查 deadline: the county supervises the town's
    # verification; the village still holds the case.
    state, case_id = case_in(engine, CaseStatus.RESOLVED)
    case = state.cases[case_id]
    assert case.deadline is not None
    out = engine.apply_tick(state, case_id, case.deadline + 1)
    assert [(d.action, d.center_code) for d in out.dispositions] == [
        ("escalate", COUNTY),
        ("state", VILLAGE),
    ]
    assert (case.holder, case.supervisor, case.stage) == (VILLAGE, COUNTY, "verify")


def test_a_missed_deadline_gives_a_supervised_deadline_not_a_fresh_stage(
    engine: Engine,
) -> None:
    # garbage_exposed: accept 30 working minutes; 督办 (supervise) 2 working hours would be
    # longer, so take the resolve stage: 4 working hours, supervise 2.
    state, case_id = case_in(engine, CaseStatus.ACCEPTED)
    case = state.cases[case_id]
    assert case.deadline is not None
    missed_at = case.deadline + 1
    engine.apply_tick(state, case_id, missed_at)
    # 督办: the town supervises; the village keeps handling the resolve stage.
    assert (case.holder, case.supervisor, case.stage) == (VILLAGE, TOWN, "resolve")
    policy = engine.rules.policies[case.policy]
    assert policy.supervise is not None
    full = engine.rules.calendar.add_working_time(
        datetime.fromtimestamp(missed_at, UTC), policy.resolve
    ).timestamp()
    supervised = engine.rules.calendar.add_working_time(
        datetime.fromtimestamp(missed_at, UTC), policy.supervise
    ).timestamp()
    assert case.deadline == pytest.approx(supervised) and case.deadline < full


@pytest.mark.parametrize(
    ("answer", "status", "stage"),
    [
        ("satisfied", CaseStatus.CLOSED, None),
        ("basically_satisfied", CaseStatus.CLOSED, None),
        ("unsatisfied", CaseStatus.DISPATCHED, "accept"),
    ],
)
def test_a_revisit_records_satisfaction_and_unsatisfied_reopens(
    engine: Engine, answer: str, status: CaseStatus, stage: str | None
) -> None:
    state, case_id = case_in(engine, CaseStatus.CLOSED)
    fb = feedback(case_id, "revisit", 50, TOWN, satisfaction=answer)
    out = engine.apply_feedback(state, fb, NOW + 60)
    assert out.reject is None, out.reject
    [disposition] = out.dispositions
    assert disposition.reason is not None and answer in disposition.reason
    case = state.cases[case_id]
    assert (case.status, case.stage) == (status, stage)


def test_a_revisit_needs_a_satisfaction() -> None:
    with pytest.raises(ValueError, match="satisfaction"):
        Feedback.model_validate(
            {
                "feedback_id": "f1",
                "case_id": f"{VILLAGE}-x",
                "center_code": TOWN,
                "action": "revisit",
                "at": T0.isoformat(),
            }
        )
