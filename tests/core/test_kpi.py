"""Windowed KPIs: what each step counts, the rates, and how windows open and flush."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.facts import StepFact, StepKind
from gridflow.core.kpi import KpiWindows
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.reference import load_engine
from gridflow.runtime.kpi_publisher import KpiPublisher
from gridflow.topics import METRICS
from schemas import Feedback, GridEvent, MergeMetrics

VILLAGE = "500103001003"
TOWN = "500103001000"
COUNTY = "500103000000"
OTHER_COUNTY = "500104000000"
#: A minute boundary (and an hour boundary): windows start here.
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
E0 = T0.timestamp()
CASE = f"{VILLAGE}-c1"


def fact(
    kind: str, t: float = 1.0, *, case: str = CASE, region: str = VILLAGE, **kw: Any
) -> StepFact:
    """A step ``t`` seconds after T0, shaped like the engine's."""
    return StepFact(StepKind(kind), case, region, "village", E0 + t, **kw)


def dispatch(t: float = 1.0, case: str = CASE, network: str = "chengguan") -> StepFact:
    return fact("opened", t, case=case, network=network)


def merge(network: str, t: float = 2.0, first: str = "chengguan") -> StepFact:
    return fact("merged", t, network=network, first_network=first)


def closed(t: float, case: str = CASE, on_time: bool = True) -> StepFact:
    return fact("closed", t, case=case, on_time=on_time, lateness_s=0.0 if on_time else 60.0)


def one_minute(windows: KpiWindows, county: str = COUNTY) -> MergeMetrics:
    """The single 1m record of ``county`` flushed once everything has ended."""
    found = [
        m for m in windows.flush(E0 + 10 * 3600) if m.window == "1m" and m.region_code == county
    ]
    assert len(found) == 1, found
    return found[0]


def run(facts: list[StepFact], **kw: Any) -> KpiWindows:
    windows = KpiWindows(**kw)
    for f in facts:
        windows.observe(f, COUNTY)
    return windows


# ------------------------------------------------------------------ what counts
@dataclass(frozen=True)
class Counting:
    name: str
    facts: list[StepFact]
    expected: dict[str, Any]


COUNTING = [
    Counting(
        "an opened case is one report in and one case opened",
        [dispatch()],
        {"events_in": 1, "cases_opened": 1, "merges": 0, "reports_by_network": {"chengguan": 1}},
    ),
    Counting(
        "a merge from another network is a report in, a merge, and a cross-network merge",
        [dispatch(), merge("gongan")],
        {
            "events_in": 2,
            "cases_opened": 1,
            "merges": 1,
            "merged_by_network": {"gongan": 1},
            "merged_by_pair": {"chengguan>gongan": 1},
            "reports_by_network": {"chengguan": 1, "gongan": 1},
        },
    ),
    Counting(
        "a merge from the same network is a pair a>a but no cross-network merge",
        [dispatch(), merge("chengguan")],
        {"merges": 1, "merged_by_network": {}, "merged_by_pair": {"chengguan>chengguan": 1}},
    ),
    Counting(
        "a merge whose fact names no network is attributed to 'unknown'",
        [fact("merged", first_network="chengguan")],
        {"merges": 1, "merged_by_network": {"unknown": 1}, "reports_by_network": {"unknown": 1}},
    ),
    Counting(
        "a close the engine judged on time is on time",
        [dispatch(), closed(55)],
        {"cases_closed": 1, "closed_on_time": 1},
    ),
    Counting(
        "a close the engine judged late is late, whoever saw the case before",
        [closed(55, on_time=False)],
        {"cases_closed": 1, "closed_on_time": 0, "cases_opened": 0},
    ),
    Counting(
        "reworks, extensions and escalations count",
        [fact("reworked"), fact("extended"), fact("escalated", stage="resolve")],
        {"reworks": 1, "extensions": 1, "escalations": 1},
    ),
    Counting(
        "informs, warnings, reopens and cancellations count towards nothing; the other "
        "loop steps count only their own figures (test_kpi_standard.py)",
        [
            dispatch(),
            fact("informed"),
            fact("accepted"),
            fact("resolved"),
            fact("verified"),
            fact("warned", stage="accept"),
            fact("breached", stage="resolve"),
            fact("returned"),
            fact("reopened"),
            fact("cancelled"),
        ],
        {
            "events_in": 1,
            "cases_opened": 1,
            "cases_closed": 0,
            "reworks": 0,
            "extensions": 0,
            "escalations": 0,
            "merges": 0,
        },
    ),
    Counting(
        "silenced and inhibited reports are counted, not lost: in events_in and apart",
        [
            fact("silenced", network="12345"),
            fact("silenced", network="chengguan"),
            dispatch(),
            fact("inhibited", network="chengguan"),
        ],
        {
            "events_in": 4,
            "cases_opened": 1,
            "merges": 0,
            "silenced": 2,
            "inhibited": 1,
            "reports_by_network": {"12345": 1, "chengguan": 3},
        },
    ),
]


