"""``gridflow rules publish`` and ``gridflow rules list``: versioned bundles on ``grid.rules``.

``publish DIR`` checks the directory strictly (as ``rules check``) and publishes it as a
bundle (decision files, content hash, label, author's note, ``effective_from``);
``publish --version V`` republishes a published version with a new ``effective_from``
(a rollback); ``list`` shows what was published.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import datetime
from pathlib import Path

from rich.table import Table

from gridflow.commands.rules_diff import console
from gridflow.config import Settings, load_settings
from gridflow.core.load_errors import ConfigLoadError
from gridflow.topics import RULES

HOT_RELOAD = """\
Running workers pick a publication up without a restart and all switch at effective_from
by event time: every report, feedback and timer tick stamped at or after it is decided by
the new bundle, everything before by the one in force then. Open cases keep the deadlines
they were given; stages started after the switch use the new policies. An effective_from
earlier than the publication is clamped to it: decisions already made stay made. A bundle
a worker cannot load is refused (log line, gridflow_rules_reload_failures_total) and the
worker keeps its rules (see docs/routing-rules.md, "Lifecycle")."""

PUBLISH_EPILOG = f"""\
examples:
  gridflow rules publish ./rules --label 2026-12 --note "公交站亭 移交公交集团"
  gridflow rules publish ./rules --label 2026-12b --note "暴露垃圾 受理 20 分钟" \\
      --effective-from 2026-12-08T00:00:00+08:00
  gridflow rules list
  gridflow rules publish --version 57f6d6039cfb --note "回退: 恢复 11 月规则"   roll back

The bundle is keyed by its version (the rules version: a hash over every decision file)
on the compacted topic grid.rules, so each version's latest publication is kept;
republishing a version with a later effective_from makes it the one in force again.

{HOT_RELOAD}

exit status: 0 when published, 2 on invalid rules (file:line: what is wrong) or no broker.
"""

LIST_EPILOG = f"""\
examples:
  gridflow rules list
  gridflow rules list --json | jq '.[] | [.version, .label]'

"*" marks the version whose effective_from is the latest one not in the future.

{HOT_RELOAD}
"""


def add_publish(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rules publish`` and ``rules list`` to the ``rules`` subcommands."""
    publish = actions.add_parser(
        "publish",
        help="check a rules directory and publish it as a versioned bundle to grid.rules; "
        "running workers switch to it at effective_from",
        description="Check DIR strictly (as `rules check`) and publish it to the compacted "
        "topic grid.rules as a bundle: every decision file, the rules version (their hash), "
        "a label, an author's note and effective_from. With --version, republish a "
        "published version with a new effective_from (rollback).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=PUBLISH_EPILOG,
    )
    what = publish.add_mutually_exclusive_group(required=True)
    what.add_argument("directory", nargs="?", type=Path, metavar="DIR", help="rules directory")
    what.add_argument(
        "--version", dest="republish", metavar="V", help="republish published version V"
    )
    publish.add_argument("--label", help="version label, e.g. 2026-12 (required with DIR)")
    publish.add_argument("--note", help="the author's note: what changed and why")
    publish.add_argument("--author", help="who publishes (default: the login name)")
    publish.add_argument(
        "--effective-from",
        metavar="TIME",
        help="when the bundle takes effect, by event time (ISO 8601 with offset; default: now)",
    )
    publish.add_argument(
        "--divisions",
        type=Path,
        metavar="CSV",
        help="division tree CSV (default: GRIDFLOW_DIVISIONS, else the directory's own)",
    )
    publish.set_defaults(func=run_publish)

    listing = actions.add_parser(
        "list",
        help="show the published rules versions",
        description="Read grid.rules and show every published version: label, version "
        "(hash), author and note, effective_from, published at.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=LIST_EPILOG,
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=run_list)


def _settings(**overrides: object) -> Settings:
    settings = load_settings(**overrides)
    if not settings.kafka_bootstrap:
        raise ConfigLoadError("GRIDFLOW_KAFKA_BOOTSTRAP", None, "not set: no broker to publish to")
    return settings


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ConfigLoadError(
            "--effective-from", None, f"{text!r} is not an ISO 8601 time with an offset"
        )
    return moment


