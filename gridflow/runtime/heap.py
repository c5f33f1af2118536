"""How the worker's heap is handed to Python's cyclic garbage collector.

A worker's heap is mostly long-lived: rules, regions, the jieba dictionary, Faust's
machinery, the open cases. With the default thresholds a full collection walks all of it
every few seconds under load, 50-190 ms each on a shared core, and those pauses were the
whole p99 of the ingest → disposition latency at 2,000 events/s (the cases themselves are
freed by reference counting; a full collection here reclaims a few hundred objects).

Batches are processed with the collector paused (:func:`batch_collector`). What a batch
leaves alive is mostly state (new cases, their lists, applied ids) plus outputs that
reference counting frees once they are sent; walking it in the young generations cost
~5 µs per event in the pipeline core and 12-23 µs in a worker (tools/bench/README.md). With
``retire=True`` those survivors go straight to the permanent generation instead, which
costs nothing (a list splice). Reference counting still frees them; only reference
cycles among them wait for :func:`sweep`, which a worker runs every
``GRIDFLOW_HEAP_SWEEP_S`` (an hour by default). The pipeline core makes none: a sweep
after 20,000 events through it reclaimed 0 objects; the rest of the worker (asyncio,
the Kafka clients) is what a sweep is for.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("gridflow.heap")

#: Young generations as CPython's defaults: cheap, they only see recent objects.
GEN0_THRESHOLD = 700
GEN1_THRESHOLD = 10
#: Full collections after this many young-generation-1 collections instead of 10: about
#: every ten minutes at 2,000 events/s rather than every few seconds. The reference
#: cycles they reclaim are rare here, so memory does not grow in between.
GEN2_THRESHOLD = 1000
#: Sweeps at least this long are logged at INFO (the worker pauses for them).
SLOW_SWEEP_S = 0.25


def settle_startup_heap() -> None:
    """Collect once, keep what startup built out of later collections, space full ones out.

    Call after the engine and the Faust app are built: everything alive then lives as
    long as the process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)


@contextmanager
def batch_collector(retire: bool = False) -> Iterator[None]:
    """Pause the cyclic collector for one batch; with ``retire``, freeze what survives it.

    A batch allocates containers by the thousand (models, dispositions, out records) that
    live until it ends: the collector would run every 700 of them and walk them again and
    again. Nothing in a batch makes reference cycles that need reclaiming before it ends.
    Without ``retire`` the collector sees the survivors once the batch is over (what a
    library user or a test gets); with it they are never walked until :func:`sweep`.
    """
    if not gc.isenabled():  # someone else manages the collector: leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if retire:
            gc.freeze()
        gc.enable()


def sweep() -> float:
    """Walk the whole heap once for cycles (retired survivors included); seconds taken."""
    started = time.perf_counter()
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    took = time.perf_counter() - started
    # A long sweep is a pause of the whole worker: worth a line for whoever reads p99s.
    log.log(
        logging.INFO if took >= SLOW_SWEEP_S else logging.DEBUG,
        "heap sweep: %d unreachable objects reclaimed in %.3f s",
        found,
        took,
    )
    return took
