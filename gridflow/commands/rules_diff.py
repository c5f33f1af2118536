"""``gridflow rules diff``: what a rules change would have decided differently.

Replays recorded input records (events and feedback, as ``gridflow simulate --out``
writes them, or as read from the topics) through the old and the new rules directory
with the worker's own code (:mod:`gridflow.core.replay`), offline and deterministically,
and prints every decision that differs, grouped and counted, with examples.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console
from rich.table import Table

from gridflow.config import load_settings
from gridflow.core.load_errors import ConfigLoadError
from gridflow.ops.errors import OpsError
from gridflow.topics import EVENTS_IN

if TYPE_CHECKING:  # the engine pulls in jieba: slow for `--help`
    from gridflow.core.engine import Engine
    from gridflow.core.replay import Record, ReplayResult
    from gridflow.core.rules_diff import ChangeGroup

DIFF_EPILOG = """\
examples:
  gridflow simulate --count 5000 --seed 7 --out week.jsonl     record events (no broker needed)
  gridflow rules diff routing_rules/ ./new_rules --events week.jsonl
  gridflow rules diff old/ new/ --events week.jsonl --from 2026-11-02T00:00:00+08:00 \\
      --to 2026-11-09T00:00:00+08:00
  gridflow rules diff old/ new/ --events week.jsonl --json | jq '.groups[] | [.field, .change, .count]'
  gridflow rules diff old/ new/ --topic grid.events.in --from 2026-11-02T00:00:00+08:00 \
      --to 2026-11-09T00:00:00+08:00                  what last week's traffic would have done

--events FILE holds input records: JSON lines, one grid.events.in or grid.feedback value
per line (an object, or an array of them: a batch), or one JSON array of such values. A
record naming a feedback_id is feedback. Each record is taken as received at its own time
(reported_at, or a feedback's at), or at the previous record's time when that is later;
SLA timers fire at their due instants, up to --to (default: the last record's time).

--topic grid.events.in reads the recorded records from the deployment's topics instead
(GRIDFLOW_KAFKA_BOOTSTRAP, GRIDFLOW_TOPIC_PREFIX): grid.events.in and its feedback from
grid.feedback, from the first record at --from (by record time; default: the beginning)
to the end as it is when the command starts, records stamped at or after --to left out;
progress goes to stderr. Nothing is committed and no worker is disturbed.
Deadlines are not scaled (GRIDFLOW_SLA_SCALE is ignored). Records that the worker would
refuse (schema, unknown region or network) are compared too: a region dropped from the
division tree shows as a refusal.

Compared for every case: opened or not, merged reports, category, priority, tier, centre,
department, policy, rule, tiers informed, the first accept and resolve deadlines, the
escalations, and the final state.

exit status: 0 when nothing changes, 1 when some decision changes (like `rules test
--cases`), 2 on bad input or rules (one line, file:line where there is one).
"""


def add_diff(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rules diff`` to the ``rules`` subcommands."""
    diff = actions.add_parser(
        "diff",
        help="replay recorded events through two rules directories and show what changes",
        description="Replay recorded grid events and feedback through the OLD and the NEW "
        "rules directory with the worker's own code, offline and deterministically, and "
        "print every decision that differs (category, tier, centre, department, policy, "
        "deadlines, escalations), grouped and counted, with examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=DIFF_EPILOG,
    )
    diff.add_argument("old", type=Path, metavar="OLD", help="the rules directory in force")
    diff.add_argument("new", type=Path, metavar="NEW", help="the changed rules directory")
    source = diff.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--events",
        type=Path,
        metavar="FILE",
        help="recorded input records (JSON lines or a JSON array; see below)",
    )
    source.add_argument(
        "--topic",
        metavar="TOPIC",
        choices=[EVENTS_IN],
        help="read the recorded events (and their feedback from grid.feedback) from the "
        "deployment's topics instead of a file",
    )
    diff.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="replay only inputs at or after TIME (ISO 8601 with offset)",
    )
    diff.add_argument(
        "--to",
        dest="until",
        metavar="TIME",
        help="replay only inputs before TIME; timers run up to TIME (ISO 8601 with offset)",
    )
    diff.add_argument(
        "--divisions",
        type=Path,
        metavar="CSV",
        help="division tree CSV for both (default: each directory's own, else the bundled one)",
    )
    diff.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per group (default 3)"
    )
    diff.add_argument("--json", action="store_true", help="print one JSON object (for CI)")
    diff.set_defaults(func=run_diff)


