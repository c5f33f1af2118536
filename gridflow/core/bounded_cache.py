"""The hot path's memo tables: plain dicts that are emptied when they fill up.

Every memo in the core (datetimes, SLA deadlines, route decisions, keyword pieces …) has
the same bound: when a table holds its limit it starts over, which costs one recompute
per key and never an eviction order to maintain. Lookups stay ``dict.get``.
"""

from __future__ import annotations

from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(cache: dict[_K, _V], limit: int, key: _K, value: _V) -> _V:
    """Store ``value`` under ``key`` (emptying ``cache`` first when it is full); return it."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
