"""The standard's KPIs (超期率, 按时受理率, 及时核查率, 有效上报率, 准确派遣率, 群众满意度)
per county, per department and per centre: what each step counts, where it is charged,
each formula from a scripted sequence of facts, and the engine's facts that feed them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.facts import StepFact, StepKind
from gridflow.core.kpi import KpiWindows, charges, rates
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Feedback, GridEvent, MergeMetrics

VILLAGE = "500103001003"
OTHER_VILLAGE = "500103001006"
TOWN = "500103001000"
COUNTY = "500103000000"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Chongqing, a working Wednesday
E0 = T0.timestamp()
DEPT = "城管局"


def fact(kind: str, t: float = 1.0, *, case: str = "c1", **kw: Any) -> StepFact:
    """A step ``t`` seconds after T0 held by the village centre, shaped like the engine's."""
    kw.setdefault("centre", VILLAGE)
    kw.setdefault("department", DEPT)
    return StepFact(StepKind(kind), f"{VILLAGE}-{case}", VILLAGE, "village", E0 + t, **kw)


# --------------------------------------------------- what each step counts, and where
@dataclass(frozen=True)
class Charged:
    name: str
    fact: StepFact
    #: count -> the centre it is charged to
    expected: dict[str, str]


CHARGED = [
    Charged(
        "立案: a report in, a case opened, a dispatch to the holder",
        fact("opened", network="zongzhi"),
        {"events_in": VILLAGE, "cases_opened": VILLAGE, "dispatches": VILLAGE},
    ),
    Charged(
        "a merged report is a report in and a merge, no dispatch",
        fact("merged", network="gongan"),
        {"events_in": VILLAGE, "merges": VILLAGE},
    ),
    Charged(
        "受理 within the accept deadline: 按时受理, and a deadline met",
        fact("accepted", actor=VILLAGE, deadline_met=True),
        {"accepted": VILLAGE, "accepted_on_time": VILLAGE, "deadlines": VILLAGE},
    ),
    Charged(
        "受理 after the deadline, no timer caught it: late, and the deadline missed here",
        fact("accepted", actor=VILLAGE, deadline_met=False, overdue=True),
        {"accepted": VILLAGE, "deadlines": VILLAGE, "overdue": VILLAGE},
    ),
    Charged(
        "受理 after a breach already counted the deadline: late, nothing else",
        fact("accepted", actor=VILLAGE, deadline_met=False),
        {"accepted": VILLAGE},
    ),
    Charged(
        "处置 in time: only a deadline met",
        fact("resolved", actor=VILLAGE, deadline_met=True),
        {"deadlines": VILLAGE},
    ),
    Charged(
        "核查 by the town (监管分离) in time: charged to the town, not the holder",
        fact("verified", actor=TOWN, deadline_met=True),
        {"verifications": TOWN, "verified_on_time": TOWN, "deadlines": TOWN},
    ),
    Charged(
        "an untimed 核查 is in time and ends no deadline",
        fact("verified", actor=TOWN),
        {"verifications": TOWN, "verified_on_time": TOWN},
    ),
    Charged(
        "返工: a rework of the holder's, a verification of the town's",
        fact("reworked", actor=TOWN, deadline_met=False, overdue=True),
        {"reworks": VILLAGE, "verifications": TOWN, "deadlines": TOWN, "overdue": TOWN},
    ),
    Charged(
        "结案 on time counts for the holder whose case it is",
        fact("closed", actor=TOWN, on_time=True),
        {"cases_closed": VILLAGE, "closed_on_time": VILLAGE},
    ),
    Charged(
        "延期",
        fact("extended", actor=VILLAGE),
        {"extensions": VILLAGE},
    ),
    Charged(
        "a timer's escalation: the escalation and the missed deadline are the lower centre's, "
        "the dispatch the upper centre's",
        fact("escalated", centre=TOWN, previous_centre=VILLAGE, stage="accept", overdue=True),
        {"escalations": VILLAGE, "dispatches": TOWN, "deadlines": VILLAGE, "overdue": VILLAGE},
    ),
    Charged(
        "asked up (请求上级协调): no deadline missed",
        fact("escalated", centre=TOWN, previous_centre=VILLAGE, actor=VILLAGE),
        {"escalations": VILLAGE, "dispatches": TOWN},
    ),
    Charged(
        "退回: a return of the centre that returned it, a dispatch to the new holder",
        fact("returned", centre=OTHER_VILLAGE, previous_centre=VILLAGE, actor=VILLAGE),
        {"returns": VILLAGE, "dispatches": OTHER_VILLAGE},
    ),
    Charged(
        "a breach at the top tier: a deadline missed by the holder",
        fact("breached", stage="resolve", overdue=True),
        {"deadlines": VILLAGE, "overdue": VILLAGE},
    ),
    Charged(
        "回访 满意: rates the holder's work",
        fact("revisited", actor=TOWN, satisfaction="satisfied"),
        {"revisits": VILLAGE, "satisfied": VILLAGE},
    ),
    Charged(
        "回访 不满意",
        fact("revisited", actor=TOWN, satisfaction="unsatisfied"),
        {"revisits": VILLAGE, "unsatisfied": VILLAGE},
    ),
    Charged("informed counts nothing", fact("informed"), {}),
    Charged("a warning counts nothing", fact("warned", stage="accept"), {}),
    Charged("注销 counts nothing", fact("cancelled", actor=VILLAGE), {}),
    Charged("a reopen counts nothing", fact("reopened", actor=TOWN), {}),
]


