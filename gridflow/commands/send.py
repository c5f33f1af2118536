"""``gridflow send TOPIC``: produce JSON records, validated and keyed as the contract says."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from gridflow import topics
from gridflow.config import load_settings
from gridflow.ops import topic_writer
from gridflow.ops.errors import one_line_errors
from gridflow.ops.send_input import Outgoing, prepare
from gridflow.ops.topic_names import resolve
from gridflow.ops.topic_reader import TopicReader, require_bootstrap
from gridflow.topics import ALL_TOPICS

EPILOG = """\
examples:
  gridflow send grid.events.in -f events.jsonl          one GridEvent per line
  echo '{"feedback_id":"f1","case_id":"500103001003-1a2b3c4d5e6f","center_code":"500103001003",
        "action":"accept","at":"2026-12-04T09:00:00+08:00"}' | gridflow send grid.feedback
  gridflow send grid.events.in -f batch.json --json     a JSON array, report as JSON
  gridflow send grid.events.in --raw --key 500103001003 -f broken.jsonl   skip validation

Keys: grid.events.in by region_code, grid.feedback by the case's region (the first 12
digits of case_id), grid.dispositions by center_code; --key overrides. Every record is
validated before the first one is sent: one bad line sends nothing.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``send`` subcommand."""
    p = sub.add_parser(
        "send",
        help="produce JSON records to a topic (validated GridEvent/Feedback)",
        description="Write JSON records to a gridflow topic: one object per line or one "
        "JSON array, from a file or stdin. Records for grid.events.in and grid.feedback are "
        "validated against GridEvent and Feedback first. Prints the partition and offset "
        f"of each record written. TOPIC is one of {', '.join(ALL_TOPICS)}.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", metavar="TOPIC", help=f"the topic to write to, e.g. {topics.EVENTS_IN}")
    p.add_argument(
        "-f", "--file", default="-", help="file to read (default: stdin, also written -)"
    )
    p.add_argument("--key", help="key every record with this instead of the contract's key")
    p.add_argument("--raw", action="store_true", help="send as given, without validation")
    p.add_argument("--json", action="store_true", help="report one JSON object per record")
    p.set_defaults(func=run)


@one_line_errors("send")
def run(args: argparse.Namespace) -> int:
    """Validate everything, then send and report where each record went."""
    settings = load_settings()
    require_bootstrap(settings)
    bare, full = resolve(settings, args.topic)
    if args.file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        text, source = Path(args.file).read_text(encoding="utf-8"), args.file
    records = prepare(bare, text, source, raw=args.raw, key=args.key)

    async def send() -> None:
        # Fails with one line, before any record is sent, when the topic does not exist.
        async with TopicReader(settings, [full]):
            pass
        producer = topic_writer.producer(settings)
        await producer.start()
        try:
            futures = [await producer.send(full, r.value, key=r.key) for r in records]
            for record, future in zip(records, futures, strict=True):
                meta = await future
                report(record, full, meta.partition, meta.offset, as_json=args.json)
        finally:
            await producer.stop()
        if not args.json:
            print(f"已写入 {len(records)} 条到 {full}", file=sys.stderr)

    asyncio.run(send())
    return 0


def report(record: Outgoing, topic: str, partition: int, offset: int, *, as_json: bool) -> None:
    key = record.key.decode() if record.key is not None else None
    if as_json:
        doc = {
            "line": record.line,
            "id": record.ident,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key,
        }
        print(orjson.dumps(doc).decode(), flush=True)
    else:
        print(f"{topic}[{partition}]@{offset}  key={key or '-'}  {record.ident}", flush=True)
