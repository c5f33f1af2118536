"""Write simulated records to a file instead of a broker: a recording to replay offline.

``gridflow simulate --out FILE`` writes one ``grid.events.in`` value per line (an object,
or an array for a batch record), as it would have sent it, malformed records included:
the input ``gridflow rules diff --events`` reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from gridflow.config import Settings
from gridflow.simulator.producer import SimStats, seeded_generator


def record_simulation(
    settings: Settings,
    out: Path,
    count: int,
    seed: int,
    duplicate_rate: float = 0.1,
    malformed_rate: float = 0.01,
    batch_size: int = 1,
    *,
    clock: Callable[[], datetime] | None = None,
    boundary_rate: float = 0.0,
) -> SimStats:
    """Write the records holding the first ``count`` events of the seeded stream to ``out``."""
    generator = seeded_generator(
        settings,
        seed,
        duplicate_rate,
        malformed_rate,
        batch_size,
        clock=clock,
        boundary_rate=boundary_rate,
    )
    stats = SimStats(topic=str(out), seed=seed)
    began = time.monotonic()
    with out.open("wb") as sink:
        # A value never holds a raw newline (JSON escapes it; GB18030 bytes are >= 0x30
        # after the first), so one line per record round-trips.
        for record in generator.records(count):
            sink.write(record.value + b"\n")
            stats.count(record)
    stats.elapsed_s = time.monotonic() - began
    return stats
