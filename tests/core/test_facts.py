"""Step facts: every disposition comes with what its step did, as data.

KPIs and metrics count these facts; nothing reads the disposition's ``reason`` text.
Whether a close is on time is judged from the case's own state, so a case that moved to
another worker (its row recovered from the changelog) is judged the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridflow.config import Settings
from gridflow.core.case import Case
from gridflow.core.engine import Engine, Outcome
from gridflow.core.facts import StepKind
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Feedback, GridEvent

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NOW = T0.timestamp()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def ev(event_id: str, network: str = "chengguan", **kw: object) -> GridEvent:
    doc: dict[str, object] = {
        "event_id": event_id,
        "source_network": network,
        "reported_at": T0.isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": 29.556, "lon": 106.571},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    doc.update(kw)
    return GridEvent.model_validate(doc)


def fb(case_id: str, action: str, n: int, center: str = VILLAGE, **kw: object) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"f{n}",
            "case_id": case_id,
            "center_code": center,
            "action": action,
            "at": T0.isoformat(),
            **kw,
        }
    )


def paired(out: Outcome) -> list[tuple[str, str]]:
    """(disposition action, fact kind) of each step; one fact per disposition."""
    assert len(out.facts) == len(out.dispositions)
    for d, f in zip(out.dispositions, out.facts, strict=True):
        assert (f.case_id, f.region, f.at) == (d.case_id, VILLAGE, d.at.timestamp())
    return [
        (d.action.value, f.kind.value) for d, f in zip(out.dispositions, out.facts, strict=True)
    ]


#: (feedback action, extra fields, expected (disposition action, fact kind)), applied in order
#: to one case: the whole closed loop, with every kind of step a centre can cause.
LOOP = [
    ("accept", {}, ("state", "accepted")),
    ("extend", {"until": (T0 + timedelta(days=1)).isoformat()}, ("state", "extended")),
    ("resolve", {}, ("state", "resolved")),
    # 监管分离: the town above the village checks and closes.
    ("reject_resolution", {"center": TOWN}, ("state", "reworked")),
    ("resolve", {}, ("state", "resolved")),
    ("verify", {"center": TOWN}, ("state", "verified")),
    ("close", {"center": TOWN}, ("state", "closed")),
    ("reopen", {}, ("state", "reopened")),
    ("return", {"target_center": "500103001006"}, ("reroute", "returned")),
    ("return", {"center": "500103001006"}, ("reroute", "returned")),
    ("escalate", {"center": TOWN}, ("escalate", "escalated")),
    ("cancel", {"center": "500103000000"}, ("state", "cancelled")),
]


def test_every_step_of_the_loop_comes_with_its_fact(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    opened = engine.apply_event(state, ev("e1"), NOW)
    assert paired(opened) == [("dispatch", "opened")]
    assert opened.facts[0].network == "chengguan"
    case_id = opened.dispositions[0].case_id
    merged = engine.apply_event(state, ev("e2", "zongzhi"), NOW + 1)
    assert paired(merged) == [("merge", "merged")]
    assert (merged.facts[0].first_network, merged.facts[0].network) == ("chengguan", "zongzhi")
    for n, (action, extra, expected) in enumerate(LOOP):
        fields = dict(extra)
        center = str(fields.pop("center", VILLAGE))
        out = engine.apply_feedback(state, fb(case_id, action, n, center, **fields), NOW + 2 + n)
        assert out.reject is None, (action, out.reject)
        assert paired(out) == [expected], action


def test_a_critical_case_informs_other_tiers_as_informed_steps(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, ev("fire", title="居民楼起火有人被困", category=None), NOW)
    kinds = [f.kind for f in out.facts]
    assert kinds[0] is StepKind.OPENED and StepKind.INFORMED in kinds, paired(out)
    informed = [f.tier for f in out.facts if f.kind is StepKind.INFORMED]
    assert informed == [d.tier.value for d in out.dispositions if d.action == "state"]


def test_timer_steps_say_which_stage_deadline_they_are_about(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = engine.apply_event(state, ev("e1"), NOW).dispositions[0].case_id
    case = state.cases[case_id]
    steps = []
    for _ in range(12):
        due = case.next_due()
        if due is None:
            break
        steps += [
            (f.kind.value, f.tier, f.stage) for f in engine.apply_tick(state, case_id, due).facts
        ]
    assert ("warned", "village", "accept") in steps
    assert [s for s in steps if s[0] == "escalated"] == [
        ("escalated", "town", "accept"),
        ("escalated", "county", "accept"),
        ("escalated", "city", "accept"),
    ]
    assert [s for s in steps if s[0] == "breached"] == [("breached", "city", "accept")]


def _accepted(engine: Engine) -> tuple[RegionState, str, float]:
    state = RegionState(VILLAGE)
    case_id = engine.apply_event(state, ev("e1"), NOW).dispositions[0].case_id
    engine.apply_feedback(state, fb(case_id, "accept", 1), NOW + 1)
    deadline = state.cases[case_id].deadline
    assert deadline is not None
    return state, case_id, deadline


def _close(
    engine: Engine, state: RegionState, case_id: str, at: float, above: str = TOWN
) -> tuple[bool, float]:
    """Verify, then close, from the supervising side (``above`` the holder)."""
    verified = engine.apply_feedback(state, fb(case_id, "verify", 98, above), at - 1)
    assert verified.reject is None, verified.reject
    out = engine.apply_feedback(state, fb(case_id, "close", 99, above), at)
    [closed] = out.facts
    assert closed.kind is StepKind.CLOSED and closed.on_time is not None
    assert closed.lateness_s is not None
    return closed.on_time, closed.lateness_s


def test_a_close_resolved_in_time_is_on_time_with_no_lateness(engine: Engine) -> None:
    state, case_id, deadline = _accepted(engine)
    engine.apply_feedback(state, fb(case_id, "resolve", 2), deadline)  # at the deadline: in time
    assert _close(engine, state, case_id, deadline + 10) == (True, 0.0)


def test_a_close_resolved_late_says_how_late(engine: Engine) -> None:
    state, case_id, deadline = _accepted(engine)
    engine.apply_feedback(state, fb(case_id, "resolve", 2), deadline + 3600)
    assert _close(engine, state, case_id, deadline + 7200) == (False, 3600.0)


def test_lateness_counts_from_the_first_missed_deadline_after_an_escalation(
    engine: Engine,
) -> None:
    state, case_id, deadline = _accepted(engine)
    engine.apply_tick(state, case_id, deadline)  # missed: the town supervises (督办)
    case = state.cases[case_id]
    assert (case.holder, case.supervisor) == (VILLAGE, TOWN)
    assert case.deadline is not None and case.deadline > deadline
    # The village still handles it; the town above it verifies and closes.
    engine.apply_feedback(state, fb(case_id, "resolve", 2, VILLAGE), deadline + 600)
    assert _close(engine, state, case_id, deadline + 700, TOWN) == (False, 600.0)


@pytest.mark.parametrize("late", [False, True], ids=["in time", "late"])
def test_a_case_closed_on_another_worker_keeps_its_on_time_verdict(
    engine: Engine, late: bool
) -> None:
    state, case_id, deadline = _accepted(engine)
    engine.apply_feedback(state, fb(case_id, "resolve", 2), deadline + (60 if late else -60))
    # The other worker knows the case only from its row in the changelog.
    moved = RegionState.from_bytes(state.to_bytes())
    assert _close(engine, moved, case_id, deadline + 120) == (not late, 60.0 if late else 0.0)


def test_rows_stored_before_the_timing_facts_still_load(engine: Engine) -> None:
    state, case_id, deadline = _accepted(engine)
    engine.apply_feedback(state, fb(case_id, "resolve", 2), deadline + 60)
    row = state.cases[case_id].to_dict()
    assert (row["ls"], row["ra"], row["ot"]) == (deadline, deadline + 60, 0)
    old = {k: v for k, v in row.items() if k not in ("ls", "ra")}
    case = Case.from_dict(old)
    assert (case.on_time, case.late_since, case.resolved_at) == (False, None, None)
    assert case.lateness_s() is None  # late, but how late was not recorded
    # and a row from before on_time was stored at all reads as on time, as it always did
    assert Case.from_dict({k: v for k, v in old.items() if k != "ot"}).lateness_s() == 0.0
