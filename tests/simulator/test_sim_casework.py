"""Simulated command centres: how they answer the cases handed to them (no broker)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from gridflow.simulator.casework import Behaviour, Casework, feedback_id
from schemas import Disposition, Feedback

CST_AT = datetime.fromisoformat("2024-05-06T09:30:00+08:00")
VILLAGE = "500103001003"
TOWN = "500103001000"
CITY = "500000000000"

#: Every centre accepts, resolves, and passes verification; no detours.
DILIGENT = Behaviour(
    accept_p=1.0, resolve_p=1.0, ignore_p=0.0, return_p=0.0, extend_p=0.0, rework_p=0.0,
    delay_s=(1.0, 2.0),
)  # fmt: skip


def disposition(
    case: str = f"{VILLAGE}-abc", action: str = "dispatch", center: str = VILLAGE, **extra: Any
) -> Disposition:
    doc: dict[str, Any] = {
        "disposition_id": f"{case}/{action}/{center}/{extra.pop('n', 0)}",
        "case_id": case,
        "action": action,
        "tier": {VILLAGE: "village", TOWN: "town", CITY: "city"}.get(center, "village"),
        "center_code": center,
        "at": CST_AT.isoformat(),
        "region_code": VILLAGE,
        "stage": "accept",
        "deadline": (CST_AT + timedelta(hours=4)).isoformat(),
        **extra,
    }
    return Disposition.model_validate(doc)


def run(work: Casework, until: float = 100.0) -> list[tuple[bytes, Feedback]]:
    """Everything the centres send up to ``until`` seconds, stepping the clock."""
    out: list[tuple[bytes, Feedback]] = []
    now = 0.0
    while now <= until:
        out += [(key, Feedback.model_validate_json(value)) for key, value in work.due(now)]
        now += 0.25
    return out


def actions(sent: list[tuple[bytes, Feedback]]) -> list[str]:
    return [fb.action.value for _, fb in sent]


def test_a_diligent_centre_runs_the_closed_loop_on_a_dispatched_case() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(), 0.0)
    sent = run(work)
    assert actions(sent) == ["accept", "resolve", "verify", "close"]
    for key, fb in sent:
        assert key == VILLAGE.encode(), "feedback is keyed by the case's region"
        assert fb.center_code == VILLAGE, "the centre holding the case answers"
        assert fb.case_id == f"{VILLAGE}-abc"
        assert fb.at.utcoffset() == timedelta(hours=8)
    assert len({fb.feedback_id for _, fb in sent}) == 4
    assert work.stats.fates == {"resolve": 1}
    assert len(work) == 0, "a closed case is forgotten"


def test_steps_are_spaced_by_the_configured_delays() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(), 0.0)
    times = []
    now = 0.0
    while now < 20:
        times += [now] * len(work.due(now))
        now += 0.25
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] >= 1.0 and all(0.75 <= g <= 2.25 for g in gaps)


def test_feedback_ids_are_deterministic() -> None:
    first, second = (Casework(5, DILIGENT, clock=lambda: CST_AT) for _ in range(2))
    for work in (first, second):
        work.on_disposition(disposition(), 0.0)
    assert run(first) == run(second)
    assert feedback_id("c", VILLAGE, "accept", 1) != feedback_id("c", VILLAGE, "accept", 2)


def test_a_case_behaves_the_same_whatever_order_cases_arrive_in() -> None:
    behaviour = Behaviour(delay_s=(0.0, 0.0))
    cases = [f"{VILLAGE}-{i:03d}" for i in range(40)]
    by_order = []
    for order in (cases, cases[::-1]):
        work = Casework(9, behaviour)
        for case in order:
            work.on_disposition(disposition(case), 0.0)
        sent = run(work, until=10)
        by_order.append(sorted((fb.case_id, fb.action.value, fb.feedback_id) for _, fb in sent))
    assert by_order[0] == by_order[1]


def test_an_ignoring_centre_sends_nothing() -> None:
    work = Casework(1, Behaviour(ignore_p=1.0, return_p=0.0))
    work.on_disposition(disposition(), 0.0)
    assert run(work) == []
    assert work.stats.fates == {"ignore": 1}


def test_a_centre_may_return_a_case_that_is_not_its_own() -> None:
    work = Casework(1, Behaviour(ignore_p=0.0, return_p=1.0))
    work.on_disposition(disposition(), 0.0)
    assert actions(run(work)) == ["return"]


def test_a_centre_that_does_not_accept_asks_the_tier_above_but_the_city_always_accepts() -> None:
    reluctant = Behaviour(accept_p=0.0, ignore_p=0.0, return_p=0.0, resolve_p=0.0)
    work = Casework(1, reluctant)
    work.on_disposition(disposition(), 0.0)
    assert actions(run(work)) == ["escalate"]
    work = Casework(1, reluctant)
    work.on_disposition(disposition(center=CITY), 0.0)
    assert actions(run(work)) == ["accept"]


def test_failed_verification_means_rework_and_a_second_resolution() -> None:
    work = Casework(1, replace(DILIGENT, rework_p=1.0))
    work.on_disposition(disposition(), 0.0)
    sent = run(work)
    assert actions(sent) == ["accept", "resolve", "reject_resolution", "resolve", "verify", "close"]
    assert len({fb.feedback_id for _, fb in sent}) == 6


def test_an_extension_asks_for_a_later_resolve_deadline_once_it_is_known() -> None:
    behaviour = replace(DILIGENT, resolve_p=0.0, extend_p=1.0, delay_s=(1.0, 1.0))
    work = Casework(1, behaviour)
    work.on_disposition(disposition(), 0.0)
    assert actions(run(work, until=1.0)) == ["accept"]
    deadline = CST_AT + timedelta(hours=8)
    accepted = disposition(
        action="state", state="accepted", stage="resolve", deadline=deadline.isoformat(), n=1,
        at=(CST_AT + timedelta(minutes=1)).isoformat(),
    )  # fmt: skip
    work.on_disposition(accepted, 1.5)
    sent = [Feedback.model_validate_json(v) for _, v in work.due(10.0)]
    assert [fb.action.value for fb in sent] == ["extend"]
    assert sent[0].until is not None and sent[0].until > deadline


def test_a_repeated_disposition_is_dropped() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(), 0.0)
    work.on_disposition(disposition(), 0.5)
    assert actions(run(work)) == ["accept", "resolve", "verify", "close"]
    assert work.stats.duplicates == 1


def test_an_escalated_case_is_worked_by_the_new_holder_only() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(), 0.0)
    first = [Feedback.model_validate_json(v) for _, v in work.due(2.5)]
    work.on_disposition(disposition(action="escalate", center=TOWN), 2.5)
    rest = [fb for _, fb in run(work)]
    assert {fb.center_code for fb in first} <= {VILLAGE}
    assert [fb.action.value for fb in rest] == ["accept", "resolve", "verify", "close"]
    assert {fb.center_code for fb in rest} == {TOWN}


def test_a_case_closed_elsewhere_is_forgotten() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(), 0.0)
    work.on_disposition(disposition(action="state", state="closed", n=1), 0.1)
    assert run(work) == []
    assert len(work) == 0


def test_state_is_bounded() -> None:
    work = Casework(1, Behaviour(delay_s=(50.0, 60.0)), max_cases=10)
    for i in range(100):
        work.on_disposition(disposition(f"{VILLAGE}-{i:03d}"), 0.0)
    assert len(work) == 10


def test_every_message_sent_is_contract_feedback_and_is_logged() -> None:
    work = Casework(3, Behaviour(delay_s=(0.0, 0.5)))
    for i in range(200):
        work.on_disposition(disposition(f"{VILLAGE}-{i:03d}"), 0.0)
    sent = run(work, until=20)
    assert len(sent) == work.stats.sent == len(work.stats.log)
    for (_, fb), logged in zip(sent, work.stats.log, strict=True):
        assert (fb.feedback_id, fb.action.value) == (logged.feedback_id, logged.action)
        orjson.dumps(fb.model_dump(mode="json"))
    fates = work.stats.fates
    assert fates["resolve"] > 100 and sum(fates.values()) == 200


def test_impossible_behaviour_is_refused() -> None:
    with pytest.raises(ValueError):
        Behaviour(ignore_p=0.8, return_p=0.5)
    with pytest.raises(ValueError):
        Behaviour(delay_s=(2.0, 1.0))


def test_a_case_escalated_after_acceptance_is_not_accepted_again() -> None:
    work = Casework(1, DILIGENT)
    work.on_disposition(disposition(action="escalate", center=TOWN, state="accepted"), 0.0)
    assert actions(run(work)) == ["resolve", "verify", "close"]


# ------------------------------------------------------------------ 回访 (revisit)
def closed_case(work: Casework, case: str, networks: list[str]) -> list[tuple[bytes, Feedback]]:
    """A case dispatched and run to 结案; the worker's close disposition fed back."""
    work.on_disposition(disposition(case, networks=networks), 0.0)
    sent = run(work, until=30.0)
    work.on_disposition(
        disposition(case, action="state", n=9, state="closed", networks=networks), 30.0
    )
    return sent + [(k, Feedback.model_validate_json(v)) for k, v in work.due(1000.0)]


