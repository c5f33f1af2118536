"""``gridflow dlq list|show|replay``: what was refused, why, and sending it back once fixed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from gridflow import topics
from gridflow.config import Settings, load_settings
from gridflow.ops import arguments, dlq, progress, topic_writer, vocabulary
from gridflow.ops.errors import OpsError, one_line_errors
from gridflow.ops.record_view import Filter, parse_object, view
from gridflow.ops.topic_reader import TopicReader

EPILOG = """\
examples:
  gridflow dlq list --since 1d                      counts by reason, network, topic, hour
  gridflow dlq show --reason schema --limit 5       the last 5 schema refusals, with originals
  gridflow dlq show --record 0/1234                 one DLQ record (partition/offset)
  gridflow dlq replay --reason unknown_region --dry-run      what would be sent back
  gridflow dlq replay --reason unknown_region --since 2h     send back, after a y/N prompt
  gridflow dlq replay --record 0/1234 --record 2/77 --yes

replay sends each refused record's original key and bytes to the input topic it came
from, with the header gridflow-replay-of: <dlq topic>/<partition>/<offset>. A DLQ record
whose replay is already on the input topic is skipped, so running replay twice is safe.
Fix the cause first (the division file, the rules, the sending app): a record refused
for the same reason again just lands in the DLQ again.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dlq`` with its ``list``, ``show`` and ``replay`` subcommands."""
    p = sub.add_parser(
        "dlq",
        help="count, read and replay refused records (grid.events.dlq)",
        description="Read the dead-letter topic: counts by reason, network, source topic "
        "and hour (list), the records with their reason, detail and original (show), and "
        "replay of selected records to their source topic once the cause is fixed (replay).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    for name, text in (
        ("list", "counts of refused records by reason, network, source topic and hour"),
        ("show", "refused records with reason, detail and original"),
        ("replay", "re-send selected records to their source topic, once each"),
    ):
        a = actions.add_parser(
            name,
            help=text,
            description=text + ".",
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        arguments.add_since(a)
        arguments.add_filters(a)
        if name != "list":
            a.add_argument(
                "--record",
                action="append",
                metavar="P/O",
                help="only the DLQ record at partition P, offset O (repeatable)",
            )
        if name == "show":
            a.add_argument(
                "--limit", type=int, default=20, metavar="N", help="the last N matching (20)"
            )
        if name == "replay":
            a.add_argument("--dry-run", action="store_true", help="show what would be sent")
            a.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
            a.add_argument(
                "--all", action="store_true", help="select every record (no filter needed)"
            )
        a.add_argument("--json", action="store_true", help="machine-readable output")
        a.set_defaults(func=run)


@one_line_errors("dlq")
def run(args: argparse.Namespace) -> int:
    """Dispatch to list, show or replay."""
    settings = load_settings()
    if args.dlq_action == "list":
        counts = dlq.Tally()
        asyncio.run(_read(settings, args, counts.add))
        return _list(counts, args)
    if args.dlq_action == "show":
        last: deque[dlq.Refusal] = deque(maxlen=args.limit if args.limit > 0 else None)
        asyncio.run(_read(settings, args, last.append))
        return _show(list(last), args)
    if not _selected_anything(args):
        raise OpsError(
            "replay needs a selection (--reason, --since, --record, ...) or --all; "
            "try --dry-run first"
        )
    selected: list[dlq.Refusal] = []
    asyncio.run(_read(settings, args, selected.append))
    return asyncio.run(_replay(settings, selected, args))


def _records(args: argparse.Namespace) -> set[tuple[int, int]] | None:
    wanted = getattr(args, "record", None)
    if not wanted:
        return None
    out = set()
    for text in wanted:
        parts = text.replace(":", "/").split("/")[-2:]
        try:
            out.add((int(parts[0]), int(parts[1])))
        except (ValueError, IndexError):
            raise OpsError(f"--record {text!r}: write PARTITION/OFFSET, e.g. 0/1234") from None
    return out


async def _read(
    settings: Settings, args: argparse.Namespace, take: Callable[[dlq.Refusal], None]
) -> None:
    """Hand every DLQ record the arguments select to ``take`` (each partition in order)."""
    wanted: Filter = arguments.record_filter(args, settings)
    records = _records(args)
    since = arguments.since_time(args.since) if args.since else None
    async with TopicReader(settings, [settings.topic(topics.DLQ)]) as reader:
        await reader.seek(since)
        with progress.reading("读取 DLQ") as update:
            async for record in reader.to_end(update):
                if records is not None and (record.partition, record.offset) not in records:
                    continue
                v = view(record, topics.DLQ)
                item = dlq.refusal(v)
                if item is not None and wanted.matches(v):
                    take(item)


# ---------------------------------------------------------------------------------- list
#: Each tally's column heading; the table is titled 按<heading>.
_TALLY_COLUMNS = {
    "reason": "原因",
    "network": "来源网络",
    "source_topic": "来源主题",
    "hour": "小时（UTC）",
}


def _list(tally: dlq.Tally, args: argparse.Namespace) -> int:
    counts = tally.by
    if args.json:
        doc = {
            "total": tally.total,
            **{f"by_{k}": dict(v.most_common()) for k, v in counts.items()},
        }
        print(orjson.dumps(doc).decode())
        return 0
    console = Console()
    console.print(f"DLQ 共 {tally.total} 条拒收记录")
    for name, heading in _TALLY_COLUMNS.items():
        if not counts[name]:
            continue
        table = Table(title=f"按{heading}", title_justify="left")
        table.add_column(heading)
        if name == "reason":
            table.add_column("说明")
        table.add_column("条数", justify="right")
        rows = sorted(counts[name].items()) if name == "hour" else counts[name].most_common()
        for value, n in rows:
            cells = (
                [value, vocabulary.word(vocabulary.REASON, value)] if name == "reason" else [value]
            )
            table.add_row(*cells, str(n))
        console.print(table)
    return 0


# ---------------------------------------------------------------------------------- show
def _show(items: list[dlq.Refusal], args: argparse.Namespace) -> int:
    if args.json:
        for item in items:
            doc = item.view.to_json()
            doc["original_value"] = parse_object(item.original)
            print(orjson.dumps(doc).decode())
        return 0
    console = Console(highlight=False)
    for item in items:
        d = item.doc
        console.rule(f"{item.where}  {_when(d.get('at'))}", align="left")
        console.print(
            f"原因：{vocabulary.word(vocabulary.REASON, item.reason)} ({item.reason})\n"
            f"说明：{d.get('detail', '')}\n"
            f"来源：{d.get('source_topic')}[{d.get('partition')}]@{d.get('offset')}"
            + (f" 第 {d['batch_index']} 条" if d.get("batch_index") is not None else "")
            + f"  key={_key(item.key)}"
        )
        original = parse_object(item.original)
        if original is not None:
            console.print("原始记录：")
            console.print_json(data=original, ensure_ascii=False)
        else:
            kind = "base64" if d.get("original_base64") else "文本"
            console.print(f"原始记录（{kind}）：{d.get('original', '')}")
    print(f"（共 {len(items)} 条）", file=sys.stderr)
    return 0


def _when(value: object) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return str(value)


def _key(key: bytes | None) -> str:
    return key.decode("utf-8", errors="replace") if key is not None else "-"


# -------------------------------------------------------------------------------- replay
_STATUS = {
    "would_replay": "待重放",
    "replayed": "已重放",
    "already_replayed": "已重放过，跳过",
    "not_replayable": "来源不是输入主题，不重放",
}


def _selected_anything(args: argparse.Namespace) -> bool:
    return bool(
        args.all
        or args.since
        or args.record
        or any(
            getattr(args, f) for f in ("region", "centre", "case", "action", "network", "reason")
        )
    )


async def _replay(settings: Settings, items: list[dlq.Refusal], args: argparse.Namespace) -> int:
    plan: list[dict[str, Any]] = []
    targets: dict[str, str | None] = {item.where: item.target(settings) for item in items}
    earliest = min((item.view.at for item in items), default=None)
    done: dict[str, str] = {}
    if earliest is not None:
        wanted = {t for t in targets.values() if t is not None}
        with progress.reading("查找已重放记录") as update:
            done = await dlq.replayed_already(settings, wanted, earliest, update)
    for item in items:
        target = targets[item.where]
        status = "would_replay"
        if target is None:
            status = "not_replayable"
        elif item.where in done:
            status = "already_replayed"
        plan.append(
            {
                "dlq": item.where,
                "reason": item.reason,
                "target": target,
                "key": _key(item.key) if item.key is not None else None,
                "status": status,
                "replay": done.get(item.where),
                "item": item,
            }
        )
    todo = [row for row in plan if row["status"] == "would_replay"]
    if not args.dry_run and todo:
        _confirm(len(todo), args)
        await _send(settings, todo)
    _report(plan, args)
    return 0


def _confirm(n: int, args: argparse.Namespace) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise OpsError(
            f"replaying {n} record(s) needs confirmation: run it in a terminal, or pass --yes"
        )
    answer = input(f"重放 {n} 条记录到其来源主题？[y/N] ").strip().lower()
    if answer not in ("y", "yes", "是"):
        raise OpsError("replay cancelled: nothing was sent")


async def _send(settings: Settings, rows: list[dict[str, Any]]) -> None:
    producer = topic_writer.producer(settings)
    await producer.start()
    try:
        sent = []
        for row in rows:
            item: dlq.Refusal = row["item"]
            future = await producer.send(
                row["target"], item.original, key=item.key, headers=dlq.replay_headers(item)
            )
            sent.append((row, future))
        for row, future in sent:
            meta = await future
            row["status"] = "replayed"
            row["replay"] = f"{row['target']}/{meta.partition}/{meta.offset}"
    finally:
        await producer.stop()


def _report(plan: list[dict[str, Any]], args: argparse.Namespace) -> None:
    if args.json:
        for row in plan:
            print(orjson.dumps({k: v for k, v in row.items() if k != "item"}).decode())
        return
    console = Console(highlight=False)
    title = "重放计划（--dry-run，未发送）" if args.dry_run else "重放结果"
    table = Table(title=title, title_justify="left")
    for column in ("DLQ 记录", "原因", "目标主题", "key", "状态", "重放位置"):
        table.add_column(column)
    for row in plan:
        table.add_row(
            row["dlq"],
            f"{vocabulary.word(vocabulary.REASON, row['reason'])} ({row['reason']})",
            row["target"] or "-",
            row["key"] or "-",
            _STATUS[row["status"]],
            row["replay"] or "-",
        )
    console.print(table)
    counts: dict[str, int] = {}
    for row in plan:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = "，".join(f"{_STATUS[k]} {n} 条" for k, n in counts.items()) or "没有匹配的记录"
    console.print(summary)
