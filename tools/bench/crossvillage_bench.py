"""What the cross-village stage (跨村合并) costs: the core alone, no Faust, no broker.

``python -m tools.bench.crossvillage_bench [N]`` runs N simulator events (with boundary
reports) through :class:`gridflow.runtime.pipeline.Pipeline` and then the commands they
produced (the town stage's announcements, absorbs and joins) until none are left, and
prints one JSON object:

* ``first_stage_us_per_event``: the first stage, announcements included;
* ``first_stage_no_announce_us_per_event``: the same with the announcement switched off
  (interleaved A/B pairs in one process; the difference is what the first stage pays);
* ``second_stage_us_per_announcement`` and ``second_stage_us_per_event``: the town stage
  and the absorb/join steps, per announcement and spread over the input events;
* ``announcements``, ``absorbed``: how many cases were announced and merged.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson

from gridflow.config import Settings
from gridflow.core.ingest import IngestLimits
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.pipeline import CMD_ABSORB, CMD_TOWN_CASE, Pipeline
from gridflow.runtime.records import InRecord
from gridflow.topics import TopicNames

PARTITIONS = 4
BATCH = 500


def make_events(n: int, seed: int = 1, boundary_rate: float = 0.05) -> list[tuple[bytes, str]]:
    """``n`` simulator events with boundary reports: (value, region_code)."""
    from gridflow.simulator.events import generate

    out = []
    for rec in generate(
        n, seed, duplicate_rate=0.1, malformed_rate=0.0, boundary_rate=boundary_rate
    ):
        if rec.events == 1:
            out.append((rec.value, str(orjson.loads(rec.value)["region_code"])))
    return out


def _pipeline(table: dict[str, bytes]) -> Pipeline:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", partitions=PARTITIONS)
    return Pipeline(
        engine=load_engine(settings),
        topics=TopicNames.prefixed(),
        partitions=PARTITIONS,
        limits=IngestLimits(),
        metrics=Metrics(),
        read_state=table.get,
        scan_partition=lambda p: {},
    )


def _store(table: dict[str, bytes], writes: dict[int, dict[str, bytes | None]]) -> None:
    for rows in writes.values():
        for key, value in rows.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value


def run(events: Sequence[tuple[bytes, str]], announce: bool = True) -> dict[str, Any]:
    """Both stages on ``events``; CPU seconds of each and what they did."""
    table: dict[str, bytes] = {}
    pipeline = _pipeline(table)
    if not announce:
        pipeline._announce = lambda *args: None  # type: ignore[method-assign]
    topics = pipeline.topics
    now = time.time()
    records = [
        InRecord(
            topics.events_in,
            partition_for(region, PARTITIONS),
            i,
            round(now + i / 10_000, 3),
            region.encode(),
            value,
        )
        for i, (value, region) in enumerate(events)
    ]
    commands: list[InRecord] = []
    cpu = time.process_time()
    for i in range(0, len(records), BATCH):
        result = pipeline.process(records[i : i + BATCH], now)
        _store(table, result.writes)
        commands += [
            InRecord(
                topics.commands, partition_for(o.key.decode(), PARTITIONS), 0, now, o.key, o.value
            )
            for o in result.outputs
            if o.topic == topics.commands and o.key
        ]
    first = time.process_time() - cpu
    kinds = [orjson.loads(c.value or b"")["k"] for c in commands]
    cpu = time.process_time()
    handled = 0
    absorbed = 0
    while commands:
        pending, commands = commands, []
        for i in range(0, len(pending), BATCH):
            result = pipeline.process(pending[i : i + BATCH], now)
            handled += len(pending[i : i + BATCH])
            _store(table, result.writes)
            for o in result.outputs:
                if o.topic == topics.commands and o.key:
                    if orjson.loads(o.value)["k"] == CMD_ABSORB:
                        absorbed += 1
                    commands.append(
                        InRecord(
                            topics.commands,
                            partition_for(o.key.decode(), PARTITIONS),
                            0,
                            now,
                            o.key,
                            o.value,
                        )
                    )
    second = time.process_time() - cpu
    return {
        "first_s": first,
        "second_s": second,
        "announcements": kinds.count(CMD_TOWN_CASE),
        "absorbed": absorbed,
        "commands": handled,
    }


def measure(n: int = 20_000, pairs: int = 3) -> dict[str, Any]:
    """Interleaved A/B pairs (with and without announcements); medians."""
    events = make_events(n)
    with_, without = [], []
    last: dict[str, Any] = {}
    for _ in range(pairs):
        last = run(events)
        with_.append(last)
        without.append(run(events, announce=False))
    n_events = len(events)

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    announcements = max(1, last["announcements"])
    return {
        "events": n_events,
        "first_stage_us_per_event": median([r["first_s"] for r in with_]) / n_events * 1e6,
        "first_stage_no_announce_us_per_event": median([r["first_s"] for r in without])
        / n_events
        * 1e6,
        "second_stage_us_per_announcement": median([r["second_s"] for r in with_])
        / announcements
        * 1e6,
        "second_stage_us_per_event": median([r["second_s"] for r in with_]) / n_events * 1e6,
        "announcements": last["announcements"],
        "absorbed": last["absorbed"],
    }


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 20_000
    print(orjson.dumps(measure(n)).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
