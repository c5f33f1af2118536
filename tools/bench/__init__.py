"""gridflow's benchmark: the full pipeline against a raw aiokafka loop on the same broker.

Run it with ``gridflow bench`` (``make bench``); ``tools/bench/README.md`` says what each figure
means and what dominates the remaining cost. The pieces:

* :mod:`bench.raw_baseline`: consume → orjson decode → trivial transform → encode → produce,
  with nothing but aiokafka's batch API: the ceiling this broker and this machine allow.
* :mod:`bench.pipeline_bench`: one real ``gridflow worker`` process fed pre-loaded events
  (single-event records and batch records), the ingest → disposition latency at a fixed
  rate, and the pure pipeline without Faust (``core_eps``) to split the cost.
* :mod:`bench.state_bench`: open-case state at 10k / 100k / 1M cases: SLA tick cost,
  memory, bytes per case, rebuild time.
* :mod:`bench.report`: the table and the one-line JSON summary.
"""

from __future__ import annotations

import os
import resource
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Events per batch record (the contract extension): what camera platforms and gateways send.
BATCH_EVENTS = 100


@dataclass(frozen=True, slots=True)
class BenchRecord:
    """One record to pre-load: key, value, explicit partition (None: the producer's choice)."""

    key: bytes | None
    value: bytes
    events: int = 1
    partition: int | None = None


def cores() -> int:
    """CPUs this process may run on (what the figures were measured with)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def rss_bytes() -> int:
    """Resident set size of this process now, from ``/proc/self/statm`` (no psutil)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux: peak RSS is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (all threads), from ``/proc``; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None (None when there are none)."""
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


__all__ = [
    "BATCH_EVENTS",
    "BenchRecord",
    "cores",
    "cpu_seconds",
    "median",
    "percentile",
    "rss_bytes",
]
