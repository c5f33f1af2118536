"""``gridflow chaos``: SIGKILL workers at random under load, then verify every output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from gridflow.commands import checkout_tools

#: ``--quick``: the short run the test suite does (a couple of minutes at most).
QUICK = {
    "events": 2500,
    "kill_every": (5.0, 9.0),
    "min_kills": 2,
    "centres_tail_s": 8.0,
    "quiet_s": 5.0,
    "drain_timeout_s": 45.0,
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``chaos`` subcommand."""
    p = sub.add_parser(
        "chaos",
        help="chaos drill: kill workers at random under load and verify the outputs",
        description="Start the embedded broker (or use GRIDFLOW_KAFKA_BOOTSTRAP), several "
        "workers, the event simulator and simulated centres; SIGKILL a random worker every "
        "few seconds and restart it; then drain, read every output topic and check: every "
        "valid event in exactly one case (an incident reported under two neighbouring "
        "villages too: split across villages 0), one disposition per transition after dropping "
        "duplicates by id, one escalation per (case, tier), no feedback lost, every "
        "malformed record in the DLQ. The last line is one JSON object; exit 0 only when "
        "the checks pass.\n\n" + checkout_tools.HELP_NOTE,
        epilog="examples:\n  gridflow chaos --quick\n  gridflow chaos --events 20000 --workers 3 --kill-every 5 30 --min-kills 10\n  gridflow chaos --kafka --guarantee exactly_once",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--events", type=int, default=None, help="events to produce (default 20000; --quick 2500)"
    )
    p.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    p.add_argument(
        "--kill-every",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=None,
        help="seconds between kills, drawn uniformly (default 5 30)",
    )
    p.add_argument(
        "--min-kills",
        type=int,
        default=None,
        help="kill at least this often, even after the stream ends (default 10)",
    )
    p.add_argument(
        "--sla-scale",
        type=float,
        default=0.0005,
        help="SLA compression, so escalations happen during the run (default 0.0005)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="events/s (default: the stream spread over the kills' time)",
    )
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=None,
        help="give the drain at most this many seconds (default 150)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="worker logs and data dirs (default: a new temp dir)",
    )
    p.add_argument(
        "--quick", action="store_true", help="a short run: 2500 events, 2 kills 5-9 s apart"
    )
    p.add_argument(
        "--kafka",
        action="store_true",
        help="on a 3-node Apache Kafka cluster (replication factor 3, min.insync.replicas 2, "
        "acks=all), SIGKILLing and restarting brokers too (the first: the input's leader)",
    )
    p.add_argument(
        "--broker-kills",
        type=int,
        default=3,
        help="with --kafka: broker SIGKILL+restarts at least (default 3)",
    )
    p.add_argument(
        "--guarantee",
        choices=("at_least_once", "exactly_once"),
        default="at_least_once",
        help="GRIDFLOW_PROCESSING_GUARANTEE of the workers (exactly_once needs --kafka)",
    )
    p.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> Any:
    """The run's ``ChaosConfig``: defaults, then --quick, then explicit options."""
    cfg = checkout_tools.load("chaos.harness").ChaosConfig(
        workers=args.workers,
        sla_scale=args.sla_scale,
        seed=args.seed,
        rate=args.rate,
        partitions=args.partitions,
        workdir=args.workdir,
    )
    if args.quick:
        for name, value in QUICK.items():
            setattr(cfg, name, value)
    if args.kafka:
        cfg.kafka_nodes = 3
        cfg.broker_kills = args.broker_kills
    cfg.guarantee = args.guarantee
    if args.events is not None:
        cfg.events = args.events
    if args.kill_every is not None:
        low, high = args.kill_every
        if low <= 0 or high < low:
            raise SystemExit("--kill-every needs 0 < MIN <= MAX")
        cfg.kill_every = (low, high)
    if args.min_kills is not None:
        cfg.min_kills = args.min_kills
    if args.drain_timeout is not None:
        cfg.drain_timeout_s = args.drain_timeout
    return cfg


def run(args: argparse.Namespace) -> int:
    """Run the drill; print a summary and, last, one JSON line. 0 only when it passes."""
    try:
        harness = checkout_tools.load("chaos.harness")
        checker = checkout_tools.load("chaos.checker")
    except checkout_tools.ToolsMissingError as exc:
        print(f"gridflow: {exc}", file=sys.stderr)
        return 2
    cfg = config_from(args)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = harness.run_chaos(cfg, log=log)
    for line in checker.summary_lines(result.verdict):
        print(line)
    print(f"kills: {len(result.kills)}; drained: {result.drained}; timings: {result.timings}")
    print(f"worker logs: {result.workdir}")
    doc = result.as_dict()
    print(orjson.dumps(doc).decode(), flush=True)
    return 0 if doc["passed"] else 1
