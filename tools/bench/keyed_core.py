"""The pure part of a worker's keyed-batch path: CPU per event, the town stage included.

``core_eps`` (tools/bench/pipeline_bench.py) times single-event records and leaves the
commands the pipeline writes unread. A worker fed the bench's ``batch_keyed`` records
(arrays of 100 events of one home partition) does more per event: every case opened with
coordinates is announced to its town's row on the commands topic, read back and decided
there (跨村合并, gridflow/core/crossvillage.py), and that row is rewritten. This drives
:class:`gridflow.runtime.pipeline.Pipeline` exactly so, with no Faust and no broker:
records of 100 events, ``--records`` of them per batch (as the reader fetches them), each
batch's commands read with the next one, state rows applied to a dict as the table would.

``--form single`` feeds the same events as single-event records instead, on the
partitions their keys hash to (3 % keyed badly, as the simulator keys them, and re-keyed
through the commands topic), ``--records`` of them per batch (default 1,000): the
bench's ``single`` input without Faust.

Each ``--repeat`` runs the whole stream through a fresh pipeline (the engine is loaded
once) and the summary is the median and minimum of the runs' CPU per event; on a shared
machine compare two trees in interleaved pairs::

    python -m tools.bench.keyed_core --events 20000 --repeat 3
    PYTHONPATH=/path/to/other/tree python tools/bench/keyed_core.py --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import Any

import orjson


def run(
    events: int, *, repeat: int = 1, records_per_batch: int = 10, form: str = "batch_keyed"
) -> dict[str, Any]:
    """``events`` simulator events as ``form`` records (``batch_keyed`` or ``single``),
    ``repeat`` times; CPU figures."""
    from gridflow.config import Settings
    from gridflow.core.ingest import IngestLimits
    from gridflow.metrics import Metrics
    from gridflow.reference import load_engine
    from gridflow.runtime.heap import settle_startup_heap
    from gridflow.runtime.partitioning import partition_for
    from gridflow.runtime.pipeline import Pipeline
    from gridflow.runtime.records import InRecord
    from gridflow.topics import TopicNames
    from tools.bench.pipeline_bench import as_form, make_records

    partitions = 4
    forms = as_form(make_records(events), form, partitions)
    settings = Settings(kafka_bootstrap="127.0.0.1:1", partitions=partitions, sla_scale=1.0)
    engine = load_engine(settings)
    topics = TopicNames.prefixed(settings.topic_prefix)
    limits = IngestLimits(
        max_record_bytes=settings.max_record_bytes, max_batch=settings.max_batch_events
    )
    settle_startup_heap()
    samples: list[float] = []
    outputs = commands = 0
    for _ in range(repeat):
        table: dict[str, bytes] = {}
        pipeline = Pipeline(
            engine=engine,
            topics=topics,
            partitions=partitions,
            limits=limits,
            metrics=Metrics(),
            read_state=table.get,
            scan_partition=lambda p: {},
            retire_survivors=True,
        )
        # Record timestamps as a live stream of 10,000 events/s stamps them.
        start = time.time()
        offsets = [0] * partitions
        records: list[InRecord] = []
        # Single-event records go where a keyed producer puts them.
        per_record = 1 if form == "single" else 100
        for i, rec in enumerate(forms):
            if rec.partition is not None:
                p = rec.partition
            else:
                p = partition_for(rec.key.decode(), partitions) if rec.key else 0
            stamp = round(start + i * per_record / 10_000, 3)
            records.append(InRecord(topics.events_in, p, offsets[p], stamp, rec.key, rec.value))
            offsets[p] += 1
        command_offsets = [0] * partitions
        pending: list[InRecord] = []
        outputs = commands = 0
        i = 0
        cpu = time.process_time()
        while i < len(records) or pending:
            batch = pending + records[i : i + records_per_batch]
            i += records_per_batch
            pending = []
            now = time.time()
            result = pipeline.process(batch, now)
            outputs += len(result.outputs)
            for out in result.outputs:
                if out.topic == topics.commands and out.key is not None:
                    home = partition_for(out.key.decode(), partitions)
                    pending.append(
                        InRecord(
                            topics.commands, home, command_offsets[home], now, out.key, out.value
                        )
                    )
                    command_offsets[home] += 1
                    commands += 1
            for rows in result.writes.values():
                for key, value in rows.items():
                    if value is None:
                        table.pop(key, None)
                    else:
                        table[key] = value
        samples.append((time.process_time() - cpu) / events * 1e6)
        # What this run left alive is the next run's old heap, as in a worker.
        gc.collect()
        gc.freeze()
    gc.unfreeze()
    return {
        "form": form,
        "events": events,
        "outputs": outputs,
        "commands_read": commands,
        "cpu_us_per_event": round(statistics.median(samples), 1),
        "cpu_us_per_event_min": round(min(samples), 1),
        "samples": [round(s, 1) for s in samples],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="example: python -m tools.bench.keyed_core --events 20000 --repeat 3",
    )
    parser.add_argument("--events", type=int, default=20_000, help="events (default 20,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    parser.add_argument(
        "--form",
        choices=("batch_keyed", "single"),
        default="batch_keyed",
        help="records of 100 events of one home partition (default), or one event each",
    )
    parser.add_argument(
        "--records",
        type=int,
        default=None,
        help="records per batch (default 10 of 100 events; 1,000 single-event records)",
    )
    args = parser.parse_args(argv)
    records = args.records if args.records is not None else (1000 if args.form == "single" else 10)
    if args.events < 1 or args.repeat < 1 or records < 1:
        print("keyed_core: --events, --repeat and --records must be at least 1", file=sys.stderr)
        return 2
    summary = run(args.events, repeat=args.repeat, records_per_batch=records, form=args.form)
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