@pytest.mark.parametrize("case", CHARGED, ids=[c.name for c in CHARGED])
def test_each_step_counts_and_is_charged_as_the_table_says(case: Charged) -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe(case.fact, COUNTY)
    got = windows.drain()
    if not case.expected:
        assert got == []
        return
    [m] = got
    by_centre = {name: centre for centre, counts in m.by_centre.items() for name in counts}
    assert by_centre == case.expected
    assert {name for name, _ in charges(case.fact)} == set(case.expected)
    # The county and the department get every count once.
    county = {k: v for k, v in m.model_dump().items() if k in case.expected}
    assert county == dict.fromkeys(case.expected, 1)
    assert m.by_department == {DEPT: dict.fromkeys(case.expected, 1)}


# ------------------------------------------------------- the formulas, from facts
@dataclass(frozen=True)
class Formula:
    name: str
    facts: list[StepFact]
    expected: dict[str, float]


FORMULAS = [
    Formula(
        "超期率 = overdue / deadlines: 2 met, 1 missed by a timer, 1 late step",
        [
            fact("accepted", case="a", actor=VILLAGE, deadline_met=True),
            fact("resolved", case="b", actor=VILLAGE, deadline_met=True),
            fact("escalated", case="c", centre=TOWN, previous_centre=VILLAGE, overdue=True),
            fact("resolved", case="d", actor=VILLAGE, deadline_met=False, overdue=True),
        ],
        {"overdue_rate": 0.5},
    ),
    Formula(
        "按时受理率 = accepted_on_time / accepted",
        [
            fact("accepted", case="a", actor=VILLAGE, deadline_met=True),
            fact("accepted", case="b", actor=VILLAGE, deadline_met=True),
            fact("accepted", case="c", actor=VILLAGE, deadline_met=True),
            fact("accepted", case="d", actor=VILLAGE, deadline_met=False, overdue=True),
        ],
        {"on_time_accept_rate": 0.75, "overdue_rate": 0.25},
    ),
    Formula(
        "及时核查率 = verified_on_time / verifications (核查通过 and 返工 alike)",
        [
            fact("verified", case="a", actor=TOWN, deadline_met=True),
            fact("reworked", case="b", actor=TOWN, deadline_met=False, overdue=True),
        ],
        {"timely_verify_rate": 0.5, "rework_rate": 0.0},
    ),
    Formula(
        "有效上报率 = cases_opened / events_in: duplicates are not 有效上报",
        [
            fact("opened", case="a", network="zongzhi"),
            fact("merged", case="a", network="gongan", first_network="zongzhi"),
            fact("merged", case="a", network="chengguan", first_network="zongzhi"),
            fact("opened", case="b", network="zongzhi"),
        ],
        {"valid_report_rate": 0.5, "merge_ratio": 0.5},
    ),
    Formula(
        "准确派遣率 = (dispatches - returns) / dispatches: a return is also a new dispatch",
        [
            fact("opened", case="a"),
            fact("opened", case="b"),
            fact("opened", case="c"),
            fact("returned", case="c", centre=OTHER_VILLAGE, previous_centre=VILLAGE),
        ],
        {"accurate_dispatch_rate": 0.75},
    ),
    Formula(
        "群众满意度 = (满意 + 基本满意) / 回访",
        [
            fact("revisited", case="a", satisfaction="satisfied"),
            fact("revisited", case="b", satisfaction="basically_satisfied"),
            fact("revisited", case="c", satisfaction="unsatisfied"),
            fact("revisited", case="d", satisfaction="satisfied"),
        ],
        {"satisfaction_rate": 0.75},
    ),
    Formula(
        "no denominator: 0.0 for every new rate",
        [fact("extended")],
        {
            "overdue_rate": 0.0,
            "on_time_accept_rate": 0.0,
            "timely_verify_rate": 0.0,
            "valid_report_rate": 0.0,
            "accurate_dispatch_rate": 0.0,
            "satisfaction_rate": 0.0,
        },
    ),
]


