"""A fetch that skips offsets is cut at the hole and asked again, for a bounded time.

The embedded broker can answer a fetch with records past a batch that is not visible yet
(docs/PITFALLS.md, "Fetches skip offsets"); :class:`FetchHoles` keeps the reader's position
at the first missing offset until it is there or the patience runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gridflow.runtime.fetch_holes import FetchHoles


@dataclass(frozen=True)
class Rec:
    offset: int


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fetched(**partitions: list[int]) -> dict[str, list[Rec]]:
    return {p: [Rec(o) for o in offsets] for p, offsets in partitions.items()}


def offsets(data: dict[str, list[Rec]]) -> dict[str, list[int]]:
    return {p: [r.offset for r in records] for p, records in data.items()}


@pytest.mark.parametrize(
    ("due", "fetch", "kept", "seek"),
    [
        # contiguous from the position: everything passes
        (10, [10, 11, 12], [10, 11, 12], None),
        # a hole inside the fetch: cut before it, seek back to it
        (10, [10, 11, 13, 14], [10, 11], 12),
        # the fetch starts past the position: nothing passes
        (10, [12, 13], None, 10),
        # the position unknown (read from the beginning): the first record sets it
        (None, [5, 6, 7], [5, 6, 7], None),
        (None, [5, 7], [5], 6),
        # records behind the known position (a seek not told): follow the consumer
        (10, [3, 4, 5], [3, 4, 5], None),
    ],
)
def test_a_fetch_is_cut_at_its_first_hole(
    due: int | None, fetch: list[int], kept: list[int] | None, seek: int | None
) -> None:
    holes = FetchHoles(enabled=True)
    if due is not None:
        holes.expect("p", due)
    data = fetched(p=fetch)
    back = holes.check(data)
    assert offsets(data).get("p") == kept
    assert back == ({} if seek is None else {"p": seek})


def test_the_hole_filled_by_the_next_fetch_is_read_in_order() -> None:
    holes = FetchHoles(enabled=True)
    holes.expect("p", 0)
    first = fetched(p=[0, 1, 3, 4])
    assert holes.check(first) == {"p": 2}
    second = fetched(p=[2, 3, 4, 5])
    assert holes.check(second) == {}
    assert offsets(first)["p"] + offsets(second)["p"] == [0, 1, 2, 3, 4, 5]
    assert (holes.refetches, holes.filled, holes.given_up) == (1, 1, 0)


def test_a_hole_still_there_after_the_patience_is_read_past_and_counted() -> None:
    clock = Clock()
    outcomes: list[str] = []
    holes = FetchHoles(enabled=True, patience_s=5.0, clock=clock, on_hole=outcomes.append)
    holes.expect("p", 0)
    assert holes.check(fetched(p=[0, 3])) == {"p": 1}
    clock.now += 4.9
    assert holes.check(fetched(p=[3, 4])) == {"p": 1}
    clock.now += 0.2
    late = fetched(p=[3, 4])
    assert holes.check(late) == {}
    assert offsets(late) == {"p": [3, 4]}
    assert holes.given_up == 2  # offsets 1 and 2
    assert outcomes == ["refetched", "refetched", "given_up"]
    # and reading goes on from there
    assert holes.check(fetched(p=[5, 6])) == {}


def test_partitions_are_guarded_apart_and_an_emptied_one_leaves_the_fetch() -> None:
    holes = FetchHoles(enabled=True)
    holes.expect("a", 0)
    holes.expect("b", 7)
    data = fetched(a=[0, 1], b=[9, 10])
    assert holes.check(data) == {"b": 7}
    assert offsets(data) == {"a": [0, 1]}


def test_a_seek_resets_what_is_due() -> None:
    holes = FetchHoles(enabled=True)
    holes.expect("p", 0)
    assert holes.check(fetched(p=[0, 2])) == {"p": 1}
    holes.expect("p", 40)  # e.g. a new assignment at a stored position
    assert holes.check(fetched(p=[40, 41])) == {}
    holes.forget()
    assert holes.check(fetched(p=[90])) == {}


def test_off_it_changes_nothing() -> None:
    """Apache Kafka: transaction markers and compaction leave holes that are no loss."""
    holes = FetchHoles(enabled=False)
    holes.expect("p", 0)
    data = fetched(p=[0, 2, 5])
    assert holes.check(data) == {}
    assert offsets(data) == {"p": [0, 2, 5]}


class Seeks:
    """A consumer as :meth:`FetchHoles.cut` sees it: where it was told to seek."""

    def __init__(self) -> None:
        self.to: dict[str, int] = {}

    def seek(self, partition: str, offset: int) -> None:
        self.to[partition] = offset


def test_cut_seeks_the_consumer_back_to_each_hole_and_leaves_whole_partitions() -> None:
    holes = FetchHoles(enabled=True)
    holes.expect("a", 10)
    holes.expect("b", 20)
    data = fetched(a=[10, 12], b=[20, 21])
    consumer = Seeks()
    holes.cut(consumer, data)
    assert consumer.to == {"a": 11}
    assert offsets(data) == {"a": [10], "b": [20, 21]}
