"""``gridflow rules``: validate the rules directory, and show how an event would be routed.

``rules check`` loads everything a worker loads (division tree, catalogue and network
code maps, keywords, routes, SLA policies, calendar), strictly, and prints counts and the
rules version, or the first error as ``file:line: message`` with exit status 2. It also
fails when the official holiday calendar does not cover the next 90 days: deadlines
counted there would skip no bridging day and keep no make-up workday.

``rules test`` takes one GridEvent and prints the routing decision the way ``amtool config
routes test`` does for Alertmanager: every matching route, the deciding one, the centre
that would get the dispatch, and the SLA deadlines counted from the event's
``reported_at``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridflow.config import Settings, load_settings
from gridflow.core.durations import format_duration
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules import RouteFacts, RuleSet
from gridflow.core.sla import stage_deadline
from gridflow.core.tiers import TIERS_DOWN

CHECK_EPILOG = """\
examples:
  gridflow rules check                       the directory in GRIDFLOW_RULES (default: the bundled rules)
  gridflow rules check ./my_city_rules       another directory
  gridflow rules check --divisions tree.csv  with another division tree
  gridflow rules check --as-of 2026-12-01    the calendar's coverage as seen on that day

exit status: 0 when everything loads and the holiday calendar covers the next
--horizon-days (90) days; 2 with "file:line: message" on the first error.
"""

TEST_EPILOG = """\
examples:
  gridflow rules test --event event.json
  echo '{"event_id":"e1","source_network":"chengguan","reported_at":"2025-09-30T16:00:00+08:00",
        "region_code":"500103001003","title":"路边垃圾堆满了没人清"}' | gridflow rules test --event -
  gridflow rules test --event event.json --json | jq .decision.policy

The category comes from the event's "category" (a unified code or the network's own code)
or, when absent, from the text classifier; the severity from the category, the reporter's
hint and the text, as the worker does. Routing uses the local time of "reported_at".
Deadlines assume the case is dispatched at "reported_at" and accepted at once; they are
scaled by --scale (default GRIDFLOW_SLA_SCALE).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rules`` with its ``check`` and ``test`` subcommands."""
    parser = sub.add_parser(
        "rules",
        help="validate the routing rules, or test how an event is routed",
        description="Work with the rules directory: routes.yaml (routing tree), "
        "policies.yaml (SLA policies), calendar.yaml (working hours), catalogue.yaml, "
        "networks.yaml, keywords.yaml and the division tree. See docs/routing-rules.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  gridflow rules check\n  gridflow rules test --event event.json\n",
    )
    parser.set_defaults(func=lambda _args: _help(parser))
    actions = parser.add_subparsers(dest="rules_command", metavar="ACTION")

    check = actions.add_parser(
        "check",
        help="load every rules file strictly and report what is wrong",
        description="Load the division tree, catalogue, network code maps, keywords, routes, "
        "SLA policies and calendar the way a worker does, and print counts and the rules "
        "version, or the first error as file:line: message.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=CHECK_EPILOG,
    )
    check.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="rules directory (default: GRIDFLOW_RULES, else the bundled routing_rules/)",
    )
    _add_divisions(check)
    check.add_argument(
        "--as-of",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="the day the calendar's coverage is checked from (default: today, local)",
    )
    check.add_argument(
        "--horizon-days",
        type=int,
        default=90,
        metavar="N",
        help="the official holiday days must be known N days ahead (default 90)",
    )
    check.set_defaults(func=run)

    test = actions.add_parser(
        "test",
        help="show how one GridEvent would be routed, and its SLA deadlines",
        description="Route one GridEvent (JSON, as sent to grid.events.in) through the rules "
        "and print every matching route, the deciding rule, the tier and the centre that "
        "would receive the dispatch, department, SLA policy and deadlines, priority and "
        "the tiers informed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TEST_EPILOG,
    )
    test.add_argument(
        "--event", required=True, metavar="FILE", help="GridEvent JSON file, or - for stdin"
    )
    test.add_argument(
        "--rules", type=Path, metavar="DIR", help="rules directory (default: GRIDFLOW_RULES)"
    )
    _add_divisions(test)
    test.add_argument(
        "--scale",
        type=float,
        metavar="F",
        help="compress SLA intervals by F (default: GRIDFLOW_SLA_SCALE, normally 1)",
    )
    test.add_argument("--json", action="store_true", help="print one JSON object instead")
    test.set_defaults(func=run)


def _add_divisions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--divisions",
        type=Path,
        metavar="CSV",
        help="division tree CSV (default: GRIDFLOW_DIVISIONS, else the bundled Chongqing tree)",
    )


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``rules check`` or ``rules test``; 0 on success, 2 on a rules or input error."""
    directory = getattr(args, "directory", None) or getattr(args, "rules", None)
    overrides: dict[str, object] = {}
    if directory is not None:
        overrides["rules"] = directory
    if args.divisions is not None:
        overrides["divisions"] = args.divisions
    settings = load_settings(**overrides)
    try:
        if args.rules_command == "check":
            return _check(settings, args.as_of, args.horizon_days)
        return _test(settings, args)
    except ConfigLoadError as exc:
        print(str(exc), file=sys.stderr)
        return 2


