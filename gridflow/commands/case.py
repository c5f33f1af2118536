"""``gridflow case CASE_ID``: a case's state and timeline, for the terminal."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

import orjson
from rich.console import Console
from rich.table import Table

from gridflow import topics
from gridflow.config import Settings, load_settings
from gridflow.core.ids import region_of_case
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.regions import RegionGraph
from gridflow.ops import arguments, progress, vocabulary
from gridflow.ops.case_timeline import CaseTimeline
from gridflow.ops.errors import OpsError, one_line_errors
from gridflow.ops.record_view import view
from gridflow.ops.topic_reader import TopicReader
from gridflow.reference import divisions_path

EPILOG = """\
examples:
  gridflow case 500103001003-1a2b3c4d5e6f               state and timeline
  gridflow case 500103001003-1a2b3c4d5e6f --since 3d    read only the last 3 days
  gridflow case 500103001003-1a2b3c4d5e6f --json

Reads grid.dispositions (every step the workers took: 立案, 派遣, 受理, 处置, 核查, 结案,
督办) and grid.events.dlq (feedback for the case that was refused, and why) from the
start, or from --since, without joining the workers' consumer group. On a long-lived
deployment --since saves reading the whole topic.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``case`` subcommand."""
    p = sub.add_parser(
        "case",
        help="a case's current state and timeline (立案 → 派遣 → 处置 → 核查 → 结案)",
        description="Show one case: its state now, which centre holds it, its deadline, the "
        "events merged into it, and every step in order, including refused feedback.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("case_id", metavar="CASE_ID", help="the case id, e.g. 500103001003-1a2b3c4d5e6f")
    arguments.add_since(p)
    p.add_argument("--json", action="store_true", help="state and timeline as one JSON object")
    p.set_defaults(func=run)


@one_line_errors("case")
def run(args: argparse.Namespace) -> int:
    """Read the output topics for the case and print it."""
    if region_of_case(args.case_id) is None:
        raise OpsError(
            f"{args.case_id!r} is not a gridflow case id (12-digit region code, '-', hash)"
        )
    settings = load_settings()
    since = arguments.since_time(args.since) if args.since else None
    timeline = asyncio.run(_read(settings, args.case_id, since))
    if not timeline.found:
        raise OpsError(
            f"case {args.case_id} not found on {settings.topic(topics.DISPOSITIONS)}"
            + (f" since {args.since}" if args.since else "")
        )
    if args.json:
        doc = {**timeline.summary(), "timeline": [s.to_json() for s in timeline.ordered()]}
        print(orjson.dumps(doc).decode())
        return 0
    _print(timeline, _names(settings))
    return 0


async def _read(settings: Settings, case_id: str, since: object) -> CaseTimeline:
    timeline = CaseTimeline(case_id)
    dispositions, dlq_topic = settings.topic(topics.DISPOSITIONS), settings.topic(topics.DLQ)
    async with TopicReader(settings, [dispositions, dlq_topic]) as reader:
        await reader.seek(since)  # type: ignore[arg-type]
        with progress.reading(f"查找案件 {case_id}") as update:
            async for record in reader.to_end(update):
                if record.value is None or case_id.encode() not in record.value:
                    continue  # most records are other cases: skip them before parsing
                if record.topic == dispositions:
                    v = view(record, topics.DISPOSITIONS)
                    if v.facts.case == case_id:
                        timeline.add_disposition(v)
                else:
                    v = view(record, topics.DLQ)
                    if v.facts.case == case_id and v.original and "feedback_id" in v.original:
                        timeline.add_refusal(v)
    return timeline


def _names(settings: Settings) -> RegionGraph | None:
    try:
        return RegionGraph.load_csv(divisions_path(settings))
    except (OSError, ConfigLoadError):
        return None  # names are a courtesy: codes are shown either way


def _centre(code: str, regions: RegionGraph | None) -> str:
    region = regions.get(code) if regions is not None and code else None
    return f"{region.name} {code}" if region else code


_STAGE = {"accept": "受理时限", "resolve": "处置时限"}


def _deadline(summary: dict[str, object]) -> str:
    text = summary.get("deadline")
    if not text:
        return "-"
    when = datetime.fromisoformat(str(text)).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    stage = summary.get("stage")
    return f"{when}（{_STAGE.get(str(stage), str(stage))}）" if stage else when


def _print(timeline: CaseTimeline, regions: RegionGraph | None) -> None:
    s = timeline.summary()
    console = Console(highlight=False)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    holder = s.get("holder") or {}
    rows = [
        ("案件", timeline.case_id),
        ("标题", s.get("title") or "-"),
        ("当前状态", vocabulary.word(vocabulary.STATE, s.get("state"), "-")),
        (
            "承办中心",
            f"{vocabulary.tier_word(holder.get('tier', ''))} {_centre(holder.get('center_code', ''), regions)}"
            if holder
            else "-",
        ),
        ("时限", _deadline(s)),
        ("事项分类", s.get("category") or "-"),
        ("优先级", s.get("priority") or "-"),
        ("发生地", _centre(s.get("region_code") or "", regions) or "-"),
        ("合并事件", f"{len(s.get('events', []))} 条：{'、'.join(s.get('events', [])) or '-'}"),
        ("来源网络", "、".join(s.get("networks", [])) or "-"),
    ]
    for label, value in rows:
        head.add_row(label, value)
    console.print(head)
    table = Table(title="办理过程", title_justify="left")
    for column in ("时间", "环节", "层级", "中心", "办理", "说明"):
        table.add_column(column)
    for step in timeline.ordered():
        table.add_row(
            step.at.astimezone().strftime("%m-%d %H:%M:%S"),
            step.step,
            vocabulary.tier_word(step.tier) if step.tier else "-",
            _centre(step.centre, regions) or "-",
            _centre(step.acted_by, regions) or "-",
            step.detail or "-",
        )
    console.print(table)
