"""``gridflow silence add|list|extend|expire``: silences (屏蔽) for duty officers.

A silence makes reports of a known matter (施工许可 works, an outage being repaired, a
registered public event) join one known-matter case held by the silence's centre instead
of opening cases and escalating. It is written to the compacted topic ``grid.silences``;
every worker reads it and applies it from five seconds after it was written.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from rich.table import Table

from gridflow.commands.rules_diff import console
from gridflow.config import Settings, load_settings
from gridflow.core.durations import DurationError, parse_duration
from gridflow.core.ingest import schema_detail
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.silences import (
    STATE_WORDS,
    SilenceChangeError,
    check_silence,
    expiry_of,
    extension_of,
    silence_state,
)
from gridflow.topics import SILENCES
from schemas.silence import Silence, SilenceKind

KIND_WORDS = {
    SilenceKind.CONSTRUCTION: "施工许可",
    SilenceKind.OUTAGE: "故障抢修",
    SilenceKind.EVENT: "公共活动",
    SilenceKind.OTHER: "其他",
}

ADD_EPILOG = """\
示例 examples:
  gridflow silence add --centre 500103001000 --kind construction --category SJ03 \\
      --near 29.556,106.571,300 --for 30d --author 张三 --comment "地铁 18 号线施工许可 2026-118"
  gridflow silence add --centre 500103000000 --kind outage --category SJ0901 \\
      --region 500103002 --until 2026-12-05T18:00:00+08:00 --author 李四 --comment "供水管网抢修"
  gridflow silence add --centre 500000000000 --kind event --text 演唱会 --text 散场 \\
      --near 29.560,106.550,800 --from 2026-12-24T18:00:00+08:00 --for 6h \\
      --author 市指挥中心 --comment "跨年演唱会 (登记 2026-331)"

匹配 matchers: every one given must hold; a repeated option matches any of its values.
A report matching a silence in force joins the silence's one known-matter case held by
--centre, whichever of its villages reported it: no new case, no escalation, counted in
gridflow_silenced_reports_total and the KPIs' events_in, named in the disposition's reason.
The window is compared with the report's own time; workers apply a silence from five
seconds after it was written.

exit status: 0 written; 2 on a bad option (one line on stderr) or no broker."""

LIST_EPILOG = """\
示例 examples:
  gridflow silence list                  in force and not yet started
  gridflow silence list --all            with ended ones
  gridflow silence list --centre 500103001000 --json"""

EXTEND_EPILOG = """\
示例 examples:
  gridflow silence extend works-3f2a --for 7d --author 张三 --comment "施工许可延期至 12 月底"
  gridflow silence extend works-3f2a --until 2026-12-31T18:00:00+08:00 --author 张三"""

EXPIRE_EPILOG = """\
示例 examples:
  gridflow silence expire works-3f2a --author 张三 --comment "施工已完成"

