"""The pure pipeline on a seeded, clocked stream: every output, for comparing two trees.

An optimisation of the core must not change a decision. This runs the same stream —
the simulator's seeded events (duplicates and malformed records included) on a stepped
clock, with an SLA tick per partition after every batch so warnings, breaches and
escalations happen — through :class:`gridflow.runtime.pipeline.Pipeline` with no broker,
reading back what it writes to the commands topic (the town stage of merges across
village lines, re-keyed records) in the next batch as a worker would, and writes every
output record (topic, partition, key, value) and every state row write,
one line each, in order. Nothing in it reads the wall clock, so two runs of one tree
give the same bytes, and two trees that decide alike give the same bytes::

    python -m tools.bench.core_replay --events 20000 --out /tmp/after.txt
    PYTHONPATH=/path/to/old/tree python tools/bench/core_replay.py --out /tmp/before.txt
    cmp /tmp/before.txt /tmp/after.txt

(run as a file with ``PYTHONPATH`` naming another checkout, it replays that checkout's
code). ``--profile`` prints a cProfile of the replay instead of timing it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pstats
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import IO, Any

import orjson

#: Where the stream's clock starts: a Friday morning before a holiday week, so the
#: working-time calendar's weekends, make-up days and holidays all come up.
START = datetime(2026, 9, 25, 8, 0, tzinfo=timezone(timedelta(hours=8)))
_RECEIVED_AT = re.compile(rb'"at":"[^"]*"')


def _clock(start: datetime, step: float) -> Iterator[datetime]:
    at = start
    while True:
        yield at
        at += timedelta(seconds=step)


def replay(
    events: int,
    *,
    seed: int = 7,
    step: float = 30.0,
    batch: int = 500,
    partitions: int = 4,
    out: IO[str] | None = None,
    commands: bool = True,
) -> dict[str, Any]:
    """Replay ``events`` simulator events; returns counts, a SHA-256 of the output and timing.

    ``step``: seconds of stream clock between two reports (20,000 × 30 s ≈ a week).
    ``commands``: read the commands the pipeline writes back in the next batch (after
    the last batch, until none are left), stamped with that batch's clock.
    """
    from gridflow.runtime.partitioning import partition_for
    from gridflow.runtime.records import InRecord
    from gridflow.simulator.events import EventGenerator
    from tools.bench.offline_pipeline import offline_pipeline

    ticks = _clock(START, step)
    current = [START]

    def clock() -> datetime:
        current[0] = next(ticks)
        return current[0]

    generator = EventGenerator(seed, clock=clock)
    pipeline, table = offline_pipeline(partitions)
    topics = pipeline.topics
    records: list[InRecord] = []
    offsets = [0] * partitions
    for sim in generator.records(events):
        ts = current[0].timestamp()
        key = sim.key
        partition = partition_for(key.decode(), partitions) if key else 0
        records.append(
            InRecord(topics.events_in, partition, offsets[partition], ts, key, sim.value)
        )
        offsets[partition] += 1
    digest = hashlib.sha256()
    outputs = writes = read_back = 0
    #: commands written by the last batch, read with the next one
    pending: list[InRecord] = []
    command_offsets = [0] * partitions
    started = time.perf_counter()
    cpu_started = time.process_time()
    i = 0
    while i < len(records) or pending:
        chunk = records[i : i + batch]
        i += batch
        now = chunk[-1].timestamp if chunk else current[0].timestamp()
        tick = orjson.dumps({"k": "tick"})
        chunk = (
            pending
            + chunk
            + [InRecord(topics.commands, p, -1, now, None, tick) for p in range(partitions)]
        )
        read_back += len(pending)
        pending = []
        result = pipeline.process(chunk, now)
        lines: list[str] = []
        for rec in result.outputs:
            key_text = rec.key.decode() if rec.key is not None else "-"
            value = rec.value
            if rec.topic == topics.dlq:
                # A rejection's ``at`` is when it was written (the wall clock), not a decision.
                value = _RECEIVED_AT.sub(b'"at":"-"', value)
            lines.append(f"out {rec.topic} {rec.partition} {key_text} {value.decode()}\n")
            if commands and rec.topic == topics.commands and rec.key is not None:
                home = partition_for(rec.key.decode(), partitions)
                pending.append(
                    InRecord(topics.commands, home, command_offsets[home], now, rec.key, rec.value)
                )
                command_offsets[home] += 1
        outputs += len(result.outputs)
        for partition in sorted(result.writes):
            rows = result.writes[partition]
            for region in sorted(rows):
                row = rows[region]
                if row is None:
                    table.pop(region, None)
                else:
                    table[region] = row
                text = "-" if row is None else row.decode()
                lines.append(f"row {partition} {region} {text}\n")
                writes += 1
        text = "".join(lines)
        digest.update(text.encode())
        if out is not None:
            out.write(text)
    cpu = time.process_time() - cpu_started
    elapsed = time.perf_counter() - started
    return {
        "events": events,
        "records": len(records),
        "commands_read": read_back,
        "outputs": outputs,
        "writes": writes,
        "sha256": digest.hexdigest(),
        "seconds": elapsed,
        "cpu_us_per_record": cpu / len(records) * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="example: python -m tools.bench.core_replay --events 20000 --out after.txt",
    )
    parser.add_argument("--events", type=int, default=20_000, help="events (default 20,000)")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    parser.add_argument("--step", type=float, default=30.0, help="clock seconds per report")
    parser.add_argument("--out", help="write every output line to this file")
    parser.add_argument("--profile", action="store_true", help="print a cProfile (top 40)")
    parser.add_argument(
        "--no-commands",
        action="store_true",
        help="do not read back the commands the pipeline writes (the town stage, re-keyed "
        "records): the replay before they were read",
    )
    args = parser.parse_args(argv)
    commands = not args.no_commands
    gc.collect()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        summary = replay(args.events, seed=args.seed, step=args.step, commands=commands)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    elif args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            summary = replay(
                args.events, seed=args.seed, step=args.step, out=out, commands=commands
            )
    else:
        summary = replay(args.events, seed=args.seed, step=args.step, commands=commands)
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