def run_publish(args: argparse.Namespace) -> int:
    """Publish a directory or republish a version; 0 when published, 2 on an error."""
    from gridflow.commands.rules import _check
    from gridflow.rules_bundles import (
        build_bundle,
        dropped_policies,
        now_utc,
        publish,
        read_bundles,
    )

    try:
        published_at = now_utc()
        effective_from = _instant(args.effective_from) or published_at
        if args.republish is not None:
            settings = _settings()
            found = [
                b
                for b in asyncio.run(read_bundles(settings))
                if b.version == args.republish or b.label == args.republish
            ]
            if not found:
                raise ConfigLoadError(
                    "--version", None, f"{args.republish}: no such published version"
                )
            bundle = found[-1].model_copy(
                update={
                    "effective_from": effective_from,
                    "published_at": published_at,
                    "note": found[-1].note if args.note is None else args.note,
                    "author": args.author or getpass.getuser(),
                }
            )
        else:
            if not args.label:
                raise ConfigLoadError("--label", None, "a label is required with DIR")
            overrides: dict[str, object] = {"rules": args.directory}
            if args.divisions is not None:
                overrides["divisions"] = args.divisions
            settings = _settings(**overrides)
            if not args.directory.is_dir():
                raise ConfigLoadError(args.directory, None, "not a rules directory")
            # Strict, as `rules check`; prints the counts. A holiday calendar that does not
            # cover the next 90 days is reported there but does not stop a publication:
            # the alert GridflowCalendarCoverageEnding keeps watching it.
            _check(settings)
            bundle = build_bundle(
                args.directory,
                settings.divisions,
                label=args.label,
                note=args.note or "",
                author=args.author or getpass.getuser(),
                effective_from=effective_from,
                published_at=published_at,
            )
            dropped = dropped_policies(bundle, asyncio.run(read_bundles(settings)))
            if dropped:
                name, label = next(iter(dropped.items()))
                raise ConfigLoadError(
                    args.directory / "policies.yaml",
                    None,
                    f"drops SLA policy {name!r} of published version {label} "
                    f"({len(dropped)} in all): open cases name it and workers would refuse "
                    "the bundle; keep the policy (unused policies are allowed)",
                )
        asyncio.run(publish(settings, bundle))
    except (ConfigLoadError, TimeoutError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"published {bundle.version} ({bundle.label}) to {settings.topic(RULES)}, "
        f"effective from {bundle.effective_from.isoformat()}"
    )
    if bundle.effective_from < published_at:
        print(
            f"note: effective_from is before the publication; workers switch at "
            f"{published_at.isoformat(timespec='seconds')} (decisions already made stay made)"
        )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List the published versions; 0, or 2 on an error."""
    from gridflow.rules_bundles import bundle_in_force, now_utc, read_bundles

    try:
        settings = _settings()
        bundles = asyncio.run(read_bundles(settings))
    except (ConfigLoadError, TimeoutError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    current = bundle_in_force(bundles, now_utc())
    if args.json:
        rows = [
            {
                "version": b.version,
                "label": b.label,
                "author": b.author,
                "note": b.note,
                "effective_from": b.effective_from.isoformat(),
                "published_at": b.published_at.isoformat(),
                "in_force": b is current,
            }
            for b in bundles
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not bundles:
        print("no rules published yet (gridflow rules publish DIR --label L --note N)")
        return 0
    table = Table()
    for column in ("", "版本 label", "version", "生效 effective from", "发布 published", "author"):
        table.add_column(column, no_wrap=column != "author")
    table.add_column("说明 note")
    for b in bundles:
        table.add_row(
            "*" if b is current else "",
            b.label,
            b.version,
            b.effective_from.isoformat(timespec="seconds"),
            b.published_at.astimezone(b.effective_from.tzinfo).isoformat(timespec="seconds"),
            b.author,
            b.note,
        )
    console().print(table)
    return 0
