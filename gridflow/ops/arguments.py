"""Arguments the on-call commands share: where to start reading and what to keep."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from gridflow.config import Settings
from gridflow.core.durations import parse_duration
from gridflow.core.regions import RegionGraph
from gridflow.ops.errors import OpsError
from gridflow.ops.record_view import Filter
from gridflow.reference import divisions_path


def since_time(text: str, now: datetime | None = None) -> datetime:
    """``10m``, ``2h``, ``1d`` ago, or an RFC 3339 time (``2026-12-04T08:00:00+08:00``)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return (now or datetime.now(UTC)) - parse_duration(text)
    if when.tzinfo is None:
        raise OpsError(f"--since {text!r} needs an offset, e.g. {text}+08:00")
    return when


def add_since(parser: argparse.ArgumentParser, default_all: bool = True) -> None:
    where = "everything still on the topic" if default_all else "the end"
    parser.add_argument(
        "--since",
        metavar="AGO|TIME",
        help=f"start at records written since then: 10m, 2h, 1d or an RFC 3339 time "
        f"(default: {where})",
    )


def add_filters(parser: argparse.ArgumentParser, *, reason: bool = True) -> None:
    group = parser.add_argument_group("filters (all given must match)")
    group.add_argument(
        "--region", metavar="CODE", help="region code; a town or county keeps its whole subtree"
    )
    group.add_argument("--centre", "--center", dest="centre", metavar="CODE", help="centre code")
    group.add_argument("--case", metavar="CASE_ID", help="case id")
    group.add_argument("--action", help="disposition or feedback action, e.g. dispatch, accept")
    group.add_argument("--network", help="source network, e.g. chengguan")
    if reason:
        group.add_argument("--reason", help="DLQ reason, e.g. unknown_region, schema")


def record_filter(args: argparse.Namespace, settings: Settings) -> Filter:
    """The filter the arguments ask for; loads the division tree only for ``--region``."""
    region = getattr(args, "region", None)
    regions = RegionGraph.load_csv(divisions_path(settings)) if region else None
    return Filter(
        region=region,
        centre=getattr(args, "centre", None),
        case=getattr(args, "case", None),
        action=getattr(args, "action", None),
        reason=getattr(args, "reason", None),
        network=getattr(args, "network", None),
        regions=regions,
    )
