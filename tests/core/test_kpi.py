"""Windowed KPIs: what each disposition counts, the rates, and how windows open and flush."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.kpi import _MERGE_REASON, UNKNOWN_NETWORK, KpiWindows, _merge_reporter
from gridflow.core.region_state import RegionState
from gridflow.core.regions import RegionGraph
from gridflow.reference import load_engine
from gridflow.runtime.kpi_publisher import KpiPublisher
from gridflow.topics import METRICS
from schemas import Disposition, Feedback, GridEvent, MergeMetrics

VILLAGE = "500103001003"
COUNTY = "500103000000"
OTHER_COUNTY = "500104000000"
#: A minute boundary (and an hour boundary): windows start here.
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
E0 = T0.timestamp()
CASE = f"{VILLAGE}-c1"


def disp(
    did: str,
    action: str,
    t: float = 1.0,
    *,
    case: str = CASE,
    state: str | None = None,
    reason: str | None = None,
    deadline: float | None = None,
    stage: str | None = None,
    networks: tuple[str, ...] = ("chengguan",),
    region: str | None = VILLAGE,
    center: str = VILLAGE,
) -> Disposition:
    """A disposition ``t`` seconds after T0, shaped like the engine's."""
    doc: dict[str, Any] = {
        "disposition_id": did,
        "case_id": case,
        "action": action,
        "tier": "village",
        "center_code": center,
        "at": (T0 + timedelta(seconds=t)).isoformat(),
        "networks": list(networks),
        "events": ["e1"],
        "state": state,
        "reason": reason,
        "stage": stage,
        "region_code": region,
    }
    if deadline is not None:
        doc["deadline"] = (T0 + timedelta(seconds=deadline)).isoformat()
    return Disposition.model_validate(doc)


def dispatch(
    did: str = "d-open", t: float = 1.0, case: str = CASE, network: str = "chengguan"
) -> Disposition:
    return disp(
        did,
        "dispatch",
        t,
        case=case,
        state="dispatched",
        stage="accept",
        deadline=t + 600,
        networks=(network,),
    )


def merge(
    did: str, network: str, t: float = 2.0, first: str = "chengguan", event: str = "e2"
) -> Disposition:
    return disp(
        did,
        "merge",
        t,
        state="dispatched",
        reason=f"report {event} from {network} joined the case",
        networks=(first, network) if network != first else (first,),
    )


def accepted(did: str, t: float, deadline: float, case: str = CASE) -> Disposition:
    return disp(
        did,
        "state",
        t,
        case=case,
        state="accepted",
        reason="accepted",
        stage="resolve",
        deadline=deadline,
    )


def resolved(did: str, t: float, case: str = CASE) -> Disposition:
    return disp(did, "state", t, case=case, state="resolved", reason="resolved")


def closed(did: str, t: float, case: str = CASE) -> Disposition:
    return disp(did, "state", t, case=case, state="closed", reason="closed")


def one_minute(windows: KpiWindows, county: str = COUNTY) -> MergeMetrics:
    """The single 1m record of ``county`` flushed once everything has ended."""
    found = [
        m for m in windows.flush(E0 + 10 * 3600) if m.window == "1m" and m.region_code == county
    ]
    assert len(found) == 1, found
    return found[0]


def run(dispositions: list[Disposition], **kw: Any) -> KpiWindows:
    windows = KpiWindows(**kw)
    for d in dispositions:
        windows.observe(d, COUNTY)
    return windows


# ------------------------------------------------------------------ what counts
@dataclass(frozen=True)
class Counting:
    name: str
    dispositions: list[Disposition]
    expected: dict[str, Any]


