"""How the worker's heap is handed to Python's cyclic garbage collector.

A worker's heap is mostly long-lived: rules, regions, the jieba dictionary, Faust's
machinery, the open cases. With the default thresholds a full collection walks all of it
every few seconds under load, 50-190 ms each on a shared core, and those pauses were the
whole p99 of the ingest → disposition latency at 2,000 events/s (the cases themselves are
freed by reference counting; a full collection here reclaims a few hundred objects).
"""

from __future__ import annotations

import gc

#: Young generations as CPython's defaults: cheap, they only see recent objects.
GEN0_THRESHOLD = 700
GEN1_THRESHOLD = 10
#: Full collections after this many young-generation-1 collections instead of 10: about
#: every ten minutes at 2,000 events/s rather than every few seconds. The reference
#: cycles they reclaim are rare here, so memory does not grow in between.
GEN2_THRESHOLD = 1000


def settle_startup_heap() -> None:
    """Collect once, keep what startup built out of later collections, space full ones out.

    Call after the engine and the Faust app are built: everything alive then lives as
    long as the process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
