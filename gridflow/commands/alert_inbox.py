"""``gridflow alert-inbox``: receive Alertmanager's webhooks and show them to a person."""

from __future__ import annotations

import argparse
import functools

from aiohttp import web

from gridflow.ops.alert_inbox import make_app


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``alert-inbox`` subcommand."""
    p = sub.add_parser(
        "alert-inbox",
        help="a webhook receiver that prints Alertmanager's alerts as they arrive",
        description="Listen for Alertmanager webhook notifications on POST /alerts, print "
        "one line per alert (告警 / 已恢复, severity, name, summary, runbook) and list the "
        "latest at GET /. The compose stack routes critical alerts here.",
        epilog="examples:\n"
        "  gridflow alert-inbox --port 9095\n"
        "  # alertmanager.yml: webhook_configs: [{url: http://alert-inbox:9095/alerts}]\n"
        "  curl localhost:9095/            the latest alerts, newest first",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=9095, help="port (default 9095)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    web.run_app(
        make_app(functools.partial(print, flush=True)),
        host=args.host,
        port=args.port,
        print=lambda text: print(text, flush=True),
    )
    return 0