COUNTING = [
    Counting(
        "a dispatch is one report in and one case opened",
        [dispatch()],
        {"events_in": 1, "cases_opened": 1, "merges": 0, "reports_by_network": {"chengguan": 1}},
    ),
    Counting(
        "a merge from another network is a report in, a merge, and a cross-network merge",
        [dispatch(), merge("d-m", "gongan")],
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
        [dispatch(), merge("d-m", "chengguan")],
        {"merges": 1, "merged_by_network": {}, "merged_by_pair": {"chengguan>chengguan": 1}},
    ),
    Counting(
        "the merged network is read from the reason, even with ' from ' in the event id",
        [
            disp(
                "d-m",
                "merge",
                reason="report x from zongzhi joined from gongan from video_ai joined the case; priority raised normal -> high",
                networks=("chengguan", "zongzhi"),
            )
        ],
        {"merged_by_network": {"video_ai": 1}, "merged_by_pair": {"chengguan>video_ai": 1}},
    ),
    Counting(
        "a merge whose reason names no network is attributed to 'unknown'",
        [disp("d-m", "merge", reason="joined", networks=("chengguan", "gongan"))],
        {"merges": 1, "merged_by_network": {"unknown": 1}, "reports_by_network": {"unknown": 1}},
    ),
    Counting(
        "a close resolved before the resolve deadline is on time",
        [dispatch(), accepted("d-a", 2, deadline=100), resolved("d-r", 50), closed("d-c", 55)],
        {"cases_closed": 1, "closed_on_time": 1},
    ),
    Counting(
        "a resolve exactly at the deadline is still on time (the engine's now > deadline)",
        [accepted("d-a", 2, deadline=50), resolved("d-r", 50), closed("d-c", 55)],
        {"cases_closed": 1, "closed_on_time": 1},
    ),
    Counting(
        "a close resolved after the resolve deadline is late",
        [dispatch(), accepted("d-a", 2, deadline=10), resolved("d-r", 20), closed("d-c", 30)],
        {"cases_closed": 1, "closed_on_time": 0},
    ),
    Counting(
        "an extension moves the deadline: resolved in the extended time is on time",
        [
            accepted("d-a", 2, deadline=10),
            disp(
                "d-x",
                "state",
                5,
                state="accepted",
                reason="extended to 2026-11-25T10:00:40+00:00",
                stage="resolve",
                deadline=40,
            ),
            resolved("d-r", 20),
            closed("d-c", 30),
        ],
        {"extensions": 1, "cases_closed": 1, "closed_on_time": 1},
    ),
    Counting(
        "a missed resolve deadline makes the case late for good, even if the next tier is quick",
        [
            accepted("d-a", 2, deadline=10),
            disp(
                "d-e",
                "escalate",
                11,
                state="accepted",
                reason="resolve deadline missed at 500103001003",
                stage="resolve",
                deadline=500,
            ),
            resolved("d-r", 20),
            closed("d-c", 30),
        ],
        {"escalations": 1, "cases_closed": 1, "closed_on_time": 0},
    ),
    Counting(
        "a missed accept deadline escalates but does not make the close late",
        [
            dispatch(),
            disp(
                "d-e",
                "escalate",
                11,
                state="dispatched",
                reason="accept deadline missed at 500103001003",
                stage="accept",
                deadline=500,
            ),
            accepted("d-a", 12, deadline=100),
            resolved("d-r", 20),
            closed("d-c", 30),
        ],
        {"escalations": 1, "cases_closed": 1, "closed_on_time": 1},
    ),
    Counting(
        "a resolve-stage breach at the top tier is late but not an escalation",
        [
            accepted("d-a", 2, deadline=10),
            disp(
                "d-b",
                "sla_breach",
                11,
                state="accepted",
                reason="resolve deadline missed at the top tier (500000000000)",
                stage="resolve",
                deadline=10,
            ),
            resolved("d-r", 12),
            closed("d-c", 30),
        ],
        {"escalations": 0, "cases_closed": 1, "closed_on_time": 0},
    ),
    Counting(
        "a rework counts, and lateness before it sticks",
        [
            accepted("d-a", 2, deadline=10),
            resolved("d-r", 20),
            disp(
                "d-w",
                "state",
                21,
                state="accepted",
                reason="rework: verification failed",
                stage="resolve",
                deadline=100,
            ),
            resolved("d-r2", 22),
            closed("d-c", 30),
        ],
        {"reworks": 1, "cases_closed": 1, "closed_on_time": 0},
    ),
    Counting(
        "a close of a case whose history this worker never saw counts as on time",
        [closed("d-c", 30)],
        {"cases_closed": 1, "closed_on_time": 1, "cases_opened": 0},
    ),
    Counting(
        "informs, warnings, reroutes, cancellations and plain steps count towards nothing",
        [
            dispatch(),
            disp(
                "d-i",
                "state",
                state="dispatched",
                reason="inform: village centre x holds a high case",
            ),
            disp("d-w", "sla_warning", reason="accept deadline near"),
            disp("d-rr", "reroute", state="dispatched", reason="returned by x: not ours"),
            disp("d-v", "state", state="verified", reason="verified"),
            disp("d-o", "state", state="dispatched", reason="reopened"),
            disp("d-x", "state", state="cancelled", reason="cancelled: not a valid case"),
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
]


@pytest.mark.parametrize("case", COUNTING, ids=[c.name for c in COUNTING])
def test_what_each_disposition_counts(case: Counting) -> None:
    got = one_minute(run(case.dispositions)).model_dump()
    assert {k: got[k] for k in case.expected} == case.expected


def test_windows_with_nothing_counted_are_never_opened_or_emitted() -> None:
    windows = run(
        [
            disp("d-w", "sla_warning", reason="accept deadline near"),
            disp("d-i", "state", state="dispatched", reason="inform: town centre y"),
        ]
    )
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
) -> list[Disposition]:
    out: list[Disposition] = []
    for i in range(opened):
        out.append(dispatch(f"open-{i}", case=f"{VILLAGE}-o{i}"))
    for i in range(merges):
        out.append(merge(f"merge-{i}", "gongan", event=f"m{i}"))
    for i in range(closed_):
        case = f"{VILLAGE}-k{i}"
        late = i >= on_time
        out += [
            accepted(f"acc-{i}", 2, deadline=5 if late else 50, case=case),
            resolved(f"res-{i}", 10, case=case),
            closed(f"clo-{i}", 11, case=case),
        ]
    for i in range(reworks):
        out.append(
            disp(
                f"rw-{i}",
                "state",
                3,
                case=f"{VILLAGE}-w{i}",
                state="accepted",
                reason="rework: verification failed",
            )
        )
    for i in range(extensions):
        out.append(
            disp(
                f"ex-{i}",
                "state",
                3,
                case=f"{VILLAGE}-x{i}",
                state="accepted",
                reason="extended to later",
            )
        )
    for i in range(escalations):
        out.append(
            disp(
                f"es-{i}",
                "escalate",
                3,
                case=f"{VILLAGE}-e{i}",
                reason="asked up by x: needs coordination",
            )
        )
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
    windows = run([dispatch(f"d{i}", t, case=f"{VILLAGE}-{i}") for i, t in enumerate(offsets)])
    got = windows.flush(E0 + flush_at)
    assert [(m.window, int(m.window_start.timestamp() - E0), m.events_in) for m in got] == expected
    for m in got:
        size = 60 if m.window == "1m" else 3600
        assert m.window_end - m.window_start == timedelta(seconds=size)
        assert m.region_code == COUNTY
    assert windows.flush(E0 + flush_at) == []  # flushed windows are forgotten


def test_flushing_everything_leaves_nothing_behind() -> None:
    windows = run([dispatch(f"d{i}", i * 45.0, case=f"{VILLAGE}-{i}") for i in range(200)])
    assert len(windows) > 0
    windows.flush(E0 + 10 * 3600)
    assert len(windows) == 0


def test_counties_are_separate_records_in_a_stable_order() -> None:
    windows = KpiWindows()
    windows.observe(dispatch("a"), OTHER_COUNTY)
    windows.observe(dispatch("b", case="x"), COUNTY)
    windows.observe(dispatch("c", case="y"), COUNTY)
    got = [(m.window, m.region_code, m.cases_opened) for m in windows.flush(E0 + 3602)]
    assert got == [
        ("1m", COUNTY, 2),
        ("1m", OTHER_COUNTY, 1),
        ("1h", COUNTY, 2),
        ("1h", OTHER_COUNTY, 1),
    ]


def test_a_disposition_for_a_flushed_window_goes_out_in_another_partial_record() -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe(dispatch("a", 10), COUNTY)
    [first] = windows.flush(E0 + 62)
    windows.observe(dispatch("b", 20, case="late"), COUNTY)
    [second] = windows.flush(E0 + 62)
    assert windows.late == 1
    assert (first.window_start, first.cases_opened) == (second.window_start, 1)


def test_drain_emits_open_windows_early_as_partials_that_sum_up() -> None:
    windows = KpiWindows()
    windows.observe(dispatch("a", 10), COUNTY)
    early = windows.drain()
    assert [(m.window, m.cases_opened) for m in early] == [("1m", 1), ("1h", 1)]
    assert len(windows) == 0
    windows.observe(dispatch("b", 20, case="later"), COUNTY)
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
        (None, {"max_cases": 0}),
    ],
    ids=["no windows", "duplicate label", "zero size", "negative grace", "no case table"],
)
def test_bad_configuration_is_refused(
    windows: tuple[tuple[str, int], ...] | None, kw: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        KpiWindows(windows, **kw) if windows is not None else KpiWindows(**kw)


def test_the_case_table_is_bounded_and_forgets_finished_cases() -> None:
    windows = KpiWindows(max_cases=3)
    for i in range(10):
        windows.observe(accepted(f"a{i}", 1, deadline=50, case=f"{VILLAGE}-{i}"), COUNTY)
    assert windows.tracked_cases == 3
    windows.observe(closed("c9", 2, case=f"{VILLAGE}-9"), COUNTY)
    windows.observe(
        disp("x8", "state", 2, case=f"{VILLAGE}-8", state="cancelled", reason="cancelled: dup"),
        COUNTY,
    )
    assert windows.tracked_cases == 1


# -------------------------------------------------------------------- publisher
@pytest.fixture(scope="module")
def regions() -> RegionGraph:
    return RegionGraph.default()


PUBLISHED = [
    # (name, region_code, center_code, expected key or None when skipped)
    ("the incident's village decides the county", VILLAGE, VILLAGE, COUNTY),
    ("even when the city centre holds the case", VILLAGE, "500000000000", COUNTY),
    ("without region_code the centre decides", None, "500103001000", COUNTY),
    ("a code outside the tree is skipped", "999999999999", VILLAGE, None),
    ("a city-tier centre without region_code is skipped", None, "500000000000", None),
]


@pytest.mark.parametrize(
    ("name", "region", "center", "key"), PUBLISHED, ids=[p[0] for p in PUBLISHED]
)
def test_publisher_keys_records_by_the_county(
    regions: RegionGraph, name: str, region: str | None, center: str, key: str | None
) -> None:
    publisher = KpiPublisher(regions, "gf." + METRICS)
    publisher.observe([disp("d1", "dispatch", region=region, center=center)])
    records = publisher.flush(E0 + 10 * 3600)
    if key is None:
        assert (records, publisher.skipped) == ([], 1)
        return
    assert [(r.topic, r.key) for r in records] == [("gf." + METRICS, key.encode())] * 2
    publisher.observe([disp("d2", "dispatch", 5000, region=region, center=center)])
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
            "center_code": VILLAGE,
            "action": action,
            "at": T0.isoformat(),
        }
    )


