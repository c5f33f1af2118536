"""``gridflow api``: the HTTP service (intake, Open311, cases, feedback, streams, KPIs)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import orjson

from gridflow.core.load_errors import ConfigLoadError
from gridflow.kafka_client import TopicLayoutError, ensure_topics

log = logging.getLogger("gridflow.api")

EPILOG = """\
examples:
  GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092 GRIDFLOW_API_TOKENS_FILE=tokens.yaml gridflow api
  gridflow api --rebuild            clear the read model and project the topics from offset 0
  gridflow api openapi -o openapi.json
  gridflow api token --name yuzhong --role centre --region 500103000000 >> tokens.yaml

settings: GRIDFLOW_API_* (host, port, database_url, tokens_file, max_body_bytes,
rate_per_s, rate_burst, cors_origins, ready_lag_s, projector); see docs/api.md.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "api",
        help="run the HTTP API (intake, Open311, cases, feedback, live streams, KPIs)",
        description="Run gridflow's HTTP service. Field apps POST events; command centres "
        "query and act on their cases; ops read KPIs. Cases are served from a read model "
        "(SQLite by default, PostgreSQL with GRIDFLOW_API_DATABASE_URL) projected from "
        "grid.dispositions, grid.events.dlq and grid.metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", help="listen address (default GRIDFLOW_API_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default GRIDFLOW_API_PORT, 8080)")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="clear the read model first and project the output topics from offset 0",
    )
    p.add_argument(
        "--embedded",
        action="store_true",
        help="start the embedded in-memory broker (development only)",
    )
    p.set_defaults(func=run)
    verbs = p.add_subparsers(dest="api_command", metavar="ACTION")
    o = verbs.add_parser("openapi", help="print the OpenAPI document (JSON)")
    o.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    o.set_defaults(func=run_openapi)
    t = verbs.add_parser(
        "token",
        help="make a new bearer token: prints it once, and its token-file entry",
        epilog="example:\n  gridflow api token --name yuzhong --role centre --region 500103000000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--name", required=True, help="a name for logs and metrics")
    t.add_argument("--role", required=True, choices=["centre", "field_app", "ops"])
    t.add_argument(
        "--region",
        required=True,
        help="12-digit code of the token's region, or a verifying office's "
        "(500103000000-zjz: catalogue.yaml offices:)",
    )
    t.set_defaults(func=run_token)


def _fail(message: str) -> int:
    print(f"gridflow api: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from gridflow.api.service import build_context, kafka_app
    from gridflow.api.sink import KafkaSink
    from gridflow.config import load_api_settings, load_settings
    from gridflow.logs import configure

    settings = load_settings()
    api = load_api_settings()
    configure(settings.log_level, settings.log_format)
    broker = None
    if not settings.kafka_bootstrap and not args.embedded:
        return _fail(
            "GRIDFLOW_KAFKA_BOOTSTRAP is not set: point it at the cluster, or pass "
            "--embedded to start the embedded in-memory broker (development only)"
        )
    if args.embedded and not settings.kafka_bootstrap:
        from gridflow.broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        settings = load_settings(kafka_bootstrap=broker.bootstrap)
        log.warning("--embedded: started the in-memory embedded broker on %s", broker.bootstrap)
    try:
        ctx = build_context(settings, api, sink=KafkaSink(settings, api.linger_ms))
    except ConfigLoadError as exc:
        return _fail(f"invalid configuration: {exc}")
    from gridflow.broker import wait_for_cluster

    wait_for_cluster(settings.kafka_bootstrap, settings.kafka_security_protocol, log)
    try:
        # Before the server starts: a wrong layout is one line and exit 2, not a traceback.
        asyncio.run(ensure_topics(settings))
    except TopicLayoutError as exc:
        return _fail(str(exc))
    if len(ctx.tokens) == 0:
        log.warning("no tokens loaded (GRIDFLOW_API_TOKENS_FILE): every /v1 request gets 401")
    app = kafka_app(ctx, rebuild=args.rebuild)
    host = args.host or api.host
    port = args.port if args.port is not None else api.port
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,  # gridflow.logs formats (and masks) every line
            access_log=False,  # the app logs route templates, never raw paths or queries
            server_header=False,
        )
    finally:
        if broker is not None:
            broker.stop()
    return 0


def openapi_document() -> dict[str, object]:
    """The OpenAPI document of the app, built without a broker or database."""
    from gridflow.api.app import create_app
    from gridflow.api.service import build_context
    from gridflow.api.sink import MemorySink
    from gridflow.config import ApiSettings, load_settings

    ctx = build_context(
        load_settings(), ApiSettings(), sink=MemorySink(), database_url="sqlite+aiosqlite://"
    )
    return create_app(ctx).openapi()


def run_openapi(args: argparse.Namespace) -> int:
    try:
        text = orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2).decode() + "\n"
    except ConfigLoadError as exc:
        return _fail(f"invalid configuration: {exc}")
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_token(args: argparse.Namespace) -> int:
    from gridflow.api.scope import known_centre
    from gridflow.api.tokens import hash_token, new_secret
    from gridflow.core.catalogue import Catalogue
    from gridflow.core.offices import split_office
    from gridflow.core.regions import RegionGraph, tier_of_code

    office = split_office(args.region)
    try:
        tier_of_code(office[0] if office else args.region)
    except ValueError as exc:
        return _fail(str(exc))
    if office is not None:
        if args.role != "centre":
            return _fail(f"office {args.region}: only a centre token may be an office's")
        if not known_centre(RegionGraph.default(), Catalogue.default(), args.region):
            return _fail(
                f"office {args.region} is not an office catalogue.yaml lists at that region's tier"
            )
    elif args.region not in RegionGraph.default():
        return _fail(f"region {args.region} is not in the division tree")
    secret = new_secret()
    print(f"# token for {args.name} (shown once; keep it secret): {secret}", file=sys.stderr)
    print(
        f'  - name: {args.name}\n    role: {args.role}\n    region: "{args.region}"\n'
        f"    sha256: {hash_token(secret)}"
    )
    return 0