@pytest.mark.parametrize("case", COUNTING, ids=[c.name for c in COUNTING])
def test_what_each_step_counts(case: Counting) -> None:
    got = one_minute(run(case.facts)).model_dump()
    assert {k: got[k] for k in case.expected} == case.expected


def test_windows_with_nothing_counted_are_never_opened_or_emitted() -> None:
    windows = run([fact("warned", stage="accept"), fact("informed")])
    assert len(windows) == 0
    assert windows.flush(E0 + 10 * 3600) == []


# ------------------------------------------------------------------------ rates
def _counts(
    opened: int,
    closed_: int,
    on_time: int,
    merges: int,
    reworks: int,
    extensions: int,
    escalations: int,
) -> list[StepFact]:
    out: list[StepFact] = []
    out += [dispatch(case=f"{VILLAGE}-o{i}") for i in range(opened)]
    out += [merge("gongan") for _ in range(merges)]
    out += [closed(11, case=f"{VILLAGE}-k{i}", on_time=i < on_time) for i in range(closed_)]
    out += [fact("reworked", 3, case=f"{VILLAGE}-w{i}") for i in range(reworks)]
    out += [fact("extended", 3, case=f"{VILLAGE}-x{i}") for i in range(extensions)]
    out += [fact("escalated", 3, case=f"{VILLAGE}-e{i}") for i in range(escalations)]
    return out


RATES = [
    # (name, counts, expected rates)
    (
        "every rate from its counts",
        dict(opened=4, closed_=2, on_time=1, merges=1, reworks=1, extensions=1, escalations=1),
        dict(
            close_rate=0.5,
            on_time_close_rate=0.5,
            rework_rate=0.5,
            extension_rate=0.5,
            escalation_rate=0.25,
            merge_ratio=0.2,
        ),
    ),
    (
        "no denominator gives 0.0, not an error",
        dict(opened=0, closed_=0, on_time=0, merges=0, reworks=1, extensions=1, escalations=1),
        dict(
            close_rate=0.0,
            on_time_close_rate=0.0,
            rework_rate=0.0,
            extension_rate=0.0,
            escalation_rate=0.0,
            merge_ratio=0.0,
        ),
    ),
    (
        "closing more than was opened in the window: a flow ratio above 1",
        dict(opened=1, closed_=3, on_time=3, merges=0, reworks=0, extensions=0, escalations=0),
        dict(
            close_rate=3.0,
            on_time_close_rate=1.0,
            rework_rate=0.0,
            extension_rate=0.0,
            escalation_rate=0.0,
            merge_ratio=0.0,
        ),
    ),
]


@pytest.mark.parametrize(("name", "counts", "rates"), RATES, ids=[r[0] for r in RATES])
def test_rates(name: str, counts: dict[str, int], rates: dict[str, float]) -> None:
    got = one_minute(run(_counts(**counts))).model_dump()
    assert {k: got[k] for k in rates} == pytest.approx(rates)