@pytest.mark.parametrize(
    ("name", "resolve_after_s", "on_time"),
    [("resolved at once", 1.0, 1), ("resolved a week later", 7 * 86400.0, 0)],
)
def test_the_engine_s_own_dispositions_are_counted(
    engine: Engine, name: str, resolve_after_s: float, on_time: int
) -> None:
    state = RegionState(VILLAGE)
    out = engine.apply_event(state, _event("e1", "chengguan"), E0).dispositions
    case_id = next(d.case_id for d in out if d.action == "dispatch")
    out += engine.apply_event(state, _event("e2", "zongzhi"), E0 + 1).dispositions
    out += engine.apply_feedback(state, _feedback(case_id, "accept", 1), E0 + 2).dispositions
    late_at = E0 + 2 + resolve_after_s
    for n, action in enumerate(("resolve", "verify", "close"), start=2):
        outcome = engine.apply_feedback(state, _feedback(case_id, action, n), late_at + n)
        assert outcome.reject is None, outcome.reject
        out += outcome.dispositions
    assert state.cases[case_id].on_time is bool(on_time)
    century = 100 * 365 * 86400  # one window holds the whole story
    windows = KpiWindows(windows=(("all", century),))
    for d in out:
        windows.observe(d, COUNTY)
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
    assert got == {
        "events_in": 2,
        "cases_opened": 1,
        "merges": 1,
        "cases_closed": 1,
        "closed_on_time": on_time,
        "merged_by_pair": {"chengguan>zongzhi": 1},
    }


