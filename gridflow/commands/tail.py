"""``gridflow tail TOPIC``: follow a topic, pretty-printed or as JSON, filtered."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from gridflow import topics
from gridflow.config import load_settings
from gridflow.ops import arguments
from gridflow.ops.errors import one_line_errors
from gridflow.ops.record_view import describe, view
from gridflow.ops.topic_names import resolve
from gridflow.ops.topic_reader import TopicReader
from gridflow.topics import ALL_TOPICS

EPILOG = """\
examples:
  gridflow tail grid.dispositions                       new dispositions as they come
  gridflow tail grid.events.dlq --since 1h --reason schema
  gridflow tail grid.dispositions --from-beginning --case 500103001003-1a2b3c4d5e6f
  gridflow tail grid.dispositions --region 500103001000 --action escalate
  gridflow tail grid.feedback --since 10m --json | jq .value.action
  gridflow tail grid.events.in --from-beginning --no-follow --count 5

Reads every partition without joining the workers' consumer group and commits nothing:
tailing never moves or takes over the workers' reading.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tail`` subcommand."""
    p = sub.add_parser(
        "tail",
        help="follow a topic, pretty-printed (中文) or as JSON, with filters",
        description="Print the records of a gridflow topic as they arrive, one line each "
        "in the command centres' words (or one JSON object per line with --json). "
        f"TOPIC is one of {', '.join(ALL_TOPICS)}, with or without GRIDFLOW_TOPIC_PREFIX.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", metavar="TOPIC", help=f"the topic to read, e.g. {topics.DISPOSITIONS}")
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest record still kept"
    )
    arguments.add_since(start, default_all=False)  # type: ignore[arg-type]
    p.add_argument(
        "--no-follow", action="store_true", help="stop at the end instead of waiting for more"
    )
    p.add_argument("--count", type=int, metavar="N", help="stop after N matching records")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    arguments.add_filters(p)
    p.set_defaults(func=run)


@one_line_errors("tail")
def run(args: argparse.Namespace) -> int:
    """Print matching records until the end, the count, or Ctrl-C."""
    settings = load_settings()
    bare, full = resolve(settings, args.topic)
    wanted = arguments.record_filter(args, settings)
    since = arguments.since_time(args.since) if args.since else None

    async def tail() -> int:
        shown = 0
        async with TopicReader(settings, [full]) as reader:
            from_end = not args.from_beginning and since is None
            await reader.seek(since, from_end=from_end)
            records = reader.to_end() if args.no_follow else reader.follow()
            async for record in records:
                v = view(record, bare)
                if not wanted.matches(v):
                    continue
                line = orjson.dumps(v.to_json()).decode() if args.json else describe(v)
                print(line, flush=True)
                shown += 1
                if args.count is not None and shown >= args.count:
                    break
        if not args.json and args.no_follow:
            print(f"（共 {shown} 条）", file=sys.stderr)
        return 0

    return asyncio.run(tail())
