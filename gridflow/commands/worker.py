"""``gridflow worker``: run the Faust application (the stream processor)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import socket
import sys

from gridflow.broker import TANSU_CLUSTER_IDS, wait_for_cluster, while_unavailable
from gridflow.config import load_settings
from gridflow.core.load_errors import ConfigLoadError
from gridflow.kafka_client import TopicLayoutError, cluster_id, ensure_topics
from gridflow.logs import configure, logging_config
from gridflow.runtime.exactly_once import UnsupportedGuarantee

log = logging.getLogger("gridflow.worker")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``worker`` subcommand."""
    p = sub.add_parser(
        "worker",
        help="run a stream-processing worker",
        description="Run one gridflow worker: reads grid.events.in, grid.feedback and "
        "grid.cases.commands on the partitions Faust assigns it; publishes "
        "grid.dispositions, grid.events.dlq, grid.metrics and re-keyed commands. Refuses to "
        "start when an input topic's partition count differs from GRIDFLOW_PARTITIONS. "
        "Start several with the same "
        "GRIDFLOW_APP_ID to share the partitions. Settings come from GRIDFLOW_* variables "
        "(see README, Configuration).",
        epilog="examples:\n"
        "  GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092 GRIDFLOW_WEB_PORT=6066 gridflow worker\n"
        "  gridflow worker --embedded        development: start the embedded broker too\n\n"
        "Without GRIDFLOW_KAFKA_BOOTSTRAP and without --embedded the worker does not start "
        "(exit 2):\na worker on a broker of its own would process nothing real.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--web-port", type=int, help="HTTP port for /metrics, /healthz, /readyz")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (default: GRIDFLOW_LOG_LEVEL)")
    p.add_argument(
        "--embedded",
        action="store_true",
        help="start the embedded in-memory broker (development only; everything is lost "
        "at exit) instead of GRIDFLOW_KAFKA_BOOTSTRAP",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load rules strictly, create topics, then hand over to Faust's worker."""
    overrides: dict[str, object] = {}
    if args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.log_level:
        overrides["log_level"] = args.log_level
    settings = load_settings(**overrides)
    if not settings.kafka_bootstrap and not args.embedded:
        print(
            "gridflow worker: no broker: set GRIDFLOW_KAFKA_BOOTSTRAP=host:port, or pass "
            "--embedded to start the embedded in-memory broker (development only)",
            file=sys.stderr,
        )
        return 2
    if args.embedded and settings.kafka_bootstrap:
        print(
            "gridflow worker: --embedded starts its own broker; unset GRIDFLOW_KAFKA_BOOTSTRAP "
            f"({settings.kafka_bootstrap}) or drop --embedded",
            file=sys.stderr,
        )
        return 2
    busy = _port_in_use(settings.web_host, settings.web_port)
    if busy:
        print(
            f"gridflow worker: web port {settings.web_port} on {settings.web_host} is in use "
            f"({busy}); set GRIDFLOW_WEB_PORT or --web-port to a free one",
            file=sys.stderr,
        )
        return 2
    configure(settings.log_level, settings.log_format)
    broker = None
    if args.embedded:
        from gridflow.broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        settings = load_settings(**overrides, kafka_bootstrap=broker.bootstrap)
        log.warning(
            "--embedded: started the in-memory embedded broker on %s; its topics are lost "
            "when this worker stops",
            broker.bootstrap,
        )
    wait_for_cluster(settings.kafka_bootstrap, settings.kafka_security_protocol, log)
    found = while_unavailable(
        lambda: asyncio.run(cluster_id(settings)), "reading the cluster's id", log
    )
    tansu = found in TANSU_CLUSTER_IDS
    if tansu:
        log.info("the broker is the embedded Tansu: its end-offset workarounds are on")
    try:
        from agents.app import GridflowApp

        gridflow_app = GridflowApp(settings, tansu=tansu)
    except ConfigLoadError as exc:
        print(f"gridflow worker: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except UnsupportedGuarantee as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 2
    try:
        created = while_unavailable(
            lambda: asyncio.run(ensure_topics(settings, extra=_changelogs(gridflow_app))),
            "creating the topics",
            log,
        )
    except TopicLayoutError as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 2
    if created:
        log.info("created topics", extra={"topics": created})
    import faust

    worker = faust.Worker(
        gridflow_app.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        logging_config=logging_config(settings.log_level, settings.log_format),
    )
    try:
        worker.execute_from_commandline()
    finally:
        if broker is not None:
            broker.stop()
    return 0


def _changelogs(gridflow_app: object) -> tuple[str, ...]:
    app = gridflow_app.app  # type: ignore[attr-defined]
    return tuple(table.changelog_topic.get_topic_name() for table in app.tables.values())


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can (port 0: any port)."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As the web server binds: without SO_REUSEADDR a port in TIME_WAIT looked busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, str(exc)) if exc.errno else str(exc)
    return None