def _instant(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValueError(f"{option} {text!r}: not an ISO 8601 time with an offset")
    return moment.timestamp()


def read_records(path: Path) -> list[Record]:
    """The records of an events file; ConfigLoadError when it cannot be read or is empty."""
    from gridflow.core.replay import Record

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None
    records: list[Record] = []
    if data.lstrip().startswith(b"["):
        try:
            whole = orjson.loads(data)
        except orjson.JSONDecodeError:
            whole = None
        # One array of records (a file holding one batch record gives the same events).
        if isinstance(whole, list):
            records = [Record(i + 1, orjson.dumps(item)) for i, item in enumerate(whole)]
    if not records:
        records = [
            Record(number, line.rstrip(b"\r"))
            for number, line in enumerate(data.split(b"\n"), start=1)
            if line.strip()
        ]
    if not records:
        raise ConfigLoadError(path, None, "no records: the file is empty")
    return records


def read_topic_records(topic: str, start: float | None, until: float | None) -> list[Record]:
    """The records of ``topic`` and of grid.feedback between ``start`` and ``until``.

    In record-time order (ties: topic, partition, offset), so the replay is the same
    whatever the partitions' interleaving; OpsError when there is no broker or topic.
    """
    import asyncio

    from gridflow.core.replay import Record
    from gridflow.ops.topic_reader import TopicReader
    from gridflow.topics import FEEDBACK

    settings = load_settings()
    names = [settings.topic(topic), settings.topic(FEEDBACK)]
    rank = {name: i for i, name in enumerate(names)}
    tty = sys.stderr.isatty()
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - shown[0] >= (0.2 if tty else 5.0):
            shown[0] = now
            end = "\r" if tty and done < total else "\n"
            print(
                f"reading {', '.join(names)}: {done:,}/{total:,} records", end=end, file=sys.stderr
            )

    async def read() -> list[Any]:
        found: list[Any] = []
        async with TopicReader(settings, names) as reader:
            await reader.seek(None if start is None else datetime.fromtimestamp(start, UTC))
            async for record in reader.to_end(progress):
                if record.value is None:
                    continue
                if until is not None and record.timestamp_ms / 1000.0 >= until:
                    continue
                found.append(record)
        return found

    found = asyncio.run(read())
    found.sort(key=lambda r: (r.timestamp_ms, rank[r.topic], r.partition, r.offset))
    records = [Record(i + 1, r.value) for i, r in enumerate(found)]
    if not records:
        raise ConfigLoadError(names[0], None, "no records in the time asked for")
    return records


def _engine(directory: Path, divisions: Path | None) -> Engine:
    from gridflow.reference import load_engine

    if not directory.is_dir():
        raise ConfigLoadError(directory, None, "not a rules directory")
    overrides: dict[str, object] = {"rules": directory, "sla_scale": 1.0}
    if divisions is not None:
        overrides["divisions"] = divisions
    return load_engine(load_settings(**overrides))


def run_diff(args: argparse.Namespace) -> int:
    """Run ``rules diff``: 0 when nothing changes, 1 when something does, 2 on errors."""
    from gridflow.core.replay import replay
    from gridflow.core.rules_diff import diff_replays, group_changes

    try:
        start = _instant("--from", args.start)
        until = _instant("--to", args.until)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if start is not None and until is not None and until <= start:
        print("--to must be after --from", file=sys.stderr)
        return 2
    try:
        if args.topic is not None:
            records = read_topic_records(args.topic, start, until)
        else:
            records = read_records(args.events)
        old_engine = _engine(args.old, args.divisions)
        new_engine = _engine(args.new, args.divisions)
    except (ConfigLoadError, OpsError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    progress = sys.stderr.isatty()
    results = []
    for label, engine in (("old", old_engine), ("new", new_engine)):
        if progress:
            print(f"replaying {len(records):,} records with the {label} rules…", file=sys.stderr)
        # From a topic, --from already chose the records by when they reached the broker.
        first = start if args.topic is None else None
        results.append(replay(engine, records, start=first, until=until))
    old, new = results
    tz = new_engine.rules.calendar.tzinfo
    groups = group_changes(diff_replays(old, new, tz))
    document = _document(args, old, new, groups)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        _print(document, max(0, args.examples))
    return 1 if groups else 0


def _document(
    args: argparse.Namespace, old: ReplayResult, new: ReplayResult, groups: list[ChangeGroup]
) -> dict[str, Any]:
    from gridflow.core.rules_diff import FIELDS

    def side(directory: Path, result: ReplayResult) -> dict[str, Any]:
        return {
            "directory": str(directory),
            "rules_version": result.rules_version,
            "cases": len(result.cases),
            "refused": len(result.refused),
            "escalations": sum(len(c.escalations) for c in result.cases.values()),
        }

    return {
        "events_file": str(args.events) if args.topic is None else f"topic {args.topic}",
        "records": new.records,
        "events": new.events,
        "feedback": new.feedback,
        "skipped": new.skipped,
        "old": side(args.old, old),
        "new": side(args.new, new),
        "changes": sum(g.count for g in groups),
        "groups": [
            {
                "field": g.field,
                "label": FIELDS[g.field],
                "change": g.group,
                "count": g.count,
                "cases": [
                    {"id": c.subject, "title": c.title, "old": c.old, "new": c.new}
                    for c in g.changes
                ],
            }
            for g in groups
        ],
    }


def console() -> Console:
    """Plain output (no markup: ids hold brackets); wide when not a terminal (CI logs)."""
    return Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 160)


def _print(doc: dict[str, Any], examples: int) -> None:
    out = console()
    skipped = f", {doc['skipped']:,} outside --from/--to" if doc["skipped"] else ""
    out.print(
        f"回放 replay  {doc['events_file']}: {doc['records']:,} records, "
        f"{doc['events']:,} events, {doc['feedback']:,} feedback{skipped}"
    )
    sides = Table(title_justify="left")
    for column in (
        "规则",
        "directory",
        "version",
        "立案 cases",
        "拒收 refused",
        "升级 escalations",
    ):
        sides.add_column(column, no_wrap=column == "version")
    for key, name in (("old", "旧 old"), ("new", "新 new")):
        side = doc[key]
        sides.add_row(
            name,
            side["directory"],
            side["rules_version"],
            f"{side['cases']:,}",
            f"{side['refused']:,}",
            f"{side['escalations']:,}",
        )
    out.print(sides)
    if not doc["groups"]:
        out.print("无变更 no decision changes")
        return
    table = Table(
        title=f"变更 {doc['changes']:,} changed decisions in {len(doc['groups'])} groups",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("字段 field", no_wrap=True)
    table.add_column("变化 change")
    table.add_column("数量 count", justify="right")
    table.add_column("例 examples")
    for group in doc["groups"]:
        shown = []
        for case in group["cases"][:examples]:
            title = f" 「{case['title'][:16]}」" if case["title"] else ""
            detail = f" {case['old']} → {case['new']}" if group["field"] in _DETAILED else ""
            shown.append(f"{case['id']}{title}{detail}")
        table.add_row(group["label"], group["change"], f"{group['count']:,}", "\n".join(shown))
    out.print(table)


#: Fields whose group does not say the values: examples show old → new.
_DETAILED = frozenset({"accept_by", "resolve_by", "escalations", "events"})