def _check(settings: Settings, as_of: date | None, horizon_days: int) -> int:
    # Imported here: loading the reference data pulls in jieba, slow for `--help`.
    from gridflow.core.severity import SeverityRules
    from gridflow.reference import divisions_path, load_engine

    engine = load_engine(settings)
    keywords = settings.rules / "keywords.yaml"
    SeverityRules.load(keywords)
    # Again with the division tree, so every region_prefix must name real regions.
    rules = RuleSet.load(
        settings.rules,
        engine.catalogue,
        regions=engine.regions,
        divisions=divisions_path(settings),
    )
    tiers = Counter(region.tier for region in engine.regions)
    routes = list(rules.routes())
    used = {route.policy for route in routes} | {c.sla_policy for c in engine.catalogue.categories}
    used |= set(engine.catalogue.policy_names())
    calendar = rules.calendar
    periods = " ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in calendar.periods)
    today = as_of or datetime.now(calendar.tzinfo).date()
    covered = rules.covered_until(today)
    horizon = today + timedelta(days=horizon_days)
    if covered < horizon:
        print(
            f"{settings.rules / 'calendar.yaml'}: the official holidays are known only until "
            f"{covered:%Y-%m-%d}, but deadlines reach {horizon:%Y-%m-%d} ({horizon_days} days "
            f"from {today:%Y-%m-%d}): enter the State Council's {covered.year + 1} notice "
            "(holidays:, workdays:, notice_years:) or upgrade chinese-calendar/holidays",
            file=sys.stderr,
        )
        return 2
    print(f"OK {settings.rules} (rules version {rules.version})")
    print(
        f"  regions    {len(engine.regions)}: "
        + ", ".join(f"{tiers[t]} {t.value}" for t in TIERS_DOWN)
    )
    print(
        f"  catalogue  {len(engine.catalogue)} categories in "
        f"{len(engine.catalogue.majors())} 大类, {len(engine.catalogue.networks)} networks"
    )
    print(f"  keywords   {keywords.name}")
    print(f"  routes     {len(routes)} (root {rules.root.id!r})")
    print(f"  policies   {len(rules.policies)}: {', '.join(rules.policies)}")
    print(f"  calendar   {calendar.tz}, {periods}; calendars {', '.join(sorted(rules.calendars))}")
    print(f"  holidays   official days known until {covered:%Y-%m-%d}")
    for name in rules.policies:
        if name not in used:
            print(f"  note: policy {name!r} is used by no route and no category")
    return 0


