"""``gridflow demo``: embedded broker + worker + simulator + simulated centres, with a live view."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from aiokafka import AIOKafkaConsumer

from gridflow.broker import EmbeddedBroker, free_port
from gridflow.config import Settings, load_settings
from gridflow.demo_view import DemoFigures, follow
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.topics import DISPOSITIONS, DLQ, EVENTS_IN, METRICS
from gridflow.worker_process import http_get, spawn_worker

if TYPE_CHECKING:
    from gridflow.simulator.casework import CentreStats
    from gridflow.simulator.producer import SimStats


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="live demo: embedded broker, a worker, the simulator and simulated centres",
        description="Start the embedded broker (or use GRIDFLOW_KAFKA_BOOTSTRAP), one worker, "
        "the event simulator and simulated command centres, and show what happens live: "
        "events in, cases, merges, dispositions by tier, escalations, DLQ by reason. "
        "SLA durations are compressed (--sla-scale) so escalations happen within a minute.",
        epilog="examples:\n  gridflow demo                    run until Ctrl-C\n"
        "  gridflow demo --duration 60 --json   60 s, then one JSON line of figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--duration", type=float, default=None, help="stop after N seconds (default: Ctrl-C)"
    )
    p.add_argument(
        "--rate", type=float, default=40.0, help="simulated events per second (default 40)"
    )
    p.add_argument(
        "--sla-scale", type=float, default=0.0005, help="SLA compression (default 0.0005)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--json", action="store_true", help="print the figures as one JSON line at the end"
    )
    p.add_argument("--partitions", type=int, default=4)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 after ``--duration`` or Ctrl-C."""
    base = load_settings()
    broker = None
    bootstrap = base.kafka_bootstrap
    if not bootstrap:
        broker = (
            EmbeddedBroker(log_path=Path("var/demo/broker.log")).start()
            if _mkdir("var/demo")
            else None
        )
        assert broker is not None
        bootstrap = broker.bootstrap
    settings = load_settings(
        kafka_bootstrap=bootstrap,
        sla_scale=args.sla_scale,
        partitions=args.partitions,
        app_id=f"gridflow-demo-{os.getpid()}",
        topic_prefix=base.topic_prefix or f"demo{os.getpid()}.",
    )
    worker = None
    api = None
    stop_requested = {"flag": False}

    def on_signal(*_: object) -> None:
        stop_requested["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        asyncio.run(ensure_topics(settings, extra=(f"{settings.app_id}-cases-changelog",)))
        worker, port = _start_worker(settings)
        _wait_ready(worker, port, stop_requested)
        from gridflow.commands.demo_api import start_api

        api = start_api(settings, Path("var/demo", settings.app_id, "api").resolve())
        api.wait_ready()
        seen: dict[str, bool] = {}

        async def live() -> DemoFigures:
            assert api is not None
            try:
                return await _live(settings, args, stop_requested, port, seen, api.deliver)
            finally:
                await api.close()

        figures = asyncio.run(live())
        print(
            f"feedback through the API: {api.sent} (fell back to Kafka: {api.fallback})",
            file=sys.stderr,
        )
        _scrape_into(port, seen)
        figures.metrics_nonzero = sum(seen.values())
        zero = sorted(k for k, v in seen.items() if not v)
        if not seen:
            zero = ["(worker /metrics unreachable)"]
        if zero:
            print(f"metrics still at zero: {', '.join(zero)}", file=sys.stderr)
    finally:
        if api is not None:
            api.stop()
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if broker is not None:
            broker.stop()
    if args.json:
        print(orjson.dumps(figures.summary()).decode(), flush=True)
    return 0


def _scrape_into(port: int, seen: dict[str, bool]) -> None:
    """Note which gridflow_* metric families of the worker have a non-zero sample now.

    ``seen`` accumulates over the run: a gauge such as the consumer lag is non-zero only
    while records wait, so one scrape at the end would miss it.
    """
    status, body = http_get(port, "/metrics", timeout=5)
    if status != 200:
        return
    text = body.decode()
    families: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE gridflow_"):
            family = line.split()[2]
            if not family.endswith("_created"):  # creation timestamps, not figures
                families.add(family)
                seen.setdefault(family, False)
        elif line.startswith("gridflow_"):
            name, _, value = line.rpartition(" ")
            family = name.split("{")[0]
            for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
                if family.endswith(suffix) and family[: -len(suffix)] in families:
                    family = family[: -len(suffix)]
            if family.endswith("_created"):
                continue
            if float(value) != 0:
                seen[family] = True


def _mkdir(path: str) -> bool:
    Path(path).mkdir(parents=True, exist_ok=True)
    return True


def _start_worker(settings: Settings) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "GRIDFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "GRIDFLOW_APP_ID": settings.app_id,
            "GRIDFLOW_TOPIC_PREFIX": settings.topic_prefix,
            "GRIDFLOW_PARTITIONS": str(settings.partitions),
            "GRIDFLOW_SLA_SCALE": str(settings.sla_scale),
            "GRIDFLOW_WEB_PORT": str(port),
            # Absolute: the worker runs in the project root, the demo wherever it was started.
            "GRIDFLOW_DATA_DIR": str(Path("var/demo", settings.app_id).resolve()),
            "GRIDFLOW_TICK_INTERVAL": "0.5",
        }
    )
    proc = spawn_worker(env, Path("var/demo/worker.log").resolve())
    print(
        f"worker pid {proc.pid}: http://127.0.0.1:{port}/metrics (log: var/demo/worker.log)",
        file=sys.stderr,
    )
    return proc, port


