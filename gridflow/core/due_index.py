"""A min-heap of (due time, key) with lazy invalidation.

The SLA tick must cost O(due cases), not O(open cases): ticks pop only what is due. Entries
are never removed when a case changes; the popper re-checks the case and ignores stale
entries, and every change pushes the case's new due time.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable


class DueIndex:
    """Keys ordered by due time (epoch seconds)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        # A sequence number keeps heap comparisons off the keys (which may not be ordered).
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, key: Hashable) -> None:
        """Remember that ``key`` wants attention at ``due``."""
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key))

    def pop_due(self, now: float, limit: int | None = None) -> list[Hashable]:
        """Remove and return keys due at or before ``now`` (each once, earliest first)."""
        out: list[Hashable] = []
        seen: set[Hashable] = set()
        heap = self._heap
        while heap and heap[0][0] <= now and (limit is None or len(out) < limit):
            _, _, key = heapq.heappop(heap)
            if key not in seen:
                seen.add(key)
                out.append(key)
        return out

    def next_due(self) -> float | None:
        """The earliest due time, or None when empty."""
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        """Forget everything (on partition revocation)."""
        self._heap.clear()
