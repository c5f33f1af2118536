"""``gridflow topics``: create and list gridflow's topics."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gridflow.config import load_settings
from gridflow.kafka_client import all_topics, ensure_topics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``topics`` subcommand."""
    p = sub.add_parser(
        "topics",
        help="create every topic with GRIDFLOW_PARTITIONS partitions",
        description="Create the contract's topics and the internal commands topic explicitly "
        "(auto-created topics get the broker's partition count, on which the workers refuse to start).",
    )
    p.add_argument(
        "action", choices=["create", "list"], help="create the topics, or list their names"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Create or list topics on GRIDFLOW_KAFKA_BOOTSTRAP."""
    settings = load_settings()
    if args.action == "list":
        for name in all_topics(settings):
            print(name)
        return 0
    if not settings.kafka_bootstrap:
        print("gridflow topics: GRIDFLOW_KAFKA_BOOTSTRAP is not set", file=sys.stderr)
        return 2
    created = asyncio.run(ensure_topics(settings))
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    return 0