# ---------------------------------------------------------------------- windows
WINDOWING = [
    # (name, offsets of dispatches after T0, flush at T0 + s, expected (window, start offset, events_in))
    ("nothing has ended yet", [1, 30], 59, []),
    ("a minute is held back for the grace period", [1, 30], 61.9, []),
    ("a minute ends, plus grace", [1, 30], 62, [("1m", 0, 2)]),
    (
        "each minute is its own window",
        [1, 61, 62, 125],
        182,
        [("1m", 0, 1), ("1m", 60, 2), ("1m", 120, 1)],
    ),
    (
        "the window holds [start, end): a disposition at the end opens the next",
        [0, 60],
        122,
        [("1m", 0, 1), ("1m", 60, 1)],
    ),
    (
        "an hour ends: its minutes first, then the hour",
        [1, 3599],
        3602,
        [("1m", 0, 1), ("1m", 3540, 1), ("1h", 0, 2)],
    ),
]


@pytest.mark.parametrize(
    ("name", "offsets", "flush_at", "expected"), WINDOWING, ids=[w[0] for w in WINDOWING]
)
def test_tumbling_windows_flush_once_ended(
    name: str, offsets: list[float], flush_at: float, expected: list[tuple[str, int, int]]
) -> None:
    windows = run([dispatch(t, case=f"{VILLAGE}-{i}") for i, t in enumerate(offsets)])
    got = windows.flush(E0 + flush_at)
    assert [(m.window, int(m.window_start.timestamp() - E0), m.events_in) for m in got] == expected
    for m in got:
        size = 60 if m.window == "1m" else 3600
        assert m.window_end - m.window_start == timedelta(seconds=size)
        assert m.region_code == COUNTY
    assert windows.flush(E0 + flush_at) == []  # flushed windows are forgotten


def test_flushing_everything_leaves_nothing_behind() -> None:
    windows = run([dispatch(i * 45.0, case=f"{VILLAGE}-{i}") for i in range(200)])
    assert len(windows) > 0
    windows.flush(E0 + 10 * 3600)
    assert len(windows) == 0


def test_counties_are_separate_records_in_a_stable_order() -> None:
    windows = KpiWindows()
    windows.observe(dispatch(), OTHER_COUNTY)
    windows.observe(dispatch(case="x"), COUNTY)
    windows.observe(dispatch(case="y"), COUNTY)
    got = [(m.window, m.region_code, m.cases_opened) for m in windows.flush(E0 + 3602)]
    assert got == [
        ("1m", COUNTY, 2),
        ("1m", OTHER_COUNTY, 1),
        ("1h", COUNTY, 2),
        ("1h", OTHER_COUNTY, 1),
    ]


def test_a_step_for_a_flushed_window_goes_out_in_another_partial_record() -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe(dispatch(10), COUNTY)
    [first] = windows.flush(E0 + 62)
    windows.observe(dispatch(20, case="late"), COUNTY)
    [second] = windows.flush(E0 + 62)
    assert windows.late == 1
    assert (first.window_start, first.cases_opened) == (second.window_start, 1)


def test_drain_emits_open_windows_early_as_partials_that_sum_up() -> None:
    windows = KpiWindows()
    windows.observe(dispatch(10), COUNTY)
    early = windows.drain()
    assert [(m.window, m.cases_opened) for m in early] == [("1m", 1), ("1h", 1)]
    assert len(windows) == 0
    windows.observe(dispatch(20, case="later"), COUNTY)
    rest = windows.flush(E0 + 3602)
    assert windows.late == 0  # draining is no flush: nothing after it counts as late
    by_window: dict[tuple[str, datetime], int] = {}
    for m in early + rest:
        key = (m.window, m.window_start)
        by_window[key] = by_window.get(key, 0) + m.cases_opened
    assert by_window == {("1m", T0): 2, ("1h", T0): 2}


