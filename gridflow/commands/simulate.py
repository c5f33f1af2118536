"""``gridflow simulate``: send simulated field reports, optionally answer as command centres."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
from aiokafka.errors import KafkaConnectionError, KafkaError

from gridflow.config import Settings, load_settings

DESCRIPTION = """\
Produce simulated grid events to grid.events.in: realistic Chinese reports from the seven
networks (综治, 城管, 公安, 应急, 环保, 市场监管, 雪亮 camera AI) in real Chongqing villages,
with a share of repeated reports (the same incident from another network minutes later,
or an exact retry) and of malformed records that the processor must send to the DLQ.
With --centres it also plays the command centres: it reads grid.dispositions and answers
on grid.feedback (accept, resolve, verify, close; sometimes ignore, return, escalate,
extend or fail verification).

The broker comes from GRIDFLOW_KAFKA_BOOTSTRAP (start one with `gridflow broker`), the
topic prefix from GRIDFLOW_TOPIC_PREFIX. The same --seed gives the same events."""

EPILOG = """\
examples:
  gridflow simulate --rate 200 --duration 30
  gridflow simulate --count 10000 --rate 0 --batch-size 200    as fast as possible
  gridflow simulate --rate 50 --duplicate-rate 0.3 --centres   with simulated centres
  gridflow simulate --count 1000 --seed 7 --json > run.json    reproducible, JSON summary
  gridflow simulate --count 5000 --seed 7 --out events.jsonl   to a file, no broker
                                  (replay it with `gridflow rules diff --events`)

  gridflow broker --port 9092 &                                a broker to send to
  export GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` subcommand."""
    p = sub.add_parser(
        "simulate",
        help="send simulated grid events (and play the command centres)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--rate",
        type=float,
        default=100.0,
        metavar="N",
        help="events per second; 0 for as fast as possible (default 100)",
    )
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds",
    )
    p.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="stop after N events (without --duration or --count: until Ctrl-C)",
    )
    p.add_argument(
        "--seed",
        type=int,
        help="random seed (default: a new one, printed on stderr)",
    )
    p.add_argument(
        "--duplicate-rate",
        type=float,
        default=0.1,
        metavar="P",
        help="share of events that repeat an incident: another network's report or a "
        "retry of the same event_id (default 0.1)",
    )
    p.add_argument(
        "--boundary-rate",
        type=float,
        default=0.02,
        metavar="P",
        help="share of events that report a recent incident again under a neighbouring "
        "village of its town (村界, merged across the village line; default 0.02)",
    )
    p.add_argument(
        "--malformed-rate",
        type=float,
        default=0.01,
        metavar="P",
        help="share of records the processor must reject to the DLQ (default 0.01)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=1,
        metavar="N",
        help="pack N valid events into one record holding a JSON array (default 1)",
    )
    p.add_argument(
        "--centres",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also run simulated command centres answering grid.dispositions (default: no)",
    )
    p.add_argument(
        "--centre-delay",
        type=float,
        nargs=2,
        default=(0.5, 3.0),
        metavar=("LOW", "HIGH"),
        help="seconds between two steps of a case at a simulated centre (default 0.5 3)",
    )
    p.add_argument(
        "--centres-linger",
        type=float,
        metavar="S",
        help="with --centres: keep answering S seconds after the last event "
        "(default: until Ctrl-C)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the records to FILE (one value per line) instead of the broker; "
        "needs --count, ignores --rate",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why the arguments cannot work, or None."""
    for name in ("duplicate_rate", "malformed_rate", "boundary_rate"):
        value = getattr(args, name)
        if not 0.0 <= value <= 1.0:
            return f"--{name.replace('_', '-')} must be between 0 and 1, not {value}"
    if args.duplicate_rate + args.malformed_rate + args.boundary_rate > 1.0:
        return "--duplicate-rate, --malformed-rate and --boundary-rate add up to more than 1"
    if not 1 <= args.batch_size <= settings.max_batch_events:
        return f"--batch-size must be between 1 and {settings.max_batch_events} (GRIDFLOW_MAX_BATCH_EVENTS)"
    if args.count is not None and args.count < 0:
        return "--count must not be negative"
    if args.duration is not None and args.duration <= 0:
        return "--duration must be positive"
    low, high = args.centre_delay
    if low < 0 or high < low:
        return "--centre-delay needs 0 <= LOW <= HIGH"
    return None


def run(args: argparse.Namespace) -> int:
    """Run the simulation; 0 when every record was acknowledged."""
    settings = load_settings()
    if args.out is not None:
        return _record(args, settings)
    if not settings.kafka_bootstrap:
        print(
            "gridflow simulate: no broker: GRIDFLOW_KAFKA_BOOTSTRAP is not set.\n"
            "  Start one with `gridflow broker` (it prints the address) and\n"
            "  export GRIDFLOW_KAFKA_BOOTSTRAP=<host:port>, or point it at your Kafka cluster.\n"
            "  (`gridflow demo` runs a broker, a worker and this simulator together.)",
            file=sys.stderr,
        )
        return 2
    problem = _check(args, settings)
    if problem:
        print(f"gridflow simulate: {problem}", file=sys.stderr)
        return 2
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
        print(f"seed {args.seed} (pass --seed {args.seed} to repeat this run)", file=sys.stderr)
    if args.duration is None and args.count is None:
        print("no --duration or --count: sending until Ctrl-C", file=sys.stderr)
    try:
        summary = asyncio.run(_simulate(args, settings))
    except asyncio.CancelledError:
        print("gridflow simulate: interrupted", file=sys.stderr)
        return 130
    except KafkaConnectionError as exc:
        print(
            f"gridflow simulate: cannot reach the broker at {settings.kafka_bootstrap}: {exc}",
            file=sys.stderr,
        )
        return 1
    except KafkaError as exc:
        print(f"gridflow simulate: Kafka error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_summary(summary)
    return 1 if summary["simulation"]["failed"] else 0


def _record(args: argparse.Namespace, settings: Settings) -> int:
    """``--out FILE``: write the records to a file; no broker, no pacing."""
    from gridflow.simulator.recording import record_simulation

    problem = _check(args, settings)
    if problem is None and args.count is None:
        problem = "--out needs --count"
    if problem is None and (args.centres or args.duration is not None):
        problem = "--out writes a file: --centres and --duration need a broker"
    if problem:
        print(f"gridflow simulate: {problem}", file=sys.stderr)
        return 2
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
        print(f"seed {args.seed} (pass --seed {args.seed} to repeat this run)", file=sys.stderr)
    try:
        stats = record_simulation(
            settings,
            args.out,
            count=args.count,
            seed=args.seed,
            duplicate_rate=args.duplicate_rate,
            malformed_rate=args.malformed_rate,
            batch_size=args.batch_size,
            boundary_rate=args.boundary_rate,
        )
    except OSError as exc:
        print(f"{args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    summary = {"simulation": stats.as_dict()}
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_summary(summary)
    return 0


async def _simulate(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from gridflow.simulator.casework import CentreStats
    from gridflow.simulator.centres import run_centres
    from gridflow.simulator.producer import run_simulation

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def interrupted() -> None:
        # The first Ctrl-C ends the run cleanly (flush, summary); a second one gives up.
        if stop.is_set() and main is not None:
            main.cancel()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, interrupted)
    centre_stats = CentreStats()
    centres_stop = asyncio.Event()
    centres: asyncio.Task[CentreStats] | None = None
    if args.centres:
        centres = asyncio.create_task(
            run_centres(
                settings,
                seed=args.seed,
                delay_s=(args.centre_delay[0], args.centre_delay[1]),
                stop=centres_stop,
                stats=centre_stats,
            )
        )
    try:
        stats = await run_simulation(
            settings,
            rate=args.rate,
            duration=args.duration,
            count=args.count,
            seed=args.seed,
            duplicate_rate=args.duplicate_rate,
            malformed_rate=args.malformed_rate,
            batch_size=args.batch_size,
            progress=args.progress,
            stop=stop,
            boundary_rate=args.boundary_rate,
        )
        if centres is not None and not stop.is_set():
            if args.centres_linger is None:
                print(
                    "all events sent; the simulated centres keep answering until Ctrl-C",
                    file=sys.stderr,
                )
                await _wait_stop(stop, centres, None)
            else:
                await _wait_stop(stop, centres, args.centres_linger)
    finally:
        if centres is not None:
            centres_stop.set()
            if centres.done() and centres.exception() is not None:
                raise centres.exception()  # type: ignore[misc]
            await centres
    summary: dict[str, Any] = {"simulation": stats.as_dict()}
    if args.centres:
        summary["centres"] = centre_stats.as_dict()
    return summary


async def _wait_stop(
    stop: asyncio.Event, centres: asyncio.Task[Any], timeout: float | None
) -> None:
    """Wait for ``stop``, the timeout, or the centres ending on their own (an error)."""
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, centres}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


def _print_summary(summary: dict[str, Any]) -> None:
    sim = summary["simulation"]
    print(
        f"sent {sim['events']:,} events in {sim['records']:,} records "
        f"({sim['bytes'] / 1e6:.1f} MB) to {sim['topic']} in {sim['elapsed_s']:.1f} s: "
        f"{sim['events_per_s']:,.0f} events/s"
    )
    for kind, events in sim["events_by_kind"].items():
        print(f"  {kind:<30} {events:>10,}")
    if sim["failed"]:
        print(f"  NOT ACKNOWLEDGED: {sim['failed']:,} records ({sim['first_error']})")
    centres = summary.get("centres")
    if centres is not None:
        print(
            f"simulated centres: {sum(centres['dispositions'].values()):,} dispositions read, "
            f"{centres['sent']:,} feedback sent"
        )
        for action, n in centres["feedback"].items():
            print(f"  {action:<30} {n:>10,}")
        if centres["failed"]:
            print(f"  NOT ACKNOWLEDGED: {centres['failed']:,} feedback records")