def test_a_12345_case_is_revisited_after_closing_by_the_supervising_centre() -> None:
    work = Casework(1, DILIGENT, supervisor_of=lambda centre: TOWN)
    sent = closed_case(work, f"{VILLAGE}-hot", ["12345"])
    assert actions(sent) == ["accept", "resolve", "verify", "close", "revisit"]
    revisit = sent[-1][1]
    assert revisit.center_code == TOWN, "监管分离: the reporter is called back from above"
    assert revisit.satisfaction is not None
    assert sum(work.stats.revisits.values()) == 1
    assert len(work) == 0, "forgotten once the revisit went out"


def test_other_cases_are_revisited_only_with_revisit_p() -> None:
    never = Casework(1, DILIGENT)
    assert "revisit" not in actions(closed_case(never, f"{VILLAGE}-a", ["chengguan"]))
    always = Casework(1, replace(DILIGENT, revisit_p=1.0))
    assert actions(closed_case(always, f"{VILLAGE}-a", ["chengguan"]))[-1] == "revisit"


def test_revisit_answers_come_in_the_documented_shares_and_leave_the_plan_as_it_was() -> None:
    from gridflow.simulator.casework import SATISFACTION

    n = 1500
    work = Casework(3, replace(DILIGENT, revisit_p=1.0))
    plain = Casework(3, DILIGENT)
    for i in range(n):
        case = f"{VILLAGE}-r{i}"
        with_revisit = closed_case(work, case, ["zongzhi"])
        without = closed_case(plain, case, ["zongzhi"])
        # The revisit has its own generator: the steps before it are unchanged.
        assert actions(with_revisit[:-1]) == actions(without)
    shares = {answer: work.stats.revisits[answer] / n for answer, _ in SATISFACTION}
    for answer, share in SATISFACTION:
        assert abs(shares[answer] - share) < 0.04, shares
