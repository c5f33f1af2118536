"""The console's buttons (gridflow/api/actions.py) are the worker's rules: every (state,
action, centre) runs through the engine, and a shown button is never refused for its
state or holder, a hidden one always is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridflow.api.actions import allowed_actions, may_act
from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Feedback, FeedbackAction, GridEvent, RejectReason

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"
OTHER_VILLAGE = "500103001001"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NOW = T0.timestamp()
#: Feedback by the village holder that brings a fresh case to each state.
PATH_TO = {
    "dispatched": [],
    "accepted": ["accept"],
    "resolved": ["accept", "resolve"],
    "verified": ["accept", "resolve", "verify"],
    "closed": ["accept", "resolve", "verify", "close"],
    "cancelled": ["cancel"],
}
#: Who checks a village's case of each category: the town above it by default; the
#: county for 宣传广告 (SJ02, ``verifiers:`` in catalogue.yaml).
CHECKER = {"SJ0102": TOWN, "SJ0202": COUNTY}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def fb(case_id: str, action: str, center: str, n: int, **kw: object) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"{case_id}-{action}-{center}-{n}",
            "case_id": case_id,
            "center_code": center,
            "action": action,
            "at": T0.isoformat(),
            **kw,
        }
    )


@pytest.mark.parametrize("category", sorted(CHECKER))
@pytest.mark.parametrize("centre", [VILLAGE, TOWN, COUNTY, OTHER_VILLAGE])
@pytest.mark.parametrize("status", sorted(PATH_TO))
def test_the_buttons_shown_are_exactly_what_the_worker_accepts(
    engine: Engine, status: str, centre: str, category: str
) -> None:
    verifier = None
    shown: list[str] = []
    for action in FeedbackAction:
        state = RegionState(VILLAGE)
        event = GridEvent.model_validate(
            {
                "event_id": "e1",
                "source_network": "chengguan",
                "reported_at": T0.isoformat(),
                "region_code": VILLAGE,
                "title": "菜市场旁垃圾堆积无人清运",
                "category": category,
            }
        )
        [opened] = engine.apply_event(state, event, NOW).dispositions
        case_id = opened.case_id
        # The read model knows the verifier from the dispositions, as the API does.
        verifier = opened.verifier
        assert verifier == CHECKER[category]
        for n, step in enumerate(PATH_TO[status]):
            by = CHECKER[category] if step in ("verify", "close") else VILLAGE
            assert engine.apply_feedback(state, fb(case_id, step, by, n), NOW + 1).reject is None
        shown = allowed_actions(engine.regions, status, VILLAGE, "village", centre, verifier)
        extra: dict[str, object] = {}
        if action == FeedbackAction.EXTEND:
            deadline = state.cases[case_id].deadline or NOW
            extra["until"] = datetime.fromtimestamp(deadline + 600, UTC).isoformat()
        if action == FeedbackAction.REVISIT:
            extra["satisfaction"] = "satisfied"
        out = engine.apply_feedback(state, fb(case_id, action, centre, 99, **extra), NOW + 2)
        refused = out.reject is not None and out.reject[0] in (
            RejectReason.INVALID_TRANSITION,
            RejectReason.WRONG_CENTER,
        )
        assert (action.value in shown) == (not refused), (status, centre, action, out.reject)
        # The API's pre-check never refuses what the worker would accept.
        if not refused:
            assert may_act(engine.regions, VILLAGE, centre, action.value, verifier)