From five seconds after this, matching reports open cases again."""


class _Refused(Exception):
    """A one-line refusal (printed on stderr, exit 2)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``silence`` and its actions."""
    p = sub.add_parser(
        "silence",
        help="屏蔽: silences for known matters (施工许可, 抢修, 活动): add, list, extend, expire",
        description="Silences (屏蔽) on grid.silences: reports of a known matter join one "
        "known-matter case held by the silence's centre instead of opening cases or "
        "escalating. See docs/silences.md.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="新建屏蔽: create a silence",
        description="Create a silence: its centre, matchers, window, author and comment.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ADD_EPILOG,
    )
    add.add_argument(
        "--centre",
        "--center",
        dest="centre",
        required=True,
        metavar="CODE",
        help="the centre that holds the known matter; the silence acts only within its region",
    )
    add.add_argument(
        "--kind",
        choices=[k.value for k in SilenceKind],
        default="other",
        help="construction 施工许可, outage 故障抢修, event 公共活动, other",
    )
    add.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="CODE",
        help="category code or 大类 (SJ03: every 施工 category); repeatable",
    )
    add.add_argument(
        "--region", metavar="PREFIX", help="village code prefix, e.g. a town's 500103001"
    )
    add.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="NAME",
        help="reporting network, e.g. 12345, chengguan; repeatable",
    )
    add.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="WORD",
        help="a word in the title or description; repeatable (any)",
    )
    add.add_argument("--near", metavar="LAT,LON,METRES", help="reports within this circle")
    add.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="window start, ISO 8601 with offset (default: now)",
    )
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("--until", metavar="TIME", help="window end, ISO 8601 with offset")
    end.add_argument("--for", dest="duration", metavar="DURATION", help="window length: 6h, 30d")
    add.add_argument("--id", dest="silence_id", help="silence id (default: KIND-<8 hex>)")
    _who(add, comment_required=True)
    add.set_defaults(func=run_add)

    listing = actions.add_parser(
        "list",
        help="列出屏蔽: show silences",
        description="Read grid.silences and show every silence in force or not yet started.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=LIST_EPILOG,
    )
    listing.add_argument("--all", action="store_true", help="ended silences too")
    listing.add_argument(
        "--centre", "--center", dest="centre", metavar="CODE", help="only this centre's silences"
    )
    listing.add_argument("--json", action="store_true", help="one JSON array (every field)")
    listing.set_defaults(func=run_list)

    ext = actions.add_parser(
        "extend",
        help="延长屏蔽: move a silence's end later",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXTEND_EPILOG,
    )
    ext.add_argument("silence_id", metavar="ID")
    until = ext.add_mutually_exclusive_group(required=True)
    until.add_argument("--until", metavar="TIME", help="new end, ISO 8601 with offset")
    until.add_argument(
        "--for", dest="duration", metavar="DURATION", help="add this to the current end: 7d"
    )
    _who(ext, comment_required=False)
    ext.set_defaults(func=run_extend)

    exp = actions.add_parser(
        "expire",
        help="解除屏蔽: end a silence now",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXPIRE_EPILOG,
    )
    exp.add_argument("silence_id", metavar="ID")
    _who(exp, comment_required=False)
    exp.set_defaults(func=run_expire)


def _who(parser: argparse.ArgumentParser, *, comment_required: bool) -> None:
    parser.add_argument("--author", help="who does it (default: the login name)")
    parser.add_argument(
        "--comment",
        required=comment_required,
        help="why: the permit, work order or event registration",
    )


# ----------------------------------------------------------------- parsing
def _instant(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise _Refused(f"{option} {text!r} is not an ISO 8601 time with an offset (+08:00)")
    return moment


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except DurationError:
        raise _Refused(f"--for {text!r} is not a duration such as 6h, 30d or 1h30m") from None


def _near(text: str) -> dict[str, float]:
    parts = text.split(",")
    try:
        lat, lon, radius = (float(p) for p in parts)
    except ValueError:
        raise _Refused(
            f"--near {text!r}: expected LAT,LON,METRES, e.g. 29.556,106.571,300"
        ) from None
    return {"lat": lat, "lon": lon, "radius_m": radius}


def _settings() -> Settings:
    settings = load_settings()
    if not settings.kafka_bootstrap:
        raise _Refused("GRIDFLOW_KAFKA_BOOTSTRAP is not set: no broker to read or write silences")
    return settings


def _run(body: Any) -> int:
    try:
        return int(body())
    except _Refused as exc:
        print(f"gridflow silence: {exc}", file=sys.stderr)
    except SilenceChangeError as exc:
        print(f"gridflow silence: {exc} ({exc.reason})", file=sys.stderr)
    except ValidationError as exc:
        print(f"gridflow silence: {schema_detail(exc)}", file=sys.stderr)
    except (ConfigLoadError, TimeoutError) as exc:
        print(f"gridflow silence: {exc}", file=sys.stderr)
    return 2


# ----------------------------------------------------------------- actions
def run_add(args: argparse.Namespace) -> int:
    """Create a silence; 0 when written."""

    def body() -> int:
        from gridflow.reference import load_engine
        from gridflow.silences_topic import publish_silence

        now = datetime.now(UTC)
        start = _instant(args.start, "--from") if args.start else now
        end = _instant(args.until, "--until") if args.until else start + _duration(args.duration)
        kind = SilenceKind(args.kind)
        sid = args.silence_id or f"{kind.value}-{uuid.uuid4().hex[:8]}"
        matchers: dict[str, Any] = {
            "categories": args.category,
            "networks": args.network,
            "text": args.text,
        }
        if args.region:
            matchers["region_prefix"] = args.region
        if args.near:
            matchers["near"] = _near(args.near)
        author = args.author or getpass.getuser()
        silence = Silence.model_validate(
            {
                "silence_id": sid,
                "center_code": args.centre,
                "kind": kind,
                "matchers": matchers,
                "starts_at": start,
                "ends_at": end,
                "author": author,
                "comment": args.comment,
                "created_at": now,
                "changed_by": author,
            }
        )
        settings = _settings()
        engine = load_engine(settings)
        check_silence(silence, engine.regions, engine.catalogue)
        existing = asyncio.run(_book(settings)).get(sid)
        if existing is not None:
            raise _Refused(f"silence {sid} exists already (use extend or expire)")
        asyncio.run(publish_silence(settings, silence))
        print(
            f"已新建屏蔽 {sid} ({KIND_WORDS[kind]}) 承办中心 {silence.center_code}: "
            f"{_local(silence.starts_at)} 至 {_local(silence.ends_at)}, 写入 {settings.topic(SILENCES)}"
        )
        return 0

    return _run(body)


def run_list(args: argparse.Namespace) -> int:
    """Show silences; 0."""

    def body() -> int:
        settings = _settings()
        now = datetime.now(UTC)
        silences = [
            s
            for s in asyncio.run(_book(settings)).latest()
            if (args.all or silence_state(s, now) != "expired")
            and (args.centre is None or s.center_code == args.centre)
        ]
        if args.json:
            rows = [{**s.model_dump(mode="json"), "state": silence_state(s, now)} for s in silences]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not silences:
            print("没有屏蔽 (no silences)" + ("" if args.all else "; --all shows ended ones"))
            return 0
        table = Table()
        for column in (
            "编号 id",
            "状态",
            "类型",
            "承办中心",
            "开始",
            "结束",
            "匹配 matchers",
            "作者",
            "说明",
        ):
            table.add_column(column)
        for s in silences:
            table.add_row(
                s.silence_id,
                STATE_WORDS[silence_state(s, now)],
                KIND_WORDS[s.kind],
                s.center_code,
                _local(s.starts_at),
                _local(s.ends_at),
                _matchers(s),
                s.author if not s.revision else f"{s.author} ({s.change} by {s.changed_by})",
                s.comment,
            )
        console().print(table)
        return 0

    return _run(body)


def run_extend(args: argparse.Namespace) -> int:
    """Extend a silence; 0 when written."""

    def body() -> int:
        settings = _settings()
        current = _current(settings, args.silence_id)
        changed = extension_of(
            current,
            by=args.author or getpass.getuser(),
            at=datetime.now(UTC),
            until=_instant(args.until, "--until") if args.until else None,
            duration=_duration(args.duration) if args.duration else None,
            comment=args.comment,
        )
        _publish(settings, changed)
        print(f"已延长屏蔽 {changed.silence_id} 至 {_local(changed.ends_at)}")
        return 0

    return _run(body)


def run_expire(args: argparse.Namespace) -> int:
    """End a silence now; 0 when written."""

    def body() -> int:
        settings = _settings()
        current = _current(settings, args.silence_id)
        changed = expiry_of(
            current, by=args.author or getpass.getuser(), at=datetime.now(UTC), comment=args.comment
        )
        _publish(settings, changed)
        print(f"已解除屏蔽 {changed.silence_id} ({_local(changed.ends_at)})")
        return 0

    return _run(body)


# ----------------------------------------------------------------- helpers
async def _book(settings: Settings) -> Any:
    from gridflow.silences_topic import read_silences

    return await read_silences(settings)


def _current(settings: Settings, silence_id: str) -> Silence:
    found = asyncio.run(_book(settings)).get(silence_id)
    if found is None:
        raise _Refused(f"no silence {silence_id} (gridflow silence list --all shows them)")
    assert isinstance(found, Silence)
    return found


def _publish(settings: Settings, silence: Silence) -> None:
    from gridflow.silences_topic import publish_silence

    asyncio.run(publish_silence(settings, silence))


_CN = timedelta(hours=8)


def _local(moment: datetime) -> str:
    """China time, to the minute (duty officers' clock)."""
    return (moment.astimezone(UTC) + _CN).strftime("%Y-%m-%d %H:%M")


def _matchers(s: Silence) -> str:
    m = s.matchers
    parts = []
    if m.categories:
        parts.append("类别 " + ",".join(m.categories))
    if m.region_prefix:
        parts.append("区域 " + m.region_prefix)
    if m.networks:
        parts.append("来源 " + ",".join(n.value for n in m.networks))
    if m.text:
        parts.append("关键词 " + ",".join(m.text))
    if m.near:
        parts.append(f"{m.near.radius_m:g} 米内 ({m.near.lat:.5f},{m.near.lon:.5f})")
    return "; ".join(parts)
