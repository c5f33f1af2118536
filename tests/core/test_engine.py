"""The case engine as a specification: merge, route, the closed loop and SLA escalation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Feedback, GridEvent, RejectReason

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"
CITY = "500000000000"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday, 18:00 in Chongqing


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def ev(
    event_id: str,
    network: str = "chengguan",
    lat: float = 29.556,
    lon: float = 106.571,
    **kw: object,
) -> GridEvent:
    doc: dict[str, object] = {
        "event_id": event_id,
        "source_network": network,
        "reported_at": T0.isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": lat, "lon": lon},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
    }
    doc.update(kw)
    return GridEvent.model_validate(doc)


def fb(case_id: str, action: str, center: str = VILLAGE, n: int = 0, **kw: object) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"{case_id}-{action}-{n}",
            "case_id": case_id,
            "center_code": center,
            "action": action,
            "at": T0.isoformat(),
            **kw,
        }
    )


NOW = T0.timestamp()
#: 监管分离: verification and closing come from the tier above the holder.
CHECKS = frozenset({"verify", "reject_resolution", "close"})


def by(action: str, holder: str = VILLAGE) -> str:
    """The centre that sends ``action`` for a case held by ``holder`` (a village here)."""
    return TOWN if action in CHECKS else holder


def open_case(engine: Engine, state: RegionState, event_id: str = "e1") -> str:
    out = engine.apply_event(state, ev(event_id), NOW)
    [dispatch] = [d for d in out.dispositions if d.action == "dispatch"]
    return dispatch.case_id


def test_a_new_report_opens_a_case_at_the_village_centre(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, ev("e1"), NOW)
    [d] = out.dispositions
    assert (d.action, d.tier, d.center_code) == ("dispatch", "village", VILLAGE)
    assert d.deadline is not None and d.deadline > T0
    assert d.rule and d.rules_version == engine.rules.version
    assert d.case_id.startswith(VILLAGE) and d.events == ["e1"]
    assert out.changed and out.due


def test_case_and_disposition_ids_are_deterministic(engine: Engine) -> None:
    a, b = RegionState(VILLAGE), RegionState(VILLAGE)
    ids_a = [d.disposition_id for d in engine.apply_event(a, ev("e1"), NOW).dispositions]
    ids_b = [d.disposition_id for d in engine.apply_event(b, ev("e1"), NOW + 5).dispositions]
    assert ids_a == ids_b


def test_another_network_reporting_the_same_incident_merges(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    out = engine.apply_event(
        state, ev("e2", network="zongzhi", lat=29.5562, lon=106.5712), NOW + 60
    )
    [d] = out.dispositions
    assert d.action == "merge" and d.case_id == case_id and d.center_code == VILLAGE
    assert d.events == ["e1", "e2"] and d.networks == ["chengguan", "zongzhi"]
    assert len(state.cases) == 1


@pytest.mark.parametrize(
    ("what", "overrides"),
    [
        ("too far away", {"lat": 29.59, "lon": 106.60}),
        ("outside the time window", {"reported_at": (T0 + timedelta(days=2)).isoformat()}),
        ("an incompatible category", {"category": "ZZ0101", "title": "邻里纠纷"}),
    ],
)
def test_a_report_that_is_not_the_same_incident_opens_its_own_case(
    engine: Engine, what: str, overrides: dict[str, object]
) -> None:
    state = RegionState(VILLAGE)
    open_case(engine, state)
    lat = overrides.pop("lat", 29.556)
    lon = overrides.pop("lon", 106.571)
    out = engine.apply_event(
        state, ev("e2", network="zongzhi", lat=lat, lon=lon, **overrides), NOW + 60
    )  # type: ignore[arg-type]
    assert [d.action for d in out.dispositions if d.action in ("dispatch", "merge")] == [
        "dispatch"
    ], what
    assert len(state.cases) == 2


def test_a_resent_event_is_a_counted_no_op(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    open_case(engine, state)
    out = engine.apply_event(state, ev("e1"), NOW + 1)
    assert out.duplicate == "event" and not out.dispositions and not out.changed


def test_the_closed_loop_from_dispatch_to_close(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    states = []
    for action in ("accept", "resolve", "verify", "close"):
        # 监管分离: the village handles, the town above it verifies and closes.
        out = engine.apply_feedback(state, fb(case_id, action, center=by(action)), NOW + 10)
        assert out.reject is None, out.reject
        [d] = out.dispositions
        states.append(d.state)
    assert states == ["accepted", "resolved", "verified", "closed"]
    assert not state.cases[case_id].is_open


def test_rework_sends_the_case_back_to_the_handler(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    for n, action in enumerate(("accept", "resolve", "reject_resolution")):
        engine.apply_feedback(state, fb(case_id, action, center=by(action), n=n), NOW + 10)
    case = state.cases[case_id]
    assert case.status == "accepted" and case.reworks == 1 and case.deadline is not None


# action -> statuses from which it is allowed
ALLOWED = {
    "accept": {"dispatched"},
    "resolve": {"accepted"},
    "verify": {"resolved"},
    "reject_resolution": {"resolved", "verified"},
    "close": {"verified"},  # from resolved only where the policy does not require 核查
    "cancel": {"dispatched", "accepted"},
    "reopen": {"closed", "cancelled", "verified"},
    "escalate": {"dispatched", "accepted"},
    "return": {"dispatched", "accepted"},
    "extend": {"dispatched", "accepted"},
}
PATH_TO = {
    "dispatched": [],
    "accepted": ["accept"],
    "resolved": ["accept", "resolve"],
    "verified": ["accept", "resolve", "verify"],
    "closed": ["accept", "resolve", "verify", "close"],
    "cancelled": ["cancel"],
}


@pytest.mark.parametrize("status", sorted(PATH_TO))
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_every_transition_is_allowed_or_refused_with_a_reason(
    engine: Engine, status: str, action: str
) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    for n, step in enumerate(PATH_TO[status]):
        done = engine.apply_feedback(state, fb(case_id, step, center=by(step), n=n), NOW + 1)
        assert done.reject is None
    assert state.cases[case_id].status == status
    extra: dict[str, object] = {}
    if action == "extend":
        deadline = state.cases[case_id].deadline or NOW
        extra["until"] = datetime.fromtimestamp(deadline + 600, UTC).isoformat()
    out = engine.apply_feedback(
        state, fb(case_id, action, center=by(action), n=99, **extra), NOW + 2
    )
    if status in ALLOWED[action]:
        assert out.reject is None, out.reject
        assert out.dispositions
    else:
        assert out.reject is not None and out.reject[0] == RejectReason.INVALID_TRANSITION
        assert status in out.reject[1]
        assert not out.dispositions


def test_feedback_for_an_unknown_case_or_from_another_centre_is_refused(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    unknown = engine.apply_feedback(state, fb(VILLAGE + "-nope", "accept"), NOW)
    assert unknown.reject is not None and unknown.reject[0] == RejectReason.UNKNOWN_CASE
    other = engine.apply_feedback(state, fb(case_id, "accept", center="500103001006"), NOW)
    assert other.reject is not None and other.reject[0] == RejectReason.WRONG_CENTER


def test_a_replayed_feedback_changes_nothing(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    engine.apply_feedback(state, fb(case_id, "accept"), NOW)
    again = engine.apply_feedback(state, fb(case_id, "accept"), NOW)
    assert again.duplicate == "feedback" and again.reject is None and not again.dispositions


def test_missed_deadlines_escalate_one_tier_at_a_time_then_breach_once(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    case = state.cases[case_id]
    seen = []
    now = NOW
    for _ in range(12):
        assert case.deadline is not None or case.breached
        due = case.next_due()
        if due is None:
            break
        before = engine.apply_tick(state, case_id, due - 0.001)
        assert not before.dispositions, "nothing happens before the due time"
        now = due
        out = engine.apply_tick(state, case_id, now)
        seen += [(d.action, d.tier, d.center_code) for d in out.dispositions]
    escalations = [s for s in seen if s[0] == "escalate"]
    assert escalations == [
        ("escalate", "town", TOWN),
        ("escalate", "county", COUNTY),
        ("escalate", "city", CITY),
    ]
    assert [s for s in seen if s[0] == "sla_breach"] == [("sla_breach", "city", CITY)]
    # 督办: the village keeps handling under each supervisor, so every 催办 warning (one per
    # deadline) and every supervision notice goes to it; under 督办 the supervisor of the
    # time is warned too.
    assert [s[1:] for s in seen if s[0] == "sla_warning"] == [
        ("village", VILLAGE),
        ("village", VILLAGE),
        ("town", TOWN),
        ("village", VILLAGE),
        ("county", COUNTY),
        ("village", VILLAGE),
        ("city", CITY),
    ]
    assert [s[1:] for s in seen if s[0] == "state"] == [("village", VILLAGE)] * 3
    assert (case.holder, case.supervisor) == (VILLAGE, CITY)
    assert engine.apply_tick(state, case_id, now + 10**6).dispositions == []


def test_an_accepted_case_escalates_when_the_resolve_deadline_passes(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    engine.apply_feedback(state, fb(case_id, "accept"), NOW)
    case = state.cases[case_id]
    assert case.stage == "resolve" and case.deadline is not None
    out = engine.apply_tick(state, case_id, case.deadline)
    # 督办: the town supervises, the village is told it keeps handling, by a new deadline.
    assert [(d.action, d.center_code, d.stage, d.holder) for d in out.dispositions] == [
        ("escalate", TOWN, "resolve", VILLAGE),
        ("state", VILLAGE, "resolve", VILLAGE),
    ]
    assert {d.supervisor for d in out.dispositions} == {TOWN}
    assert case.on_time is False


def test_escalation_requested_by_a_centre_happens_once_per_tier(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    out = engine.apply_feedback(state, fb(case_id, "escalate"), NOW)
    assert [(d.action, d.center_code) for d in out.dispositions] == [("escalate", TOWN)]
    # the timer must not escalate to the town again later
    case = state.cases[case_id]
    assert case.escalated == ["town"]


def test_return_reroutes_to_the_named_centre_or_up(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    out = engine.apply_feedback(state, fb(case_id, "return", target_center="500103001006"), NOW)
    [d] = out.dispositions
    assert (d.action, d.center_code, d.tier) == ("reroute", "500103001006", "village")
    out = engine.apply_feedback(state, fb(case_id, "return", center="500103001006", n=1), NOW)
    assert [(d.action, d.center_code) for d in out.dispositions] == [("reroute", TOWN)]


def test_extension_is_granted_within_policy_and_refused_beyond(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    engine.apply_feedback(state, fb(case_id, "accept"), NOW)
    case = state.cases[case_id]
    policy = engine.rules.policies[case.policy]
    assert case.deadline is not None
    assert policy.max_extensions >= 1
    too_long = datetime.fromtimestamp(case.deadline + 90 * 86400, UTC)
    refused = engine.apply_feedback(
        state, fb(case_id, "extend", n=1, until=too_long.isoformat()), NOW
    )
    assert refused.reject is not None and refused.reject[0] == RejectReason.EXTENSION_REFUSED
    ok = datetime.fromtimestamp(case.deadline + 60, UTC)
    granted = engine.apply_feedback(state, fb(case_id, "extend", n=2, until=ok.isoformat()), NOW)
    assert granted.reject is None and case.deadline == ok.timestamp() and case.extensions == 1


def test_state_survives_serialisation(engine: Engine) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    engine.apply_event(state, ev("e2", network="zongzhi"), NOW + 5)
    engine.apply_feedback(state, fb(case_id, "accept"), NOW + 6)
    again = RegionState.from_bytes(state.to_bytes())
    assert again.cases == state.cases
    assert again.seen_events == state.seen_events and again.seen_feedback == state.seen_feedback


# Incidents 2 km apart, each reported by up to three networks within tens of metres.
INCIDENTS = [(29.50 + 0.02 * i, 106.50 + 0.02 * i) for i in range(5)]


@settings(max_examples=30, deadline=None)
@given(
    reports=st.lists(
        st.tuples(
            st.integers(0, len(INCIDENTS) - 1), st.sampled_from(["chengguan", "zongzhi", "gongan"])
        ),
        min_size=1,
        max_size=15,
        unique=True,
    ),
    seed=st.integers(0, 10_000),
)
def test_shuffled_and_duplicated_input_gives_the_same_cases(
    engine: Engine, reports: list[tuple[int, str]], seed: int
) -> None:
    events = [
        ev(f"{i}-{net}", network=net, lat=INCIDENTS[i][0] + 0.0001, lon=INCIDENTS[i][1])
        for i, net in reports
    ]

    def grouping(order: list[GridEvent]) -> set[frozenset[str]]:
        state = RegionState(VILLAGE)
        for e in order:
            engine.apply_event(state, e, NOW)
        return {frozenset(c.events) for c in state.cases.values()}

    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    duplicated = shuffled + shuffled[: len(shuffled) // 2]
    assert grouping(events) == grouping(duplicated)
    assert grouping(events) == {
        frozenset(e.event_id for e in events if e.event_id.startswith(f"{i}-")) for i, _ in reports
    }


def test_ticks_that_jump_past_warnings_escalate_then_breach_once_and_go_quiet(
    engine: Engine,
) -> None:
    state = RegionState(VILLAGE)
    case_id = open_case(engine, state)
    case = state.cases[case_id]
    actions = []
    for _ in range(10):
        if case.deadline is None or case.next_due() is None:
            break
        late = case.deadline + 86400  # far past the warning and the deadline
        for _ in range(3):  # repeated ticks at the same time change nothing more
            actions += [d.action for d in engine.apply_tick(state, case_id, late).dispositions]
    # each escalation (督办) comes with its notice to the village, which keeps handling
    assert actions == ["escalate", "state"] * 3 + ["sla_breach"]
    assert case.next_due() is None