@pytest.mark.parametrize("case", FORMULAS, ids=[f.name for f in FORMULAS])
def test_each_formula_from_a_scripted_sequence(case: Formula) -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe_batch((f, COUNTY) for f in case.facts)
    [m] = windows.drain()
    got = m.model_dump()
    assert {k: got[k] for k in case.expected} == pytest.approx(case.expected)
    # A department's and a centre's figures use the same formulas on their counts.
    assert {k: v for k, v in rates(m.by_department[DEPT]).items() if k in case.expected} == (
        pytest.approx(case.expected)
    )


def test_a_centre_returning_more_than_it_was_sent_in_a_window_is_at_zero_not_below() -> None:
    assert rates({"dispatches": 1, "returns": 3})["accurate_dispatch_rate"] == 0.0


def test_departments_and_centres_are_separate_entries_that_sum_to_the_county() -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe_batch(
        [
            (fact("opened", case="a", department="城管局"), COUNTY),
            (fact("opened", case="b", department="水务局", centre=OTHER_VILLAGE), COUNTY),
            (fact("opened", case="c", department="水务局", centre=OTHER_VILLAGE), COUNTY),
            (fact("opened", case="d", department=None, centre=None), COUNTY),
        ]
    )
    [m] = windows.drain()
    assert {d: c["cases_opened"] for d, c in m.by_department.items()} == {
        "城管局": 1,
        "水务局": 2,
        "unknown": 1,
    }
    assert {c: n["cases_opened"] for c, n in m.by_centre.items()} == {
        VILLAGE: 1,
        OTHER_VILLAGE: 2,
        "unknown": 1,
    }
    assert m.cases_opened == 4


def test_an_old_record_without_the_new_fields_still_reads() -> None:
    old = {
        "region_code": COUNTY,
        "window_start": T0.isoformat(),
        "window_end": T0.isoformat(),
        "window": "1m",
        "cases_opened": 2,
    }
    m = MergeMetrics.model_validate(old)
    assert (m.dispatches, m.satisfaction_rate, m.by_centre) == (0, 0.0, {})


# ------------------------------------------- the engine's facts feed the formulas
@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def _event(event_id: str, region: str = VILLAGE) -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": event_id,
            "source_network": "chengguan",
            "reported_at": T0.isoformat(),
            "region_code": region,
            "location": {"lat": 29.556, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def _fb(case_id: str, n: int, action: str, centre: str, **extra: Any) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"{case_id}-{n}",
            "case_id": case_id,
            "center_code": centre,
            "action": action,
            "at": T0.isoformat(),
            **extra,
        }
    )


