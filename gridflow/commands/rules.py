"""``gridflow rules``: validate the rules directory, and show how an event would be routed.

``rules check`` loads everything a worker loads (division tree, catalogue and network
code maps, keywords, routes, SLA policies, calendar), strictly, and prints counts and the
rules version, or the first error as ``file:line: message`` with exit status 2. It also
fails when the official holiday calendar does not cover the next 90 days: deadlines
counted there would skip no bridging day and keep no make-up workday.

``rules test`` plans a case the way a worker opens one (one function,
``gridflow.core.opening``, serves both): for one GridEvent it prints the decision the way
``amtool config routes test`` does for Alertmanager (every matching route, the deciding
one, the centre that gets the dispatch, department, policy, deadlines); with ``--cases``
it checks a file of events against expected results and exits 1 on any difference, like
``amtool config routes test --verify-receivers``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gridflow.commands.rules_diff import add_diff
from gridflow.commands.rules_publish import add_publish
from gridflow.config import Settings, load_settings
from gridflow.core.durations import format_duration
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules import RuleSet
from gridflow.core.tiers import TIERS_DOWN
from gridflow.core.yaml_lines import YamlMapping, YamlSequence, check_keys, load_yaml
from schemas.grid_event import GridEvent

if TYPE_CHECKING:  # the engine pulls in jieba: slow for `--help`
    from gridflow.core.engine import Engine

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
  gridflow rules test --event event.json --received 2025-09-30T16:05:00+08:00
  gridflow rules test --event event.json --json | jq .decision.policy
  gridflow rules test --cases routing_rules/tests/routes.yaml

The category comes from the event's "category" (a unified code or the network's own code)
or, when absent, from the text classifier; the severity from the category, the reporter's
hint and the text; routing uses the local time of "reported_at": all as the worker does,
with the same code. The worker counts deadlines from when it receives the event (the
input record's timestamp): --received gives that instant, by default "reported_at". The
resolve deadline assumes the case is accepted at once. Deadlines are scaled by --scale
(default GRIDFLOW_SLA_SCALE for --event, 1 for --cases).

--cases FILE is YAML: a list "cases" of {name, event, received (optional), expect}, where
expect names any of: category, severity, rule, tier, center_code, department, policy,
priority, inform (list of tiers), accept_by, resolve_by (times compared as instants).
Every case is checked; each difference is printed.

exit status: 0 when every case holds, 1 when a case differs, 2 on bad input or rules.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rules`` with its ``check`` and ``test`` subcommands."""
    parser = sub.add_parser(
        "rules",
        help="validate, test, diff (replay) and publish the routing rules",
        description="Work with the rules directory: routes.yaml (routing tree), "
        "policies.yaml (SLA policies), calendar.yaml (working hours), catalogue.yaml, "
        "networks.yaml, keywords.yaml and the division tree. See docs/routing-rules.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  gridflow rules check\n  gridflow rules test --event event.json\n"
        "  gridflow rules diff routing_rules/ new_rules/ --events recorded.jsonl\n",
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
        help="show how a GridEvent would be routed, or check a file of expected routings",
        description="Plan a case for one GridEvent (JSON, as sent to grid.events.in) with the "
        "worker's own code and print every matching route, the deciding rule, the tier and "
        "the centre that would receive the dispatch, department, SLA policy and deadlines, "
        "priority and the tiers informed; or, with --cases, check a file of events against "
        "expected results.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TEST_EPILOG,
    )
    given = test.add_mutually_exclusive_group(required=True)
    given.add_argument("--event", metavar="FILE", help="GridEvent JSON file, or - for stdin")
    given.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help="YAML file of events with expected results: check them all (exit 1 on a difference)",
    )
    test.add_argument(
        "--received",
        metavar="TIME",
        help="when the worker receives the event (ISO 8601 with offset); default: reported_at",
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
    add_diff(actions)
    add_publish(actions)


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


def _check(settings: Settings, as_of: date | None = None, horizon_days: int = 90) -> int:
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
    # A policy named by another's `high:` is used by every high case of that one.
    used |= {policy.high for policy in rules.policies.values()}
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
    if engine.danger is not None:
        print(f"  danger     danger.yaml: {len(engine.danger.cues)} cue classes")
    if engine.inhibitions is not None:
        print(f"  inhibit    inhibit.yaml: {len(engine.inhibitions.rules)} rules")
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


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(event)'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )


def _instant(text: str) -> datetime | None:
    """An aware ISO 8601 time, or None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _plan(engine: Engine, event: GridEvent, start: float, scale: float) -> dict[str, Any]:
    """The worker's plan for ``event`` received at ``start``, as the ``--json`` document."""
    from gridflow.core.opening import assess_report, plan_case, stage_clock

    rules, regions = engine.rules, engine.regions
    assessment = assess_report(
        event, engine.catalogue, engine.classifier, engine.severity_rules, engine.danger
    )
    plan = plan_case(event, assessment, rules, regions, start, scale)
    decision, category = plan.decision, assessment.category
    policy = rules.policies[decision.policy]
    tz = rules.calendar.tzinfo
    resolve_by, _ = stage_clock(rules, decision.policy, "resolve", start, scale)

    def region_name(code: str) -> str:
        region = regions.get(code)
        return region.name if region else "?"

    return {
        "event_id": event.event_id,
        "source_network": event.source_network,
        "category": {
            "code": category.code,
            "name": category.name,
            "source": "from the report"
            if assessment.classified_by is None
            else "classified from the text",
            "keywords": list(assessment.classified_by or ()),
        },
        "severity": assessment.severity.value,
        "local_time": event.reported_at.astimezone(tz).isoformat(),
        "received": datetime.fromtimestamp(start, tz).isoformat(),
        "decision": {
            "matched": list(decision.matched),
            "rule": decision.rule,
            "tier": plan.tier.value,
            "center_code": plan.centre,
            "center_name": region_name(plan.centre),
            "department": plan.department,
            "policy": plan.policy,
            "priority": plan.priority.value,
            "priority_set_by_route": decision.priority is not None,
            "inform": [
                {"tier": t.value, "center_code": c, "center_name": region_name(c)}
                for t, c in plan.informed
            ],
        },
        "sla": {
            "clock": policy.clock,
            "scale": scale,
            "accept": format_duration(policy.accept),
            "resolve": format_duration(policy.resolve),
            "accept_by": datetime.fromtimestamp(plan.accept_by, tz).isoformat(),
            "resolve_by": datetime.fromtimestamp(resolve_by, tz).isoformat(),
        },
        "rules_version": rules.version,
    }


def _test(settings: Settings, args: argparse.Namespace) -> int:
    from gridflow.reference import load_engine

    received = None
    if args.received is not None:
        received = _instant(args.received)
        if received is None:
            print(
                f"--received {args.received!r}: not an ISO 8601 time with an offset",
                file=sys.stderr,
            )
            return 2
    if args.cases is not None:
        engine = load_engine(settings)
        return _test_cases(engine, args.cases, 1.0 if args.scale is None else args.scale)
    try:
        event = GridEvent.model_validate_json(_read_event(args.event))
    except OSError as exc:
        print(f"{args.event}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"{args.event}: not a valid GridEvent: {_problems(exc)}", file=sys.stderr)
        return 2
    engine = load_engine(settings)
    if event.region_code not in engine.regions:
        print(f"region {event.region_code} is not in the division tree", file=sys.stderr)
        return 2
    scale = settings.sla_scale if args.scale is None else args.scale
    start = (received or event.reported_at).timestamp()
    result = _plan(engine, event, start, scale)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    _print_plan(result)
    return 0


def _print_plan(result: dict[str, Any]) -> None:
    category, decision, sla = result["category"], result["decision"], result["sla"]
    local = datetime.fromisoformat(result["local_time"])
    received = datetime.fromisoformat(result["received"])
    words = f" ({', '.join(category['keywords'])})" if category["keywords"] else ""
    scale = sla["scale"]
    print(
        f"event       {result['event_id']} from {result['source_network']}, "
        f"reported {local:%Y-%m-%d %a %H:%M}"
    )
    print(f"received    {received:%Y-%m-%d %a %H:%M:%S} (the deadlines start here)")
    print(f"category    {category['code']} {category['name']}, {category['source']}{words}")
    print(f"severity    {result['severity']}")
    print(f"matched     {' > '.join(decision['matched'])}")
    print(f"rule        {decision['rule']}")
    print(
        f"tier        {decision['tier']}: centre {decision['center_code']} {decision['center_name']}"
    )
    print(f"department  {decision['department']}")
    print(
        f"policy      {decision['policy']} ({sla['clock']}: accept {sla['accept']}, "
        f"resolve {sla['resolve']}{'' if scale == 1 else f', scale {scale:g}'})"
    )
    accept_by = datetime.fromisoformat(sla["accept_by"])
    resolve_by = datetime.fromisoformat(sla["resolve_by"])
    print(f"accept by   {accept_by:%Y-%m-%d %a %H:%M:%S%z}")
    print(f"resolve by  {resolve_by:%Y-%m-%d %a %H:%M:%S%z} (if accepted at once)")
    kept = "" if decision["priority_set_by_route"] else " (the severity)"
    print(f"priority    {decision['priority']}{kept}")
    inform = ", ".join(
        f"{i['tier']} {i['center_code']} {i['center_name']}" for i in decision["inform"]
    )
    print(f"inform      {inform or '-'}")
    print(f"rules       version {result['rules_version']}")


#: What a case of a ``--cases`` file may expect, and how to read it from the plan.
_EXPECTABLE: dict[str, Callable[[dict[str, Any]], object]] = {
    "category": lambda r: r["category"]["code"],
    "severity": lambda r: r["severity"],
    "rule": lambda r: r["decision"]["rule"],
    "tier": lambda r: r["decision"]["tier"],
    "center_code": lambda r: r["decision"]["center_code"],
    "department": lambda r: r["decision"]["department"],
    "policy": lambda r: r["decision"]["policy"],
    "priority": lambda r: r["decision"]["priority"],
    "inform": lambda r: [i["tier"] for i in r["decision"]["inform"]],
    "accept_by": lambda r: r["sla"]["accept_by"],
    "resolve_by": lambda r: r["sla"]["resolve_by"],
}
_TIMES = frozenset({"accept_by", "resolve_by"})


def _differences(file: Path, expect: YamlMapping, result: dict[str, Any]) -> list[str]:
    check_keys(expect, file, "expect", optional=_EXPECTABLE)
    out = []
    for key, wanted in expect.items():
        got = _EXPECTABLE[key](result)
        if key in _TIMES:
            moment = _instant(str(wanted))
            if moment is None:
                raise ConfigLoadError(
                    file,
                    expect.value_line(key),
                    f"{key}: {wanted!r} is not an ISO 8601 time with an offset",
                )
            same = moment == datetime.fromisoformat(str(got))
        elif key == "inform":
            same = isinstance(wanted, list) and [str(w) for w in wanted] == got
        else:
            same = str(wanted) == got
        if not same:
            out.append(f"{key}: expected {wanted}, got {got}")
    return out


def _test_cases(engine: Engine, file: Path, scale: float) -> int:
    doc = load_yaml(file)
    if not isinstance(doc, YamlMapping):
        raise ConfigLoadError(file, None, "expected a mapping with a list 'cases'")
    check_keys(doc, file, "the file", required=("cases",))
    cases = doc["cases"]
    if not isinstance(cases, YamlSequence) or not cases:
        raise ConfigLoadError(file, doc.value_line("cases"), "'cases' must be a non-empty list")
    failed = 0
    for index, case in enumerate(cases):
        line = cases.item_line(index)
        if not isinstance(case, YamlMapping):
            raise ConfigLoadError(file, line, "each case must be a mapping")
        check_keys(
            case, file, "a case", required=("name", "event", "expect"), optional=("received",)
        )
        name = str(case["name"])
        expect = case["expect"]
        if not isinstance(expect, YamlMapping) or not expect:
            raise ConfigLoadError(
                file, case.value_line("expect"), f"{name}: 'expect' must name what to check"
            )
        try:
            event = GridEvent.model_validate_json(json.dumps(case["event"], ensure_ascii=False))
        except ValidationError as exc:
            raise ConfigLoadError(
                file, case.value_line("event"), f"{name}: not a valid GridEvent: {_problems(exc)}"
            ) from None
        if event.region_code not in engine.regions:
            raise ConfigLoadError(
                file,
                case.value_line("event"),
                f"{name}: region {event.region_code} is not in the division tree",
            )
        start = event.reported_at
        if "received" in case:
            moment = _instant(str(case["received"]))
            if moment is None:
                raise ConfigLoadError(
                    file,
                    case.value_line("received"),
                    f"{name}: received is not an ISO 8601 time with an offset",
                )
            start = moment
        result = _plan(engine, event, start.timestamp(), scale)
        differences = _differences(file, expect, result)
        if differences:
            failed += 1
            print(f"FAIL  {name} ({file}:{line})")
            for difference in differences:
                print(f"        {difference}")
        else:
            print(f"ok    {name}")
    print(f"{len(cases)} cases, {failed} failed (rules version {engine.rules.version})")
    return 1 if failed else 0