# ------------------------------------------ batches: the same as one observe each
def _story() -> list[tuple[Disposition, str]]:
    """Dispositions of several cases and counties across minute and hour boundaries."""
    out: list[tuple[Disposition, str]] = []
    for i in range(6):
        case = f"{VILLAGE}-s{i}"
        county = COUNTY if i % 2 else OTHER_COUNTY
        t0 = 3500.0 + 37 * i  # some cases cross the hour boundary at 3600
        out += [
            (dispatch(f"o{i}", t0, case=case, network="gongan" if i % 3 else "chengguan"), county),
            (merge(f"m{i}", "zongzhi", t0 + 1), county),
            (accepted(f"a{i}", t0 + 2, deadline=t0 + (5 if i % 2 else 500), case=case), county),
            (resolved(f"r{i}", t0 + 30, case=case), county),
            (closed(f"c{i}", t0 + 61, case=case), county),
        ]
    out.append((disp("i", "state", 3601, state="dispatched", reason="inform: x"), COUNTY))
    out.append((disp("w", "state", 3602, state="accepted", reason="rework: again"), COUNTY))
    return out


def _one_by_one(items: Sequence[tuple[Disposition, str]], **kw: int) -> KpiWindows:
    windows = KpiWindows(**kw)
    for d, county in items:
        windows.observe(d, county)
    return windows