@pytest.mark.parametrize(
    ("windows", "kw"),
    [
        ((), {}),
        ((("1m", 60), ("1m", 120)), {}),
        ((("x", 0),), {}),
        (None, {"grace_s": -1}),
    ],
    ids=["no windows", "duplicate label", "zero size", "negative grace"],
)
def test_bad_configuration_is_refused(
    windows: tuple[tuple[str, int], ...] | None, kw: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        KpiWindows(windows, **kw) if windows is not None else KpiWindows(**kw)


# -------------------------------------------------------------------- publisher
@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


PUBLISHED = [
    # (name, the incident's region, expected key or None when skipped)
    ("the incident's village decides the county, whoever holds the case", VILLAGE, COUNTY),
    ("a code outside the tree is skipped", "999999999999", None),
    ("a city-tier region has no county and is skipped", "500000000000", None),
]


@pytest.mark.parametrize(("name", "region", "key"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_publisher_keys_records_by_the_county(
    regions: RegionGraph, name: str, region: str, key: str | None
) -> None:
    publisher = KpiPublisher(regions, "gf." + METRICS)
    publisher.observe([fact("opened", region=region, network="chengguan")])
    records = publisher.flush(E0 + 10 * 3600)
    if key is None:
        assert (records, publisher.skipped) == ([], 1)
        return
    assert [(r.topic, r.key) for r in records] == [("gf." + METRICS, key.encode())] * 2
    publisher.observe([fact("opened", 5000, region=region, network="chengguan")])
    assert [r.key for r in publisher.drain()] == [key.encode()] * 2
    metrics = [MergeMetrics.model_validate(orjson.loads(r.value)) for r in records]
    assert [(m.window, m.region_code, m.cases_opened) for m in metrics] == [
        ("1m", key, 1),
        ("1h", key, 1),
    ]


# ------------------------------------------------- against the real engine's output
@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(Settings())


def _event(event_id: str, network: str) -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": event_id,
            "source_network": network,
            "reported_at": T0.isoformat(),
            "region_code": VILLAGE,
            "location": {"lat": 29.556, "lon": 106.571},
            "title": "菜市场旁垃圾堆积无人清运",
            "category": "SJ0102",
        }
    )


def _feedback(case_id: str, action: str, n: int) -> Feedback:
    return Feedback.model_validate(
        {
            "feedback_id": f"{case_id}-{n}",
            "case_id": case_id,
            # 监管分离: the town above the village verifies and closes.
            "center_code": TOWN if action in ("verify", "close") else VILLAGE,
            "action": action,
            "at": T0.isoformat(),
        }
    )


def _moved(state: RegionState) -> RegionState:
    """The region's row as another worker recovers it from the changelog."""
    return RegionState.from_bytes(state.to_bytes())


@pytest.mark.parametrize(
    ("name", "resolve_after_s", "moved", "on_time"),
    [
        ("resolved at once", 1.0, False, 1),
        ("resolved a week later", 7 * 86400.0, False, 0),
        ("resolved at once, closed on another worker", 1.0, True, 1),
        ("resolved a week later, closed on another worker", 7 * 86400.0, True, 0),
    ],
)
def test_the_engine_s_own_steps_are_counted(
    engine: Engine, name: str, resolve_after_s: float, moved: bool, on_time: int
) -> None:
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, _event("e1", "chengguan"), E0)
    case_id = out.dispositions[0].case_id
    facts = list(out.facts)
    facts += engine.apply_event(state, _event("e2", "zongzhi"), E0 + 1).facts
    facts += engine.apply_feedback(state, _feedback(case_id, "accept", 1), E0 + 2).facts
    late_at = E0 + 2 + resolve_after_s
    for n, action in enumerate(("resolve", "verify", "close"), start=2):
        if action == "close" and moved:
            # Only the facts of the worker that closes the case are counted below: it
            # saw neither the opening nor the resolution, only the case's row.
            state, facts = _moved(state), []
        outcome = engine.apply_feedback(state, _feedback(case_id, action, n), late_at + n)
        assert outcome.reject is None, outcome.reject
        assert len(outcome.facts) == len(outcome.dispositions)
        facts += outcome.facts
    assert state.cases[case_id].on_time is bool(on_time)
    century = 100 * 365 * 86400  # one window holds the whole story
    windows = KpiWindows(windows=(("all", century),))
    for f in facts:
        windows.observe(f, COUNTY)
    [m] = windows.flush(E0 + 2 * century)
    got = m.model_dump(
        include={
            "events_in",
            "cases_opened",
            "merges",
            "cases_closed",
            "closed_on_time",
            "merged_by_pair",
        }
    )
    seen_opening = not moved
    assert got == {
        "events_in": 2 * seen_opening,
        "cases_opened": 1 * seen_opening,
        "merges": 1 * seen_opening,
        "cases_closed": 1,
        "closed_on_time": on_time,
        "merged_by_pair": {"chengguan>zongzhi": 1} if seen_opening else {},
    }


