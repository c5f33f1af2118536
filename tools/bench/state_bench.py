"""Open-case state at scale, pure (no broker): SLA tick cost, memory, bytes, rebuild time.

Cases are real: a few hundred prototypes come out of the core engine applying simulator
events, then each open case is a copy of one with its own id, its own first event (and the
``seen_events`` entry that goes with it), placed round-robin over the 11 270 real villages
of the bundled Chongqing tree, with its holder at the prototype's tier. ``due`` × 5 of them
fall due in five groups ten seconds apart (one per measured tick); the rest are due over
the next day.

Figures per size (10k, 100k, optionally 1M open cases):

* ``tick_ms``: median of 5 SLA ticks with ``due`` cases due each, as the pipeline does it
  (:meth:`DueIndex.pop_due`, then :meth:`Engine.apply_tick` per due case, re-push). It must
  not grow with the number of open cases. ``tick_empty_us``: a tick with nothing due.
  ``scan_ms``: what an O(open) tick would cost (every case's ``next_due`` checked), for scale.
* ``rss_mb`` / ``mem_bytes_per_case``: resident memory of the recovered state (rebuilt from
  the serialised rows, as a restarted worker holds it), from ``/proc/self/statm``.
* ``bytes_per_case``: serialised :meth:`RegionState.to_bytes` total / open cases: what the
  changelog and the table store hold.
* ``rebuild_s``: every row parsed back (``RegionState.from_bytes``) and the due index rebuilt,
  the CPU part of changelog recovery (the broker's fetch time comes on top).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from collections.abc import Sequence
from typing import Any, cast

from gridflow.config import Settings
from gridflow.core.case import Case
from gridflow.core.due_index import DueIndex
from gridflow.core.engine import Engine
from gridflow.core.ids import case_id_for
from gridflow.core.region_state import RegionState, sla_state
from gridflow.reference import load_engine
from gridflow.topics import DISPOSITIONS
from schemas.common import Tier
from tools.bench import rss_bytes

DEFAULT_SIZES = (10_000, 100_000)
LARGE = 1_000_000
#: Ticks measured per size (the median is reported), each with ``due`` cases due, and the
#: seconds between their due times.
TICKS = 5
TICK_GAP = 10.0


def prototypes(engine: Engine, count: int = 400, seed: int = 11) -> list[Case]:
    """Open cases produced by the engine from simulator events (different categories, tiers)."""
    from gridflow.core.ingest import IngestLimits, decode_events
    from gridflow.simulator.events import generate

    villages = frozenset(r.code for r in engine.regions.by_tier(Tier.VILLAGE))
    now = time.time()
    states: dict[str, RegionState] = {}
    out: list[Case] = []
    from datetime import UTC, datetime

    for rec in generate(count, seed, duplicate_rate=0.0, malformed_rate=0.0):
        events, _ = decode_events(
            rec.value,
            known_region=villages,
            known_network=engine.catalogue.networks,
            now=datetime.fromtimestamp(now, UTC),
            limits=IngestLimits(),
        )
        for event in events:
            state = states.setdefault(event.region_code, RegionState(region=event.region_code))
            engine.apply_event(state, event, now)
    for state in states.values():
        out.extend(c for c in state.cases.values() if c.is_open)
    if not out:
        raise RuntimeError("the engine opened no case from simulator events")
    return out


def build(
    engine: Engine, protos: Sequence[Case], n: int, due: int, now: float
) -> dict[str, RegionState]:
    """``n`` open cases over the real villages; ``due`` of them due at ``now``."""
    villages = [r.code for r in engine.regions.by_tier(Tier.VILLAGE)]
    holders: dict[tuple[str, str], str] = {}
    states: dict[str, RegionState] = {}
    retention = engine.retention_s
    nv = len(villages)
    step = max(1, n // max(1, due * TICKS)) if due else 0
    for i in range(n):
        proto = protos[i % len(protos)]
        region = villages[i % nv]
        holder = holders.get((region, proto.tier))
        if holder is None:
            holder = holders[(region, proto.tier)] = engine.regions.ancestor(
                region, Tier(proto.tier)
            )
        eid = f"BENCH-{i:08d}"
        cid = case_id_for(region, eid)
        if step and i % step == 0 and i // step < due * TICKS:
            # Tick group g (0..TICKS-1) has its warning due at now + g * TICK_GAP.
            warn_at = now - 1.0 + (i // step) % TICKS * TICK_GAP
            deadline = now + 3600.0
        else:
            warn_at = now + 3600.0 + (i % 86_400)
            deadline = warn_at + 1800.0
        case = dataclasses.replace(
            proto,
            id=cid,
            region=region,
            holder=holder,
            opened_at=now,
            events=[eid],
            networks=list(proto.networks),
            event_networks=list(proto.networks[:1]),
            escalated=[],
            deadline=deadline,
            warn_at=warn_at,
            warned=False,
            breached=False,
        )
        state = states.get(region)
        if state is None:
            state = states[region] = RegionState(region=region)
        state.cases[cid] = case
        state.seen_events[eid] = (cid, now + retention)
    return states


def due_index(states: dict[str, RegionState]) -> DueIndex:
    """The SLA heap over every case, as ``Pipeline._due_index`` builds it after a rebalance."""
    index = DueIndex()
    for region, state in states.items():
        for case in state.cases.values():
            due = case.next_due()
            if due is not None:
                index.push(due, (region, case.id))
    return index


def tick(engine: Engine, states: dict[str, RegionState], index: DueIndex, now: float) -> int:
    """One SLA tick the way the pipeline runs it; returns the dispositions it produced."""
    produced = 0
    for key in index.pop_due(now):
        region, case_id = cast(tuple[str, str], key)
        outcome = engine.apply_tick(states[region], case_id, now)
        produced += len(outcome.dispositions)
        for due, cid in outcome.due:
            index.push(due, (region, cid))
    return produced


def _phase_build(n: int, due: int, path: str, settings: Settings | None) -> dict[str, Any]:
    """Child process 1: build ``n`` cases, serialise the rows to ``path``."""
    import pickle

    engine = load_engine(settings or Settings())
    protos = prototypes(engine)
    gc.collect()
    base = rss_bytes()
    now = time.time()
    t0 = time.perf_counter()
    states = build(engine, protos, n, due, now)
    build_s = time.perf_counter() - t0
    gc.collect()
    built = max(0, rss_bytes() - base)
    t0 = time.perf_counter()
    rows = {region: state.to_bytes() for region, state in states.items()}
    serialise_s = time.perf_counter() - t0
    with open(path, "wb") as handle:
        pickle.dump(rows, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "now": now,
        "regions": len(rows),
        "build_s": build_s,
        "serialise_s": serialise_s,
        "total_bytes": sum(len(v) for v in rows.values()),
        "built_mb": built / 2**20,
    }


def _phase_recover(path: str, now: float, settings: Settings | None) -> dict[str, Any]:
    """Child process 2: parse the rows back, rebuild the heap, run the ticks."""
    import pickle

    engine = load_engine(settings or Settings())
    with open(path, "rb") as handle:
        rows = pickle.load(handle)
    gc.collect()
    base = rss_bytes()
    t0 = time.perf_counter()
    states = {region: RegionState.from_bytes(raw) for region, raw in rows.items()}
    index = due_index(states)
    rebuild_s = time.perf_counter() - t0
    gc.collect()
    held = max(0, rss_bytes() - base)
    t0 = time.perf_counter()
    scanned = sum(
        1
        for s in states.values()
        for c in s.cases.values()
        if (d := c.next_due()) is not None and d <= now
    )
    scan_s = time.perf_counter() - t0
    ticks: list[float] = []
    produced = 0
    for g in range(TICKS):
        at = now + g * TICK_GAP
        t0 = time.perf_counter()
        produced += tick(engine, states, index, at)
        ticks.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    empty = tick(engine, states, index, now + (TICKS - 1) * TICK_GAP)
    tick_empty_s = time.perf_counter() - t0
    tick_s = statistics.median(ticks)
    gauge = _gauge_costs(states)
    return {
        **gauge,
        "due": scanned,
        "tick_dispositions": (produced + empty) / TICKS,
        "tick_ms": tick_s * 1000,
        "tick_max_ms": max(ticks) * 1000,
        "tick_empty_us": tick_empty_s * 1e6,
        "scan_ms": scan_s * 1000,
        "rebuild_s": rebuild_s,
        "rss_mb": held / 2**20,
        "heap_entries": len(index),
    }


def _gauge_costs(states: dict[str, RegionState]) -> dict[str, float]:
    """The open-case gauge as the worker reads it every 2 s, against walking every case.

    ``gauge_ms``: after a batch that changed 100 regions (their tallies recounted, the
    rest summed as remembered); ``gauge_first_ms``: the first read after recovery, which
    counts every region; ``gauge_walk_ms``: what a walk over every open case costs.
    """

    def read() -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for state in states.values():
            for key, count in state.open_tally().items():
                counts[key] = counts.get(key, 0) + count
        return counts

    t0 = time.perf_counter()
    first = read()
    first_s = time.perf_counter() - t0
    for state in list(states.values())[:100]:
        state.forget_tally()
    t0 = time.perf_counter()
    again = read()
    steady_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    walked: dict[tuple[str, str], int] = {}
    for state in states.values():
        for case in state.cases.values():
            if case.is_open:
                key = (case.tier, sla_state(case))
                walked[key] = walked.get(key, 0) + 1
    walk_s = time.perf_counter() - t0
    if not first == again == walked:
        raise AssertionError(f"gauge tallies disagree: {first} / {again} / {walked}")
    return {
        "gauge_ms": steady_s * 1000,
        "gauge_first_ms": first_s * 1000,
        "gauge_walk_ms": walk_s * 1000,
    }


def measure(n: int, due: int = 100, settings: Settings | None = None) -> dict[str, Any]:
    """Every figure for ``n`` open cases, each phase in a fresh process (clean RSS)."""
    import multiprocessing
    import os
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    fd, path = tempfile.mkstemp(prefix="gridflow-state-", suffix=".pickle")
    os.close(fd)
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            built = pool.submit(_phase_build, n, due, path, settings).result()
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            recovered = pool.submit(_phase_recover, path, built["now"], settings).result()
    finally:
        os.unlink(path)
    rebuild_s = recovered["rebuild_s"]
    return {
        "cases": n,
        "regions": built["regions"],
        "due": recovered["due"],
        "tick_dispositions": recovered["tick_dispositions"],
        "tick_ms": recovered["tick_ms"],
        "tick_max_ms": recovered["tick_max_ms"],
        "tick_empty_us": recovered["tick_empty_us"],
        "scan_ms": recovered["scan_ms"],
        "gauge_ms": recovered["gauge_ms"],
        "gauge_first_ms": recovered["gauge_first_ms"],
        "gauge_walk_ms": recovered["gauge_walk_ms"],
        "build_s": built["build_s"],
        "serialise_s": built["serialise_s"],
        "bytes_per_case": built["total_bytes"] / n,
        "state_mb": built["total_bytes"] / 2**20,
        "rebuild_s": rebuild_s,
        "rebuild_cases_per_s": n / rebuild_s if rebuild_s > 0 else None,
        "rss_mb": recovered["rss_mb"],
        "mem_bytes_per_case": recovered["rss_mb"] * 2**20 / n,
        "built_mem_bytes_per_case": built["built_mb"] * 2**20 / n,
    }


def run_state(
    sizes: Sequence[int] = DEFAULT_SIZES, due: int = 100, settings: Settings | None = None
) -> dict[str, Any]:
    """Figures for each size (each in fresh processes)."""
    return {"sizes": {str(n): measure(n, due, settings) for n in sizes}}


__all__ = [
    "DEFAULT_SIZES",
    "LARGE",
    "build",
    "due_index",
    "measure",
    "prototypes",
    "run_state",
    "tick",
]


# ------------------------------------------------------------- real recovery
def run_recovery(bootstrap: str, tmp: Any, n: int = 100_000, due: int = 100) -> dict[str, Any]:
    """A worker's changelog recovery of ``n`` open cases, end to end on the broker.

    The rows are written straight into a fresh deployment's ``cases`` changelog (key: the
    region, partition: the region's), then a worker is started; ``recovery_s`` is its time
    to ``/readyz`` minus that of a worker of an empty deployment. ``due`` cases are due
    now, so the first SLA tick after recovery must warn exactly those: ``recovered_due``
    checks that the recovered table is complete (this broker answers end offsets wrongly
    across batches, docs/PITFALLS.md), and so does ``recovered_cases``, the worker's open-case
    gauge after the first tick loaded every row.
    """
    import asyncio
    from pathlib import Path

    from gridflow.runtime.partitioning import partition_for
    from tools.bench import BenchRecord
    from tools.bench.pipeline_bench import Deployment, Worker, read_dispositions_actions, wait_until
    from tools.bench.raw_baseline import preload

    engine = load_engine(Settings())
    protos = prototypes(engine)
    now = time.time() + 5.0  # due cases fall due just after the worker is up
    states = build(engine, protos, n, due, now)
    # only the first tick group is due at `now`; push the others' warnings out of reach
    for state in states.values():
        for case in state.cases.values():
            if case.warn_at is not None and now - 1.0 < case.warn_at < now + TICKS * TICK_GAP:
                case.warn_at = now + 86_400.0
    rows = [
        BenchRecord(region.encode(), state.to_bytes(), len(state.cases), partition_for(region, 4))
        for region, state in states.items()
    ]
    del states
    tmp = Path(tmp)

    def time_to_ready(dep: Deployment) -> tuple[float, Worker]:
        worker = Worker(dep)
        started = time.monotonic()
        worker.start()
        wait_until(worker.ready, 180, "worker ready", interval=0.1)
        return time.monotonic() - started, worker

    empty = Deployment(bootstrap, tmp)
    empty.create_topics()
    empty_s, worker = time_to_ready(empty)
    worker.stop()

    dep = Deployment(bootstrap, tmp)
    dep.create_topics()
    changelog = f"{dep.prefix}gridflow-cases-changelog"
    load_s = asyncio.run(preload(bootstrap, changelog, rows, 4))
    ready_s, worker = time_to_ready(dep)
    try:
        warned = asyncio.run(
            read_dispositions_actions(
                bootstrap, dep.topic(DISPOSITIONS), "sla_warning", due, timeout=30
            )
        )
        worker.check()
        # The open-case gauge counts the cases the worker holds (refreshed every 5 s).
        time.sleep(5.5)
        held = worker.metric("gridflow_open_cases")
    finally:
        worker.stop()
    return {
        "recovery_cases": n,
        "recovery_rows": len(rows),
        "recovery_mb": sum(len(r.value) for r in rows) / 2**20,
        "recovery_load_s": load_s,
        "ready_empty_s": empty_s,
        "ready_loaded_s": ready_s,
        "recovery_s": max(0.0, ready_s - empty_s),
        "recovered_due": warned,
        "expected_due": due,
        "recovered_cases": held,
    }
