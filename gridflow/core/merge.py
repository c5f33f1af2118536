"""Multi-network merge (多网合一): which open case, if any, a new report belongs to.

Two reports are the same incident when their categories are compatible, they are within
the category's merge radius (default 250 m, as FixMyStreet's nearby-duplicate search) and
its time window, and the case is still open. Without coordinates on either side the unit
grid must match. The nearest candidate wins; ties go to the oldest case, so the decision
does not depend on dictionary order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from gridflow.core.case import Case
from gridflow.core.geo import haversine_m


class Report(NamedTuple):
    """What the merge needs to know about a new report (one per event: a cheap tuple)."""

    category: str
    reported_at: float
    lat: float | None
    lon: float | None
    grid: str | None


def find_merge_target(
    cases: Iterable[Case],
    report: Report,
    *,
    radius_m: float,
    window_s: float,
    compatible: Callable[[str, str], bool],
) -> Case | None:
    """The open case ``report`` duplicates, or None when it is a new incident."""
    best: tuple[float, float, str] | None = None
    best_case: Case | None = None
    for case in cases:
        if not case.is_open:
            continue
        if (
            abs(report.reported_at - case.last_reported_at) > window_s
            and abs(report.reported_at - case.first_reported_at) > window_s
        ):
            continue
        if not compatible(case.category, report.category):
            continue
        if (
            report.lat is not None
            and report.lon is not None
            and case.lat is not None
            and case.lon is not None
        ):
            distance = haversine_m(report.lat, report.lon, case.lat, case.lon)
            if distance > radius_m:
                continue
        elif report.grid is not None and report.grid == case.grid:
            distance = radius_m  # same unit grid, position unknown: rank behind measured hits
        else:
            continue
        rank = (distance, case.opened_at, case.id)
        if best is None or rank < best:
            best, best_case = rank, case
    return best_case