def _wait_ready(proc: subprocess.Popen[bytes], port: int, stop: dict[str, bool]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not stop["flag"]:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode}; see var/demo/worker.log")
        if http_get(port, "/readyz", timeout=1)[0] == 200:
            return
        time.sleep(0.2)
    raise SystemExit("worker not ready within 90 s; see var/demo/worker.log")


def _copy_sim_counts(figures: DemoFigures, sim: SimStats, centres: CentreStats) -> None:
    """What the simulator sent that the summary counts: datums, 12345 calls, 回访, boundary
    reports (跨村合并)."""
    figures.events_by_coord_system = dict(sorted(sim.events_by_coord_system.items()))
    figures.hotline_by_request_type = dict(sorted(sim.hotline_by_request_type.items()))
    figures.revisits_sent = dict(sorted(centres.revisits.items()))
    figures.boundary_pairs = sim.boundary_pairs


async def _live(
    settings: Settings,
    args: argparse.Namespace,
    stop: dict[str, bool],
    port: int,
    seen: dict[str, bool],
    deliver: Callable[[bytes, bytes], Awaitable[bool]] | None = None,
) -> DemoFigures:
    from gridflow.simulator.casework import CentreStats
    from gridflow.simulator.centres import run_centres
    from gridflow.simulator.producer import SimStats, run_simulation

    figures = DemoFigures()
    centres_stop = asyncio.Event()
    sim_stats = SimStats(topic=settings.topic(EVENTS_IN), seed=args.seed)
    centre_stats = CentreStats()
    sim = asyncio.create_task(
        run_simulation(
            settings,
            rate=args.rate,
            duration=args.duration,
            count=None,
            seed=args.seed,
            duplicate_rate=0.3,
            malformed_rate=0.03,
            batch_size=1,
            progress=False,
            stats=sim_stats,
            boundary_rate=0.05,
        )
    )
    centres = asyncio.create_task(
        run_centres(
            settings, seed=args.seed, stop=centres_stop, stats=centre_stats, deliver=deliver
        )
    )
    dispositions = settings.topic(DISPOSITIONS)
    metrics = settings.topic(METRICS)
    consumer = AIOKafkaConsumer(
        dispositions,
        settings.topic(DLQ),
        metrics,
        **client_kwargs(settings),
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    started = time.monotonic()
    interactive = sys.stdout.isatty() and not args.json
    last_print = 0.0
    last_scrape = 0.0
    try:
        while not stop["flag"]:
            await follow(consumer, figures, dispositions, metrics)
            elapsed = time.monotonic() - started
            if elapsed - last_scrape >= 5.0:
                await asyncio.to_thread(_scrape_into, port, seen)
                last_scrape = elapsed
            figures.events_in = sim_stats.events
            figures.feedback_sent = centre_stats.sent
            _copy_sim_counts(figures, sim_stats, centre_stats)
            if interactive and elapsed - last_print >= 1.0:
                print("\x1b[2J\x1b[H" + figures.render(elapsed), flush=True)
                last_print = elapsed
            elif not interactive and elapsed - last_print >= 10.0:
                print(figures.render(elapsed) + "\n", file=sys.stderr, flush=True)
                last_print = elapsed
            if sim.done() and args.duration is not None and elapsed > args.duration:
                break
        # Let the last events and timers drain into the view.
        drain_until = time.monotonic() + 3.0
        while time.monotonic() < drain_until:
            await follow(consumer, figures, dispositions, metrics)
    finally:
        centres_stop.set()
        if not sim.done():
            sim.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sim
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(centres, timeout=10)
        figures.events_in = sim_stats.events
        figures.feedback_sent = centre_stats.sent
        _copy_sim_counts(figures, sim_stats, centre_stats)
        await consumer.stop()
    print(figures.render(time.monotonic() - started), file=sys.stderr)
    return figures
