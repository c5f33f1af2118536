"""``gridflow worker``: run the Faust application (the stream processor)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from gridflow.broker import wait_for_brokers
from gridflow.config import load_settings
from gridflow.core.load_errors import ConfigLoadError
from gridflow.kafka_client import TopicLayoutError, ensure_topics
from gridflow.logs import configure, logging_config

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
        epilog="example:\n  GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092 GRIDFLOW_WEB_PORT=6066 gridflow worker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--web-port", type=int, help="HTTP port for /metrics, /healthz, /readyz")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING (default: GRIDFLOW_LOG_LEVEL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load rules strictly, create topics, then hand over to Faust's worker."""
    overrides: dict[str, object] = {}
    if args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.log_level:
        overrides["log_level"] = args.log_level
    settings = load_settings(**overrides)
    configure(settings.log_level, settings.log_format)
    broker = None
    if not settings.kafka_bootstrap:
        from gridflow.broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        settings = load_settings(**overrides, kafka_bootstrap=broker.bootstrap)
        log.warning(
            "GRIDFLOW_KAFKA_BOOTSTRAP not set: started the embedded broker on %s", broker.bootstrap
        )
    # The probe speaks plaintext Kafka; with TLS/SASL the clients' own retries take over.
    if settings.kafka_security_protocol == "PLAINTEXT":
        wait_for_brokers(
            settings.kafka_bootstrap,
            on_retry=lambda attempt, delay, address: log.warning(
                "Kafka at %s does not answer (attempt %d); retrying in %.1f s",
                address,
                attempt,
                delay,
            ),
        )
    try:
        from agents.app import GridflowApp
        from gridflow.runtime.exactly_once import UnsupportedGuarantee

        gridflow_app = GridflowApp(settings)
    except ConfigLoadError as exc:
        print(f"gridflow worker: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except UnsupportedGuarantee as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 2
    try:
        created = asyncio.run(ensure_topics(settings, extra=_changelogs(gridflow_app)))
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