def _dump(metrics: list[MergeMetrics]) -> list[str]:
    return [m.model_dump_json() for m in metrics]


@pytest.mark.parametrize("max_cases", [100_000, 2], ids=["roomy table", "evicting table"])
def test_a_batch_counts_exactly_what_one_observe_each_counts(max_cases: int) -> None:
    items = _story()
    batched = KpiWindows(max_cases=max_cases)
    for i in range(0, len(items), 7):  # uneven batches
        batched.observe_batch(items[i : i + 7])
    single = _one_by_one(items, max_cases=max_cases)
    assert len(batched) == len(single) > 0
    assert batched.tracked_cases == single.tracked_cases
    assert _dump(batched.flush(E0 + 3662)) == _dump(single.flush(E0 + 3662))
    assert _dump(batched.drain()) == _dump(single.drain())


def test_late_dispositions_are_counted_per_disposition_within_a_batch() -> None:
    windows = KpiWindows(windows=(("1m", 60),))
    windows.observe(dispatch("a", 10), COUNTY)
    windows.flush(E0 + 62)  # the first minute is gone
    windows.observe_batch(
        [
            (dispatch("b", 20, case="late-1"), COUNTY),
            (dispatch("c", 61, case="on-time"), COUNTY),
            (dispatch("d", 30, case="late-2"), COUNTY),
        ]
    )
    assert windows.late == 2
    got = [(m.window_start.timestamp() - E0, m.cases_opened) for m in windows.drain()]
    assert got == [(0, 2), (60, 1)]


def test_pending_counts_reach_the_windows_before_any_flush() -> None:
    windows = KpiWindows()
    windows.observe_batch([(dispatch("a", 10), COUNTY)])
    assert len(windows) == 2  # one 1m and one 1h window
    windows.observe_batch([(dispatch("b", 20, case="x"), COUNTY)])
    assert [m.cases_opened for m in windows.drain()] == [2, 2]
    assert len(windows) == 0


@pytest.mark.parametrize(
    "reason",
    [
        "report e1 from gongan joined the case",
        "report e1 from gongan joined the case; priority raised normal -> high",
        "report x from zongzhi joined from gongan from video_ai joined the case",
        "report a from b from c joined the case; from d",  # last " from " is no network
        "report from gongan joined the case",  # no event id: no match
        "report e\n1 from gongan joined the case",  # '.' matches no newline
        "report e1 from gongan joined the case\nmore",
        "report e1 from Gongan joined the case",  # not a network name
        "report e1 from " + "a" * 33 + " joined the case",  # too long a name
        "report e1 from gongan joined",
        "report e1 from gongan",
        "joined",
        "",
    ],
)
def test_the_merge_reporter_is_what_the_regex_reads(reason: str) -> None:
    match = _MERGE_REASON.match(reason)
    assert _merge_reporter(reason) == (match.group("net") if match else UNKNOWN_NETWORK)