def _read_event(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def _test(settings: Settings, args: argparse.Namespace) -> int:
    from gridflow.core.severity import SeverityRules, assess_severity
    from gridflow.reference import load_engine
    from schemas.grid_event import GridEvent

    try:
        event = GridEvent.model_validate_json(_read_event(args.event))
    except OSError as exc:
        print(f"{args.event}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in error['loc']) or '(event)'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        print(f"{args.event}: not a valid GridEvent:\n{problems}", file=sys.stderr)
        return 2
    engine = load_engine(settings)
    keywords = settings.rules / "keywords.yaml"
    severity_rules = SeverityRules.load(keywords) if keywords.is_file() else None
    rules, catalogue, regions = engine.rules, engine.catalogue, engine.regions
    if event.region_code not in regions:
        print(f"region {event.region_code} is not in the division tree", file=sys.stderr)
        return 2

    text = " ".join(t for t in (event.title, event.description) if t)
    category = catalogue.resolve(event.source_network, event.category)
    source = "from the report"
    matched_words: tuple[str, ...] = ()
    if category is None:
        classified = engine.classifier.classify(text)
        category = catalogue.get(classified.code) or catalogue.get(catalogue.fallback)
        source, matched_words = "classified from the text", classified.matched
    if category is None:  # the catalogue loader guarantees the fallback exists
        raise LookupError("catalogue has no fallback category")
    severity = assess_severity(
        category,
        event.severity,
        text,
        reporter_role=event.reporter.role if event.reporter else None,
        rules=severity_rules,
    )
    reported = rules.calendar.to_local(event.reported_at)
    decision = rules.route(
        RouteFacts(
            category=category.code,
            kind=category.kind,
            network=event.source_network,
            severity=severity,
            region_code=event.region_code,
            local_time=reported.time(),
            request_type=event.request_type,
        )
    )
    policy = rules.policies[decision.policy]
    scale = settings.sla_scale if args.scale is None else args.scale
    calendar = rules.calendar_for(policy)
    accept_by = stage_deadline(calendar, policy, "accept", reported, scale)
    resolve_by = stage_deadline(calendar, policy, "resolve", reported, scale)
    centre = regions.ancestor(event.region_code, decision.tier)
    informed = [(tier, regions.ancestor(event.region_code, tier)) for tier in decision.inform]

    def region_name(code: str) -> str:
        region = regions.get(code)
        return region.name if region else "?"

    result: dict[str, Any] = {
        "event_id": event.event_id,
        "category": {
            "code": category.code,
            "name": category.name,
            "source": source,
            "keywords": list(matched_words),
        },
        "severity": severity.value,
        "local_time": reported.isoformat(),
        "decision": {
            "matched": list(decision.matched),
            "rule": decision.rule,
            "tier": decision.tier.value,
            "center_code": centre,
            "center_name": region_name(centre),
            "department": decision.department,
            "policy": decision.policy,
            "priority": decision.priority.value if decision.priority else None,
            "inform": [{"tier": t.value, "center_code": c} for t, c in informed],
        },
        "sla": {
            "clock": policy.clock,
            "scale": scale,
            "accept": format_duration(policy.accept),
            "resolve": format_duration(policy.resolve),
            "accept_by": accept_by.isoformat(),
            "resolve_by": resolve_by.isoformat(),
        },
        "rules_version": rules.version,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    words = f" ({', '.join(matched_words)})" if matched_words else ""
    print(
        f"event       {event.event_id} from {event.source_network}, reported {reported:%Y-%m-%d %a %H:%M}"
    )
    print(f"category    {category.code} {category.name}, {source}{words}")
    print(f"severity    {severity.value}")
    print(f"matched     {' > '.join(decision.matched)}")
    print(f"rule        {decision.rule}")
    print(f"tier        {decision.tier.value}: centre {centre} {region_name(centre)}")
    print(f"department  {decision.department or '-'}")
    print(
        f"policy      {decision.policy} ({policy.clock}: accept {format_duration(policy.accept)}, "
        f"resolve {format_duration(policy.resolve)}{'' if scale == 1 else f', scale {scale:g}'})"
    )
    print(f"accept by   {accept_by:%Y-%m-%d %a %H:%M:%S%z}")
    print(f"resolve by  {resolve_by:%Y-%m-%d %a %H:%M:%S%z} (if accepted at once)")
    print(
        f"priority    {decision.priority.value if decision.priority else '- (keeps ' + severity.value + ')'}"
    )
    inform = ", ".join(f"{t.value} {c} {region_name(c)}" for t, c in informed)
    print(f"inform      {inform or '-'}")
    print(f"rules       version {rules.version}")
    return 0
