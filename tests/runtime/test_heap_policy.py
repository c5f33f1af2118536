"""The worker's collector policy: batches retire their survivors, sweeps reclaim cycles.

``gridflow.runtime.heap`` trades the young-generation walks of what each batch leaves alive for a
periodic whole-heap sweep. These check both halves of that trade on the real collector.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gridflow.runtime.heap import batch_collector, sweep


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def clean_collector() -> Iterator[None]:
    """Leave the test process's collector as it was: enabled, nothing frozen by us."""
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()
        if not was_enabled:
            gc.disable()


def test_the_collector_is_paused_during_a_batch_and_enabled_after(clean_collector: None) -> None:
    with batch_collector(retire=True):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_batch_with_retire_freezes_what_it_leaves_alive(clean_collector: None) -> None:
    gc.unfreeze()
    with batch_collector(retire=True):
        kept = [_Node() for _ in range(100)]
    assert gc.get_freeze_count() >= len(kept)
    assert not any(gc.is_tracked(n) and n in gc.get_objects(0) for n in kept[:3])


def test_without_retire_survivors_stay_with_the_collector(clean_collector: None) -> None:
    gc.unfreeze()
    before = gc.get_freeze_count()
    with batch_collector(retire=False):
        [_Node() for _ in range(100)]
    assert gc.get_freeze_count() == before


def test_a_collector_disabled_by_someone_else_is_left_alone(clean_collector: None) -> None:
    gc.disable()
    with batch_collector(retire=True):
        pass
    assert not gc.isenabled()
    gc.enable()


def test_retired_objects_are_still_freed_by_reference_counting(clean_collector: None) -> None:
    with batch_collector(retire=True):
        node = _Node()
    ref = weakref.ref(node)
    del node
    assert ref() is None


def test_a_sweep_reclaims_cycles_among_retired_objects(clean_collector: None) -> None:
    with batch_collector(retire=True):
        a, b = _Node(), _Node()
        a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    gc.collect()  # a normal collection does not look at frozen objects
    assert ref() is not None
    sweep()
    assert ref() is None
    assert gc.get_freeze_count() > 0  # what is still alive is frozen again