class Story:
    """One case through the engine, every fact kept."""

    def __init__(self, engine: Engine, event_id: str) -> None:
        self.engine = engine
        self.state = RegionState(VILLAGE)
        out = engine.apply_event(self.state, _event(event_id), E0)
        self.case = out.dispositions[0].case_id
        self.facts = list(out.facts)
        self.n = 0

    def fb(self, at: float, action: str, centre: str, **extra: Any) -> None:
        self.n += 1
        out = self.engine.apply_feedback(
            self.state, _fb(self.case, self.n, action, centre, **extra), E0 + at
        )
        assert out.reject is None, out.reject
        self.facts += out.facts

    def tick(self, at: float) -> None:
        self.facts += self.engine.apply_tick(self.state, self.case, E0 + at).facts

    def deadline(self) -> float:
        deadline = self.state.cases[self.case].deadline
        assert deadline is not None
        return deadline - E0

    def metrics(self) -> MergeMetrics:
        windows = KpiWindows(windows=(("all", 100 * 365 * 86400),))
        windows.observe_batch((f, COUNTY) for f in self.facts)
        [m] = windows.drain()
        return m


def test_a_case_done_in_time_and_revisited_satisfied(engine: Engine) -> None:
    s = Story(engine, "ok-1")
    s.fb(60, "accept", VILLAGE)
    s.fb(120, "resolve", VILLAGE)
    s.fb(180, "verify", TOWN)
    s.fb(240, "close", TOWN)
    s.fb(300, "revisit", TOWN, satisfaction="satisfied")
    m = s.metrics()
    assert (m.accepted, m.accepted_on_time, m.verifications, m.verified_on_time) == (1, 1, 1, 1)
    assert (m.deadlines, m.overdue, m.revisits, m.satisfied) == (3, 0, 1, 1)
    assert (m.on_time_accept_rate, m.timely_verify_rate, m.satisfaction_rate) == (1, 1, 1)
    assert (m.dispatches, m.returns, m.accurate_dispatch_rate) == (1, 0, 1.0)
    assert m.by_centre[TOWN] == {"verifications": 1, "verified_on_time": 1, "deadlines": 1}
    assert m.by_centre[VILLAGE]["satisfied"] == 1
    assert set(m.by_department) == {DEPT}


def test_a_missed_accept_deadline_is_overdue_once_for_the_village(engine: Engine) -> None:
    s = Story(engine, "late-1")
    missed = s.deadline() + 1
    s.tick(missed)  # the timer escalates to the town: 超期 of the village
    s.fb(missed + 60, "accept", TOWN)  # the town accepts within its 督办 time
    m = s.metrics()
    assert (m.overdue, m.deadlines, m.escalations, m.dispatches) == (1, 2, 1, 2)
    assert m.by_centre[VILLAGE] == {
        "events_in": 1,
        "cases_opened": 1,
        "dispatches": 1,
        "escalations": 1,
        "deadlines": 1,
        "overdue": 1,
    }
    assert m.by_centre[TOWN] == {
        "dispatches": 1,
        "accepted": 1,
        "accepted_on_time": 1,
        "deadlines": 1,
    }
    assert m.overdue_rate == 0.5


def test_a_late_accept_before_the_timer_counts_the_miss_at_the_accept(engine: Engine) -> None:
    s = Story(engine, "late-2")
    s.fb(s.deadline() + 1, "accept", VILLAGE)  # no tick ran in between
    m = s.metrics()
    assert (m.accepted, m.accepted_on_time, m.deadlines, m.overdue) == (1, 0, 1, 1)


def test_a_return_and_an_unsatisfied_revisit(engine: Engine) -> None:
    s = Story(engine, "ret-1")
    s.fb(30, "return", VILLAGE, target_center=OTHER_VILLAGE)
    s.fb(60, "accept", OTHER_VILLAGE)
    s.fb(90, "resolve", OTHER_VILLAGE)
    s.fb(120, "verify", TOWN)
    s.fb(150, "revisit", TOWN, satisfaction="unsatisfied")
    m = s.metrics()
    assert (m.dispatches, m.returns, m.accurate_dispatch_rate) == (2, 1, 0.5)
    assert m.by_centre[VILLAGE]["returns"] == 1
    assert m.by_centre[OTHER_VILLAGE]["dispatches"] == 1
    assert (m.revisits, m.unsatisfied, m.satisfaction_rate) == (1, 1, 0.0)
    assert m.by_centre[OTHER_VILLAGE]["unsatisfied"] == 1
