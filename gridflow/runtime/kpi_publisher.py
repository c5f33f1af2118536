"""Publishes windowed KPIs per county to ``grid.metrics`` (contract: MergeMetrics).

The agent observes every batch's step facts (what the engine did, as data: see
``gridflow.core.facts``), attributes each to the county (区县) of the village where the
incident happened, and on a timer flushes the windows that have ended as
one record per (county, window): key = the county's 12-digit code, value = MergeMetrics.
The per-department and per-centre figures travel inside that record (``by_department``,
``by_centre``), so they are partial in the same way and summed the same way.

**Records are partial: consumers must sum them.** Cases are partitioned by region, so a
worker only sees the steps of the partitions it holds, and a county's villages are
spread over several partitions (and so over several workers). Each worker therefore
publishes its own share of a county's window. A consumer sums the counts (``events_in``,
``cases_opened``, ... and the per-network maps, key by key) of every record with the same
``(region_code, window, window_start)`` and recomputes the rates from the summed counts
(``close_rate = cases_closed / cases_opened`` etc., see ``docs/kpis.md``); the rates in one
record are that record's share only and must never be averaged. The same rule covers a
rebalance (one window split between the old and the new holder of a partition) and a
step that arrives after its window was flushed (it goes out in one more partial
record for that window).

Windows live in memory only. On a clean stop, call :meth:`KpiPublisher.drain` and
produce what it returns: the open windows go out early as partial records, and whoever
takes the partitions over publishes the rest of those windows, which the consumer's sum
joins up. What a crashed worker had not flushed is lost: a dip in that minute or hour.
Counting twice needs a window flushed while the engine state of the same inputs was not
yet committed (their replay then repeats the dispositions); otherwise a replayed input is
a no-op for the engine and emits nothing to count again. Whether a close is on time
travels with the case (see ``gridflow.core.facts``), so the worker that closes a case
counts it right even if another worker opened it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson

from gridflow.core.facts import StepFact
from gridflow.core.kpi import DEFAULT_WINDOWS, KpiWindows
from gridflow.core.regions import RegionGraph
from gridflow.runtime.records import OutRecord
from schemas import MergeMetrics
from schemas.common import Tier

__all__ = ["KpiPublisher"]

log = logging.getLogger("gridflow.kpi")

#: Marks a region code not looked up yet (``None`` in the cache means "has no county").
_UNSEEN = ""


class KpiPublisher:
    """Per-county KPI windows (with their department and centre breakdowns) of this worker's
    steps, flushed as ``OutRecord``s."""

    def __init__(
        self,
        regions: RegionGraph,
        topic: str,
        *,
        windows: tuple[tuple[str, int], ...] = DEFAULT_WINDOWS,
        grace_s: float = 2.0,
    ) -> None:
        """``topic``: the full metrics topic name (prefix included)."""
        self.regions = regions
        self.topic = topic
        self.windows = KpiWindows(windows, grace_s=grace_s)
        #: steps that named no region of the tree at or below a county: not counted.
        self.skipped = 0
        self._county: dict[str, str | None] = {}

    def observe(self, facts: Iterable[StepFact]) -> None:
        """Count a batch's steps in the windows of their county."""
        # Runs for every step of every batch: the county cache is read inline and the
        # windows take the whole batch at once (see KpiWindows.observe_batch).
        known = self._county
        counted: list[tuple[StepFact, str]] = []
        for fact in facts:
            county = known.get(fact.region, _UNSEEN)
            if county is _UNSEEN:
                county = self._county_of(fact)
            if county is None:
                self.skipped += 1
                continue
            counted.append((fact, county))
        self.windows.observe_batch(counted)

    def flush(self, now: float) -> list[OutRecord]:
        """Records of every window ended by ``now`` (epoch s, wall clock) minus the grace."""
        return [self._record(metrics) for metrics in self.windows.flush(now)]

    def drain(self) -> list[OutRecord]:
        """Records of every open window, ended or not (for a clean stop or a rebalance)."""
        return [self._record(metrics) for metrics in self.windows.drain()]

    def _record(self, metrics: MergeMetrics) -> OutRecord:
        return OutRecord(
            self.topic, metrics.region_code.encode(), orjson.dumps(metrics.model_dump(mode="json"))
        )

    def _county_of(self, fact: StepFact) -> str | None:
        # The incident's village decides the county, not the centre holding the case: a
        # case escalated to the city centre still counts for the county where it happened.
        code = fact.region
        if code in self._county:
            return self._county[code]
        try:
            county: str | None = self.regions.ancestor(code, Tier.COUNTY)
        except (KeyError, ValueError):
            log.warning("case %s: region %s has no county; not counted", fact.case_id, code)
            county = None
        # Bounded by the size of the region tree (plus the odd unknown code).
        if len(self._county) < 2 * len(self.regions) + 1024:
            self._county[code] = county
        return county
