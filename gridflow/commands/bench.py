"""``gridflow bench``: gridflow against a raw aiokafka loop, on one embedded broker.

The benchmark code lives in the checkout's ``tools/bench/`` (see tools/bench/README.md for
what each figure means); it is not in the wheel.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from gridflow.commands import checkout_tools

DESCRIPTION = (
    """\
Measure gridflow on this machine, in one process tree, on an embedded broker the bench
starts itself:

  baseline    a raw aiokafka consume → orjson decode → transform → encode → produce loop
  gridflow    one `gridflow worker` process over pre-loaded events: single-event records,
              batch records (JSON arrays of 100) unkeyed, and batch records by partition
  latency     ingest → disposition p50/p99 at a fixed rate of single-event records
  state       SLA tick cost, bytes and memory per open case, rebuild time at 10k/100k
              (1M with --state-1m) open cases, without a broker

Prints a table (figure | gridflow | baseline | ratio) and, as the last line, one JSON
object: raw_eps, pipeline_eps, single_eps, ratio, input, p50_ms, p99_ms, cores, state …
Figures are medians of --runs runs.

"""
    + checkout_tools.HELP_NOTE
)

EPILOG = """\
examples:
  gridflow bench --quick              about a minute: 1 run, 5,000 events
  gridflow bench                      3 runs of 20,000 events, 2 workers vs 1 (< 10 min)
  gridflow bench --json-only | jq .ratio
  gridflow bench --api                the HTTP API: intake, POST → disposition at 1,000/s
                                      for 30 s, a centre's first page at 1,000,000 cases
  gridflow bench --api --quick --api-cases 100000 --skip intake
  gridflow bench --api --skip intake,latency --api-database postgresql+asyncpg://u:pw@host/db
  gridflow bench --api --skip intake,query --api-topology split --broker kafka
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bench`` subcommand."""
    p = sub.add_parser(
        "bench",
        help="measure throughput, latency and state costs against a raw Kafka loop",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--events",
        type=int,
        metavar="N",
        help="events per throughput run (default 20000; --quick 5000)",
    )
    p.add_argument(
        "--runs",
        type=int,
        metavar="K",
        help="runs per figure, the median is reported (default 3; --quick 1)",
    )
    p.add_argument(
        "--quick", action="store_true", help="1 run, small N, no 2-worker run: about a minute"
    )
    p.add_argument("--json-only", action="store_true", help="print only the JSON summary line")
    p.add_argument(
        "--latency-rate",
        type=float,
        default=2000.0,
        metavar="R",
        help="events/s of the latency run (default 2000)",
    )
    p.add_argument(
        "--latency-seconds",
        type=float,
        metavar="S",
        help="length of the latency run (default 10, --quick 6; with --api 30, --quick 10); "
        "the first 3 s are reported apart",
    )
    p.add_argument(
        "--state-1m",
        action="store_true",
        help="also measure state at 1,000,000 open cases (about a minute more)",
    )
    p.add_argument(
        "--recovery",
        type=int,
        nargs="?",
        const=100_000,
        default=0,
        metavar="CASES",
        help="also time a worker's changelog recovery of CASES open cases (default 100000)",
    )
    p.add_argument(
        "--skip",
        default="",
        metavar="PARTS",
        help="comma list of parts to skip: raw,gridflow,core,latency,state,workers "
        "(with --api: intake,latency,query)",
    )
    p.add_argument(
        "--bootstrap", default="", help="use this broker instead of starting the embedded one"
    )
    p.add_argument(
        "--broker",
        choices=("embedded", "kafka"),
        default="embedded",
        help="start the embedded broker (default) or Apache Kafka (one KRaft node, "
        "gridflow/apache_kafka.py) for the run",
    )
    p.add_argument(
        "--guarantee",
        choices=("at_least_once", "exactly_once"),
        default="at_least_once",
        help="GRIDFLOW_PROCESSING_GUARANTEE of the measured workers (exactly_once: --broker kafka)",
    )
    p.add_argument(
        "--api",
        action="store_true",
        help="measure the HTTP API instead: batched intake events/s, POST → disposition "
        "p99 at --latency-rate (default here 1000), a centre's first page p99 at "
        "--api-cases projected cases",
    )
    p.add_argument(
        "--api-cases",
        type=int,
        default=1_000_000,
        metavar="N",
        help="cases in the read model for the --api query figure (default 1000000)",
    )
    p.add_argument(
        "--api-queries",
        type=int,
        default=1000,
        metavar="N",
        help="first-page queries timed for the --api query figure (default 1000)",
    )
    p.add_argument(
        "--api-database",
        default="",
        metavar="URL",
        help="read model of the --api query figure: a postgresql+asyncpg://… URL "
        "(its cases table is replaced); default an SQLite file in the bench's temp dir",
    )
    p.add_argument(
        "--api-topology",
        choices=("single", "split"),
        default="single",
        help="API processes of the --api latency figure: one that takes the POSTs and "
        "projects the read model (single, default), or an intake replica without a "
        "projector beside a projecting replica that takes no POSTs (split)",
    )
    p.add_argument(
        "--api-projection-interval-ms",
        type=float,
        default=100.0,
        metavar="MS",
        help="GRIDFLOW_API_PROJECTION_INTERVAL_MS of the projecting replica with "
        "--api-topology split (default 100)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run every part, print the table and the JSON line; 0 unless a part failed."""
    if args.api:
        return run_api(args)
    try:
        bench = checkout_tools.load("bench")
        pb = checkout_tools.load("bench.pipeline_bench")
        raw_baseline = checkout_tools.load("bench.raw_baseline")
        report = checkout_tools.load("bench.report")
        state_bench = checkout_tools.load("bench.state_bench")
    except checkout_tools.ToolsMissingError as exc:
        print(f"gridflow: {exc}", file=sys.stderr)
        return 2
    cores, median = bench.cores, bench.median

    quick = bool(args.quick)
    n = args.events or (5000 if quick else 20000)
    runs = max(1, args.runs or (1 if quick else 3))
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    if quick:
        skip.add("workers")
    lat_seconds = args.latency_seconds or (6.0 if quick else 10.0)
    quiet = bool(args.json_only)
    errors: list[str] = []

    def say(msg: str) -> None:
        if not quiet:
            print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def attempt(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # one broken part must not lose the others' figures
            errors.append(f"{what}: {type(exc).__name__}: {exc}")
            say(f"{what} failed: {type(exc).__name__}: {exc}")
            if not quiet:
                traceback.print_exc(file=sys.stderr)
            return None

    tmp = Path(tempfile.mkdtemp(prefix="gridflow-bench-"))
    broker: Any = None  # EmbeddedBroker or KafkaCluster: both have bootstrap and stop()
    bootstrap = args.bootstrap
    started = time.monotonic()
    summary: dict[str, Any] = {
        "cores": cores(),
        "events": n,
        "runs": runs,
        "tmp": str(tmp),
        # The machine may be shared: a high load average means noisy figures.
        "loadavg_start": round(os.getloadavg()[0], 2),
    }
    try:
        # The workers the bench starts inherit the environment.
        os.environ["GRIDFLOW_PROCESSING_GUARANTEE"] = args.guarantee
        summary["broker"] = args.broker if not bootstrap else "external"
        summary["guarantee"] = args.guarantee
        if not bootstrap and (
            args.recovery or not ({"raw", "gridflow", "latency", "workers"} <= skip)
        ):
            if args.broker == "kafka":
                from gridflow.apache_kafka import KafkaCluster

                broker = KafkaCluster(nodes=1, directory=tmp / "kafka").start()
                bootstrap = broker.bootstrap
                say(f"Apache Kafka on {bootstrap}; logs in {tmp}/kafka")
            else:
                from gridflow.broker import EmbeddedBroker

                broker = EmbeddedBroker(log_path=tmp / "tansu.log").start()
                bootstrap = broker.bootstrap
                say(f"embedded broker on {bootstrap}; logs in {tmp}")
        say(f"generating {n:,} simulator events")
        events = pb.make_records(n, seed=1)
        forms = {form: pb.as_form(events, form) for form in pb.FORMS}
        raw_records = pb.as_form(events, "single")
        while len(raw_records) < 50_000:  # the raw loop is fast: give it enough to time
            raw_records.extend(raw_records[: 50_000 - len(raw_records)])
        summary["raw_events"] = len(raw_records)

        samples: dict[str, list[float | None]] = {
            k: []
            for k in (
                "raw",
                *pb.FORMS,
                "core",
                "one",
                "two",
                "raw_cpu",
                "core_cpu",
                *(f"{f}_cpu" for f in pb.FORMS),
            )
        }
        latency: list[dict[str, Any]] = []
        for i in range(runs):
            say(f"run {i + 1}/{runs}")
            if "raw" not in skip:
                r = attempt("raw", lambda: raw_baseline.run_raw(bootstrap, raw_records))
                samples["raw"].append(r and r["eps"])
                samples["raw_cpu"].append(r and r["cpu_us_per_event"])
                say(f"  raw baseline: {report.fmt(r and r['eps'])} events/s")
            if "gridflow" not in skip:
                for form in pb.FORMS:
                    r = attempt(
                        form, functools.partial(pb.run_throughput, bootstrap, tmp, forms[form])
                    )
                    samples[form].append(r and r["eps"])
                    samples[f"{form}_cpu"].append(r and r["cpu_us_per_event"])
                    say(f"  gridflow {form}: {report.fmt(r and r['eps'])} events/s")
            if "core" not in skip:
                r = attempt("core", lambda: pb.core_eps(events))
                samples["core"].append(r and r["eps"])
                samples["core_cpu"].append(r and r["cpu_us_per_event"])
                say(f"  pipeline core alone: {report.fmt(r and r['eps'])} events/s")
            if "workers" not in skip:
                one = attempt(
                    "1 worker",
                    lambda: pb.run_throughput(
                        bootstrap, tmp, forms["batch_keyed"], workers=1, preload_first=False
                    ),
                )
                two = attempt(
                    "2 workers",
                    lambda: pb.run_throughput(
                        bootstrap, tmp, forms["batch_keyed"], workers=2, preload_first=False
                    ),
                )
                samples["one"].append(one and one["eps"])
                samples["two"].append(two and two["eps"])
                say(
                    f"  burst input, 1 worker: {report.fmt(one and one['eps'])}, 2 workers: {report.fmt(two and two['eps'])} events/s"
                )
            if "latency" not in skip:
                lat_events = pb.make_records(int(args.latency_rate * lat_seconds), seed=100 + i)
                r = attempt(
                    "latency",
                    functools.partial(
                        pb.run_latency,
                        bootstrap,
                        tmp,
                        lat_events,
                        rate=args.latency_rate,
                        duration=lat_seconds,
                    ),
                )
                if r:
                    latency.append(r)
                    say(
                        f"  latency @ {report.fmt(r['rate'])}/s: p50 {report.fmt(r['p50_ms'])} ms, p99 {report.fmt(r['p99_ms'])} ms ({r['answered']}/{r['sent']} answered)"
                    )

        summary["raw_eps"] = median(samples["raw"])
        summary["raw_cpu_us_per_event"] = median(samples["raw_cpu"])
        for form in pb.FORMS:
            summary[f"{form}_eps"] = median(samples[form])
            summary[f"{form}_cpu_us_per_event"] = median(samples[f"{form}_cpu"])
        candidates = {
            form: summary[f"{form}_eps"] for form in pb.FORMS if summary[f"{form}_eps"] is not None
        }
        best = max(candidates, key=lambda f: candidates[f]) if candidates else None
        summary["input"] = best
        summary["pipeline_eps"] = candidates.get(best) if best else None
        summary["ratio"] = report.ratio(summary["pipeline_eps"], summary["raw_eps"])
        summary["core_eps"] = median(samples["core"])
        summary["core_cpu_us_per_event"] = median(samples["core_cpu"])
        summary["one_worker_eps"] = median(samples["one"])
        summary["two_workers_eps"] = median(samples["two"])
        summary["samples"] = {k: v for k, v in samples.items() if v}
        for key in (
            "p50_ms",
            "p99_ms",
            "max_ms",
            "recv_p50_ms",
            "recv_p99_ms",
            "cold_p50_ms",
            "cold_p99_ms",
            "rate",
        ):
            summary["latency_rate" if key == "rate" else key] = median(r[key] for r in latency)
        summary["latency_answered"] = sum(r["answered"] for r in latency)
        summary["latency_sent"] = sum(r["sent"] for r in latency)

        if "state" not in skip:
            sizes = [10_000] if quick else list(state_bench.DEFAULT_SIZES)
            if args.state_1m:
                sizes.append(state_bench.LARGE)
            say(f"state at {', '.join(f'{s:,}' for s in sizes)} open cases")
            st = attempt("state", lambda: state_bench.run_state(sizes))
            if st:
                summary["state"] = st["sizes"]
                largest = st["sizes"][str(max(sizes))]
                summary["state_cases"] = largest["cases"]
                for key in (
                    "tick_ms",
                    "scan_ms",
                    "gauge_ms",
                    "gauge_walk_ms",
                    "bytes_per_case",
                    "mem_bytes_per_case",
                    "rebuild_s",
                ):
                    summary[f"state_{key}"] = largest[key]
        if args.recovery:
            say(f"changelog recovery of {args.recovery:,} open cases by a worker")
            rec = attempt(
                "recovery",
                functools.partial(state_bench.run_recovery, bootstrap, tmp, n=args.recovery),
            )
            if rec:
                summary.update(rec)
                if rec["recovered_cases"] < rec["recovery_cases"]:
                    errors.append(
                        f"recovery: the worker holds {rec['recovered_cases']:,.0f} of "
                        f"{rec['recovery_cases']:,} open cases after recovery"
                    )
    finally:
        if broker is not None:
            broker.stop()
    summary["seconds"] = time.monotonic() - started
    summary["loadavg_end"] = round(os.getloadavg()[0], 2)
    summary["errors"] = errors
    if not quiet:
        print(report.table(summary))
    print(report.summary_json(summary))
    return 1 if errors else 0


def run_api(args: argparse.Namespace) -> int:
    """``--api``: intake, POST → disposition and query figures; one JSON line at the end."""
    try:
        pb = checkout_tools.load("bench.pipeline_bench")
        api_bench = checkout_tools.load("bench.api_bench")
    except checkout_tools.ToolsMissingError as exc:
        print(f"gridflow: {exc}", file=sys.stderr)
        return 2
    quick = bool(args.quick)
    quiet = bool(args.json_only)

    def say(msg: str) -> None:
        if not quiet:
            print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="gridflow-bench-api-"))
    n = args.events or (5000 if quick else 20000)
    rate = args.latency_rate if args.latency_rate != 2000.0 else 1000.0
    seconds = args.latency_seconds or (10.0 if quick else 30.0)
    summary: dict[str, Any] = {"tmp": str(tmp), "loadavg_start": round(os.getloadavg()[0], 2)}
    errors: list[str] = []
    broker: Any = None  # EmbeddedBroker or KafkaCluster: both have bootstrap and stop()
    bootstrap = args.bootstrap
    try:
        summary["broker"] = args.broker if not bootstrap else "external"
        broker_pid = None
        if not bootstrap and args.broker == "kafka":
            from gridflow.apache_kafka import KafkaCluster

            kafka = KafkaCluster(nodes=1, directory=tmp / "kafka").start()
            broker, bootstrap = kafka, kafka.bootstrap
            process = kafka.members[0].process
            broker_pid = process.pid if process else None
            say(f"Apache Kafka on {bootstrap}; logs in {tmp}/kafka")
        elif not bootstrap:
            from gridflow.broker import EmbeddedBroker

            embedded = EmbeddedBroker(log_path=tmp / "tansu.log").start()
            broker, bootstrap = embedded, embedded.bootstrap
            broker_pid = embedded.process.pid if embedded.process else None
        events = pb.make_records(max(n, int(rate * seconds)), seed=3)
        parts: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("intake", lambda: api_bench.run_intake(bootstrap, tmp, events[:n])),
            (
                "latency",
                lambda: api_bench.run_latency(
                    bootstrap,
                    tmp,
                    events,
                    rate,
                    seconds,
                    say=say,
                    broker_pid=broker_pid,
                    topology=args.api_topology,
                    projection_interval_ms=args.api_projection_interval_ms,
                ),
            ),
            (
                "query",
                lambda: api_bench.run_query(
                    bootstrap,
                    tmp,
                    args.api_cases,
                    args.api_queries,
                    database_url=args.api_database or None,
                    say=say,
                ),
            ),
        )
        for name, part in parts:
            if name in args.skip:
                continue
            say(f"{name} …")
            try:
                summary[name] = part()
                say(f"  {name}: {summary[name]}")
            except Exception as exc:  # one broken part must not lose the others' figures
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                say(f"{name} failed: {type(exc).__name__}: {exc}")
    finally:
        if broker is not None:
            broker.stop()
    summary["loadavg_end"] = round(os.getloadavg()[0], 2)
    summary["targets_met"] = _api_targets(summary, rate)
    if errors:
        summary["errors"] = errors
    print(orjson.dumps(summary).decode(), flush=True)
    return 1 if errors else 0


def _api_targets(summary: dict[str, Any], rate: float) -> dict[str, bool | None]:
    """Issue 14's targets, each met or not (None: not measured, or not at the target's load)."""
    intake = summary.get("intake") or {}
    latency = summary.get("latency") or {}
    query = summary.get("query") or {}

    def at_most(value: Any, limit: float) -> bool | None:
        return None if value is None else bool(value <= limit)

    lat_p99 = latency.get("p99_ms")
    return {
        "intake_eps_5000": None if not intake.get("eps") else bool(intake["eps"] >= 5000),
        # A p99 of None means more than 1 % unanswered: not met.
        "latency_p99_150ms_at_1000": (
            None if not latency or rate < 1000 else bool(lat_p99 is not None and lat_p99 <= 150)
        ),
        "query_p99_50ms_at_1m": (
            None if query.get("cases", 0) < 1_000_000 else at_most(query.get("p99_ms"), 50)
        ),
    }