# ------------------------------------------ batches: the same as one observe each
def _story() -> list[tuple[StepFact, str]]:
    """Steps of several cases and counties across minute and hour boundaries."""
    out: list[tuple[StepFact, str]] = []
    for i in range(6):
        case = f"{VILLAGE}-s{i}"
        county = COUNTY if i % 2 else OTHER_COUNTY
        t0 = 3500.0 + 37 * i  # some cases cross the hour boundary at 3600
        out += [
            (dispatch(t0, case=case, network="gongan" if i % 3 else "chengguan"), county),
            (merge("zongzhi", t0 + 1), county),
            (fact("accepted", t0 + 2, case=case), county),
            (fact("resolved", t0 + 30, case=case), county),
            (closed(t0 + 61, case=case, on_time=bool(i % 2)), county),
        ]
    out.append((fact("informed", 3601), COUNTY))
    out.append((fact("reworked", 3602), COUNTY))
    return out


def _one_by_one(items: Sequence[tuple[StepFact, str]]) -> KpiWindows:
    windows = KpiWindows()
    for f, county in items:
        windows.observe(f, county)
    return windows


def _dump(metrics: list[MergeMetrics]) -> list[str]:
    return [m.model_dump_json() for m in metrics]


def test_a_batch_counts_exactly_what_one_observe_each_counts() -> None:
    items = _story()
    batched = KpiWindows()
    for i in range(0, len(items), 7):  # uneven batches
        batched.observe_batch(items[i : i + 7])
    single = _one_by_one(items)
    assert len(batched) == len(single) > 0
    assert _dump(batched.flush(E0 + 3662)) == _dump(single.flush(E0 + 3662))
    assert _dump(batched.drain()) == _dump(single.drain())


def test_late_steps_are_counted_per_step_within_a_batch() -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe(dispatch(10), COUNTY)
    windows.flush(E0 + 62)  # the first minute is gone
    windows.observe_batch(
        [
            (dispatch(20, case="late-1"), COUNTY),
            (dispatch(61, case="on-time"), COUNTY),
            (dispatch(30, case="late-2"), COUNTY),
        ]
    )
    assert windows.late == 2
    got = [(m.window_start.timestamp() - E0, m.cases_opened) for m in windows.drain()]
    assert got == [(0, 2), (60, 1)]


def test_pending_counts_reach_the_windows_before_any_flush() -> None:
    windows = KpiWindows()
    windows.observe_batch([(dispatch(10), COUNTY)])
    assert len(windows) == 2  # one 1m and one 1h window
    windows.observe_batch([(dispatch(20, case="x"), COUNTY)])
    assert [m.cases_opened for m in windows.drain()] == [2, 2]
