"""JSON that stays in memory costs its length, not orjson's write buffer.

orjson returns bytes that keep the ~4 KiB buffer they were written into; a worker keeps
every case's JSON and every region row, so those are copied to their size
(``gridflow.core.compact_json``). Allocation sizes are read with tracemalloc.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gridflow.core.case import Case, CaseStatus
from gridflow.core.compact_json import dumps_compact
from gridflow.core.region_state import RegionState

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(doc=_JSON)
def test_compact_json_is_exactly_what_orjson_writes(doc: Any) -> None:
    assert dumps_compact(doc) == orjson.dumps(doc)


def _bytes_held_each(make: Callable[[int], object], count: int = 200) -> float:
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = [make(i) for i in range(count)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    return sum(s.size_diff for s in after.compare_to(before, "lineno")) / count


def _case(i: int) -> Case:
    return Case(
        id=f"500103001003-{i:012x}",
        region="500103001003",
        category="SJ0102",
        priority="normal",
        department="城管局",
        tier="village",
        holder="500103001003",
        status=CaseStatus.DISPATCHED,
        rule="default",
        policy="grid_onsite",
        opened_at=1_796_190_000.0 + i,
        first_reported_at=1_796_190_000.0,
        last_reported_at=1_796_190_000.0,
        title="菜市场旁垃圾堆积无人清运",
        events=[f"E-{i}"],
        networks=["chengguan"],
        event_networks=["chengguan"],
    )


def test_compact_json_holds_about_its_length() -> None:
    doc = {"a": "x" * 400, "b": 1.5}
    assert len(orjson.dumps(doc)) == 416
    assert _bytes_held_each(lambda i: orjson.dumps(doc)) > 2000  # why this module exists
    assert _bytes_held_each(lambda i: dumps_compact(doc)) < 2 * 416


def test_a_cases_remembered_json_holds_about_its_length() -> None:
    cases = [_case(i) for i in range(200)]
    length = len(orjson.dumps(cases[0].to_json()))
    assert _bytes_held_each(lambda i: cases[i].to_json()) < 2 * length


def test_a_region_row_holds_about_its_length() -> None:
    states = []
    for i in range(200):
        state = RegionState(region="500103001003")
        case = _case(i)
        state.cases[case.id] = case
        case.to_json()  # the case's own remembered JSON is not what is measured here
        states.append(state)
    length = len(states[0].to_bytes())
    assert _bytes_held_each(lambda i: states[i].to_bytes()) < 2 * length
