"""Routing rules (分级分类): which tier, department and SLA policy a new case starts with.

``routes.yaml`` holds one tree of routes, in the manner of Alertmanager's routing tree.
The root matches every case and carries the defaults; each route may ``match`` on the
facts of a case and may set ``tier``, ``department``, ``policy``, ``priority`` and
``inform``. How a decision is reached (``docs/routing-rules.md`` has worked examples):

1. Walk: starting at the root, try its children in file order. A child whose ``match``
   holds is *matched*, and its own children are walked the same way. After a matched
   child the remaining siblings are skipped, unless that child says ``continue: true``.
2. Settings, per field: a route's value is the one given by the *first* of its matched
   children (in file order) that provides one, directly or from its own subtree;
   otherwise the route's own value. So deeper routes override their ancestors, and among
   siblings the earlier match wins: a route reached only through an earlier sibling's
   ``continue`` fills in the fields that sibling's branch left unset, it never
   overrides them. ``inform`` is different: every matched route's list is added.
3. Defaults: the root's settings come last, after the catalogue's per-category defaults:
   ``department`` is a route's, else the category's, else the root's; ``policy`` is a
   route's, else the category's ``sla_policy``, else the root's. The root's ``tier`` and
   ``policy`` are required, so every case gets a decision.
4. ``rule`` is the deciding route: the last route on the first matched path (the route
   first-match routing without ``continue`` would pick); ``matched`` lists every matched
   route in walk order, root first. ``inform`` never contains the handling tier and is
   ordered top (city) down.
5. Urgency only lifts: ``min_tier`` (a floor) and ``raise_tier`` (steps up) are taken
   from every matched route (the highest of each) and applied after the walk: the tier
   is raised, then held at least at the floor, but a raise never goes above the county (the city
   gets a case by escalation or by a route's own ``tier``). ``raise_tier`` and the
   policy's ``high:`` (policies.yaml: the tighter policy a ``high`` case runs under)
   apply to a case assessed *above its category's default* severity: a category's own
   route already fits its usual urgency (食品安全 is ``high`` by default).

``RuleSet.load`` validates everything at load time and refuses a bad file with
``ConfigLoadError("file:line: message")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from gridflow.core.bounded_cache import remember
from gridflow.core.catalogue import Catalogue
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules_version import decision_files, rules_version
from gridflow.core.sla import SlaPolicy, load_policies
from gridflow.core.tiers import TIERS_UP
from gridflow.core.workcalendar import OFFICE, WorkCalendar, load_calendars, parse_time_span
from gridflow.core.yaml_lines import (
    YamlMapping,
    YamlSequence,
    check_keys,
    did_you_mean,
    load_yaml,
)
from schemas.common import Network, Severity, Tier

if TYPE_CHECKING:
    from gridflow.core.regions import RegionGraph

__all__ = [
    "KINDS",
    "Route",
    "RouteDecision",
    "RouteFacts",
    "RouteMatch",
    "RuleSet",
    "TimeWindow",
]

KINDS = ("component", "event", "governance")
_KIND_OF_PREFIX = {"BJ": "component", "SJ": "event", "ZZ": "governance"}
_ROUTE_FIELDS = (
    "id",
    "match",
    "tier",
    "department",
    "policy",
    "inform",
    "priority",
    "min_tier",
    "raise_tier",
    "continue",
    "routes",
)
_MATCH_FIELDS = ("category", "kind", "network", "severity", "region_prefix", "time_of_day")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CATEGORY = re.compile(r"^(BJ|SJ|ZZ)(?:[0-9]{2}){0,2}$")
_REGION_PREFIX = re.compile(r"^[0-9]{1,12}$")
_TOP_DOWN = {tier: -i for i, tier in enumerate(TIERS_UP)}
#: Route decisions (and regions' prefix matches) a rule set remembers.
_REMEMBERED = 65_536

_T = TypeVar("_T")
_E = TypeVar("_E", Tier, Severity)


class RouteFacts(NamedTuple):
    """What routing looks at: the case's category, network, severity, place and local time.

    A named tuple: one is built per opened case, in one step rather than a field at a time.
    """

    category: str
    kind: str
    network: str
    severity: Severity
    region_code: str
    #: Local wall time (the rules' calendar zone) when the case opens.
    local_time: time
    #: A 12345 caller's request type; with the network's request_types it sets the policy.
    request_type: str | None = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a new case goes and under which SLA policy."""

    tier: Tier
    department: str | None
    policy: str
    rule: str
    matched: tuple[str, ...]
    inform: tuple[Tier, ...]
    priority: Severity | None


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A local time-of-day window ``[start, end)``; wraps midnight when ``start > end``."""

    start: time
    end: time

    def __contains__(self, moment: object) -> bool:
        if not isinstance(moment, time):
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def minutes(self) -> frozenset[int]:
        """The minutes of the day the window covers (for load-time overlap checks)."""
        first = self.start.hour * 60 + self.start.minute
        last = self.end.hour * 60 + self.end.minute
        if first < last:
            return frozenset(range(first, last))
        return frozenset(range(first, 1440)) | frozenset(range(last))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """Conditions of one route; ``None`` means "any". All given conditions must hold."""

    #: Unified codes or their prefixes (``"SJ04"`` is every 突发事件).
    category: tuple[str, ...] | None = None
    kind: frozenset[str] | None = None
    network: frozenset[str] | None = None
    severity: frozenset[Severity] | None = None
    region_prefix: tuple[str, ...] | None = None
    time_of_day: TimeWindow | None = None

    @property
    def is_catch_all(self) -> bool:
        """True when the route matches every case."""
        return (
            self.category is None
            and self.kind is None
            and self.network is None
            and self.severity is None
            and self.region_prefix is None
            and self.time_of_day is None
        )

    def matches(self, facts: RouteFacts) -> bool:
        """True when every condition holds for ``facts``."""
        # Ordered roughly by selectivity; str.startswith takes a tuple of prefixes.
        if self.category is not None and not facts.category.startswith(self.category):
            return False
        if self.severity is not None and facts.severity not in self.severity:
            return False
        if self.kind is not None and facts.kind not in self.kind:
            return False
        if self.network is not None and facts.network not in self.network:
            return False
        if self.region_prefix is not None and not facts.region_code.startswith(self.region_prefix):
            return False
        return self.time_of_day is None or facts.local_time in self.time_of_day


@dataclass(frozen=True, slots=True)
class Route:
    """One node of the routing tree, as loaded."""

    id: str
    line: int
    match: RouteMatch
    tier: Tier | None = None
    department: str | None = None
    policy: str | None = None
    inform: tuple[Tier, ...] = ()
    priority: Severity | None = None
    min_tier: Tier | None = None
    raise_tier: int = 0
    continue_: bool = False
    routes: tuple[Route, ...] = ()

    @property
    def only_lifts(self) -> bool:
        """A ``continue`` overlay that sets no tier, department, policy or priority."""
        return self.continue_ and not (
            self.tier or self.department or self.policy or self.priority or self.routes
        )

    def walk(self) -> Iterator[Route]:
        """This route and every route below it, depth first, in file order."""
        yield self
        for child in self.routes:
            yield from child.walk()


# Per-field result of walking: tier, department, policy, priority, deciding route id.
_Found = tuple[Tier | None, str | None, str | None, Severity | None, str | None]


def _walk_children(
    node: Route, facts: RouteFacts, matched: list[str], informed: set[Tier], lifts: list[Route]
) -> _Found:
    """Settings provided by ``node``'s matched children, without ``node``'s own."""
    tier = department = policy = priority = deciding = None
    for child in node.routes:
        if not child.match.matches(facts):
            continue
        matched.append(child.id)
        informed.update(child.inform)
        if child.min_tier is not None or child.raise_tier:
            lifts.append(child)
        c_tier, c_department, c_policy, c_priority, c_deciding = _walk_children(
            child, facts, matched, informed, lifts
        )
        # The first matched child that provides a field decides it; the child's own
        # values stand in for its subtree's when the subtree provides none.
        # An overlay that only lifts or informs and lets the walk go on (night-urgent)
        # does not name the decision: the category route after it does.
        if deciding is None and (c_deciding is not None or not child.only_lifts):
            deciding = child.id if c_deciding is None else c_deciding
        if tier is None:
            tier = child.tier if c_tier is None else c_tier
        if department is None:
            department = child.department if c_department is None else c_department
        if policy is None:
            policy = child.policy if c_policy is None else c_policy
        if priority is None:
            priority = child.priority if c_priority is None else c_priority
        if not child.continue_:
            break
    return tier, department, policy, priority, deciding


class RuleSet:
    """Routes, SLA policies and the work calendar, loaded and validated together."""

    __slots__ = (
        "_catalogue",
        "_decisions",
        "_minutes",
        "_prefixes",
        "_regions",
        "calendar",
        "calendars",
        "directory",
        "policies",
        "root",
        "version",
    )

    def __init__(
        self,
        root: Route,
        policies: Mapping[str, SlaPolicy],
        calendar: WorkCalendar,
        catalogue: Catalogue,
        version: str,
        directory: Path | None = None,
        calendars: Mapping[str, WorkCalendar] | None = None,
    ) -> None:
        """Assemble a rule set; ``load`` is the validated way to get one.

        ``calendar`` is the office calendar; ``calendars`` the named ones policies may
        use (``calendar:`` in policies.yaml), the office one included or added.
        """
        self.root = root
        self.policies: Mapping[str, SlaPolicy] = MappingProxyType(dict(policies))
        self.calendar = calendar
        self.calendars: Mapping[str, WorkCalendar] = MappingProxyType(
            {**(calendars or {}), OFFICE: calendar}
        )
        self._catalogue = catalogue
        self.version = version
        self.directory = directory
        # Decisions are remembered by what the routes can tell apart: the facts, with the
        # region reduced to which region_prefix conditions it meets and the local time
        # to which time_of_day windows hold it (the minute of the day is enough when the
        # windows start and end on whole minutes, as loaded ones do).
        self._decisions: dict[tuple[object, ...], RouteDecision] = {}
        self._prefixes = tuple(
            {r.match.region_prefix: None for r in root.walk() if r.match.region_prefix}
        )
        self._regions: dict[str, tuple[bool, ...]] = {}
        windows = tuple(
            {r.match.time_of_day: None for r in root.walk() if r.match.time_of_day is not None}
        )
        self._minutes: tuple[tuple[bool, ...], ...] | None = None
        if all(_whole_minutes(w.start) and _whole_minutes(w.end) for w in windows):
            self._minutes = tuple(
                tuple(time(m // 60, m % 60) in w for w in windows) for m in range(24 * 60)
            )

    @classmethod
    def load(
        cls,
        directory: str | Path,
        catalogue: Catalogue | None = None,
        *,
        regions: RegionGraph | None = None,
        divisions: str | Path | None = None,
    ) -> RuleSet:
        """Load ``routes.yaml``, ``policies.yaml`` and ``calendar.yaml`` from ``directory``.

        ``catalogue`` None: the ``catalogue.yaml``/``networks.yaml`` pair in the same
        directory, or the bundled catalogue when the directory has none. With ``regions``,
        every ``region_prefix`` must lead to at least one region of the tree.
        ``version`` hashes every file that can change a decision
        (:mod:`gridflow.core.rules_version`); ``divisions`` names the division file when it
        is not the directory's own (``GRIDFLOW_DIVISIONS``).
        Raises ``ConfigLoadError`` (file, line, message) for anything invalid.
        """
        folder = Path(directory)
        if not folder.is_dir():
            raise ConfigLoadError(folder, None, "rules directory not found")
        if catalogue is None:
            catalogue = _catalogue_for(folder)
        version = rules_version(decision_files(folder, divisions))
        calendars = load_calendars(folder / "calendar.yaml")
        policies = load_policies(folder / "policies.yaml", calendars)
        for policy, where in catalogue.policy_names().items():
            if policy not in policies:
                raise ConfigLoadError(
                    folder / "policies.yaml",
                    None,
                    f"{where} names SLA policy {policy!r}, which is not defined here",
                )
        for category in catalogue.categories:
            if category.sla_policy is not None and category.sla_policy not in policies:
                raise ConfigLoadError(
                    folder / "policies.yaml",
                    None,
                    f"catalogue category {category.code} names sla_policy "
                    f"{category.sla_policy!r}, which is not defined here",
                )
        root = _RouteLoader(folder / "routes.yaml", policies, catalogue, regions).load()
        return cls(
            root,
            policies,
            calendars[OFFICE],
            catalogue,
            version,
            folder,
            calendars,
        )

    def calendar_for(self, policy: SlaPolicy) -> WorkCalendar:
        """The calendar ``policy`` counts working time on (the office one by default)."""
        return self.calendars.get(policy.calendar, self.calendar)

    def covered_until(self, today: date) -> date:
        """The last day up to which every calendar a policy uses knows its workdays."""
        used = {
            self.calendar_for(policy).name: self.calendar_for(policy)
            for policy in self.policies.values()
        }
        used[OFFICE] = self.calendar
        return min(calendar.covered_until(today) for calendar in used.values())

    def coverage_ends(self, now: datetime) -> datetime:
        """The instant the covered days end: local midnight after ``covered_until``.

        ``now`` must be aware; the result is aware in the office calendar's zone.
        """
        local = self.calendar.to_local(now)
        last = self.covered_until(local.date())
        if last >= date.max - timedelta(days=1):
            return datetime.max.replace(tzinfo=self.calendar.tzinfo)
        after = last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=self.calendar.tzinfo)

    def routes(self) -> Iterator[Route]:
        """Every route, root first, depth first in file order."""
        return self.root.walk()

    def route(self, facts: RouteFacts) -> RouteDecision:
        """Decide tier, department, policy, priority and who to inform for a new case."""
        regions = self._regions
        region = regions.get(facts.region_code)
        if region is None:
            region = remember(
                regions,
                _REMEMBERED,
                facts.region_code,
                tuple(facts.region_code.startswith(p) for p in self._prefixes),
            )
        local = facts.local_time
        minutes = self._minutes
        when: object = local
        if minutes is not None and local.tzinfo is None:
            when = minutes[local.hour * 60 + local.minute]
        key = (
            facts.category,
            facts.kind,
            facts.network,
            facts.severity,
            region,
            when,
            facts.request_type,
        )
        decision = self._decisions.get(key)
        if decision is None:
            decision = remember(self._decisions, _REMEMBERED, key, self._decide(facts))
        return decision

    def _decide(self, facts: RouteFacts) -> RouteDecision:
        root = self.root
        matched = [root.id]
        informed = set(root.inform)
        lifts: list[Route] = []
        tier, department, policy, priority, deciding = _walk_children(
            root, facts, matched, informed, lifts
        )
        if department is None or policy is None:
            category = self._catalogue.get(facts.category)
            if category is not None:
                department = department or category.department
                policy = policy or category.sla_policy
        # A hotline request's type (or its urgency) sets its time limit, whatever route
        # placed it: the hotline rules tie the limit to the request, not to the place. A
        # wall-clock (emergency) policy is kept: a fire is not a 3-day 求助.
        requested = self._catalogue.request_policy(
            facts.network, facts.request_type, facts.severity
        )
        decided = self.policies.get(policy or "")
        if requested is not None and (decided is None or decided.clock != "wall"):
            policy = requested
        # The root's tier and policy are required at load time.
        tier = tier or root.tier or Tier.VILLAGE
        category = self._catalogue.get(facts.category)
        raised = category is not None and _RANK[facts.severity] > _RANK[category.severity]
        if lifts:
            tier = _lifted(
                tier,
                max((_UP[r.min_tier] for r in lifts if r.min_tier is not None), default=0),
                max(r.raise_tier for r in lifts) if raised else 0,
            )
        informed.discard(tier)
        policy = policy or root.policy or ""
        if raised and facts.severity is Severity.HIGH:
            tighter = self.policies[policy].high if policy in self.policies else None
            policy = tighter or policy
        return RouteDecision(
            tier=tier,
            department=department or root.department,
            policy=policy,
            rule=deciding or root.id,
            matched=tuple(matched),
            inform=tuple(sorted(informed, key=_TOP_DOWN.__getitem__)),
            priority=priority or root.priority,
        )


_UP = {tier: index for index, tier in enumerate(TIERS_UP)}
_RANK = {Severity.LOW: 0, Severity.NORMAL: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
#: A raise stops at the county: the city gets a case by escalation or by a route's tier.
_RAISE_CEILING = _UP[Tier.COUNTY]


def _lifted(tier: Tier, floor: int, steps: int) -> Tier:
    """``tier`` raised ``steps`` up, then at least at ``floor`` (an index of TIERS_UP).

    Never down; the floor and the raise do not add up (night and high: the town).
    """
    index = _UP[tier]
    if steps:
        index = max(index, min(index + steps, _RAISE_CEILING))
    return TIERS_UP[max(index, floor)]


def _whole_minutes(moment: time) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.tzinfo is None


def _catalogue_for(folder: Path) -> Catalogue:
    own = folder / "catalogue.yaml"
    networks = folder / "networks.yaml"
    if own.is_file() and networks.is_file():
        return Catalogue.load(own, networks)
    return Catalogue.default()


# ---------------------------------------------------------------------------------------
# Loading and static checks


@dataclass(frozen=True, slots=True)
class _Scope:
    """The effective conditions at a route: its own match intersected with its ancestors'.

    ``None`` is "anything"; an empty set means the route can never match.
    """

    category: frozenset[str] | None = None
    kind: frozenset[str] | None = None
    network: frozenset[str] | None = None
    severity: frozenset[Severity] | None = None
    region_prefix: frozenset[str] | None = None
    minutes: frozenset[int] | None = None

    def narrowed(self, match: RouteMatch) -> _Scope:
        return _Scope(
            category=_meet_prefixes(self.category, match.category),
            kind=_meet(self.kind, match.kind),
            network=_meet(self.network, match.network),
            severity=_meet(self.severity, match.severity),
            region_prefix=_meet_prefixes(self.region_prefix, match.region_prefix),
            minutes=_meet(
                self.minutes, None if match.time_of_day is None else match.time_of_day.minutes()
            ),
        )

    def contradiction(self) -> str | None:
        """Why no case can ever satisfy this scope, or ``None`` when one can."""
        for name in ("category", "kind", "network", "severity", "region_prefix"):
            if getattr(self, name) == frozenset():
                return f"its {name} condition excludes everything the routes above it let through"
        if self.minutes == frozenset():
            return "its time_of_day window does not overlap the one of the routes above it"
        if self.category is not None and self.kind is not None:
            kinds = {_KIND_OF_PREFIX[code[:2]] for code in self.category}
            if not kinds & self.kind:
                return (
                    f"kind {sorted(self.kind)} contradicts category {sorted(self.category)} "
                    "(BJ codes are components, SJ events, ZZ governance)"
                )
        return None

    def within(self, other: _Scope) -> bool:
        """True when everything this scope admits, ``other`` admits too."""
        return (
            _prefixes_within(self.category, other.category)
            and _within(self.kind, other.kind)
            and _within(self.network, other.network)
            and _within(self.severity, other.severity)
            and _prefixes_within(self.region_prefix, other.region_prefix)
            and _within(self.minutes, other.minutes)
        )


def _meet(a: frozenset[_T] | None, b: frozenset[_T] | None) -> frozenset[_T] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _meet_prefixes(
    a: frozenset[str] | None, b: tuple[str, ...] | frozenset[str] | None
) -> frozenset[str] | None:
    if b is None:
        return a
    if a is None:
        return frozenset(b)
    # Two prefixes overlap when one extends the other; the overlap is the longer one.
    return frozenset(max(x, y, key=len) for x in a for y in b if x.startswith(y) or y.startswith(x))


def _within(inner: frozenset[_T] | None, outer: frozenset[_T] | None) -> bool:
    if outer is None:
        return True
    return inner is not None and inner <= outer


def _prefixes_within(inner: frozenset[str] | None, outer: frozenset[str] | None) -> bool:
    if outer is None:
        return True
    return inner is not None and all(x.startswith(tuple(outer)) for x in inner)


class _RouteLoader:
    def __init__(
        self,
        path: Path,
        policies: Mapping[str, SlaPolicy],
        catalogue: Catalogue,
        regions: RegionGraph | None,
    ) -> None:
        self.path = path
        self.policies = policies
        self.catalogue = catalogue
        self.regions = regions
        self.networks = frozenset(n.value for n in Network) | catalogue.networks
        self.ids: dict[str, int] = {}

    def error(self, line: int | None, message: str) -> ConfigLoadError:
        return ConfigLoadError(self.path, line, message)

    def load(self) -> Route:
        doc = load_yaml(self.path)
        if doc is None:
            raise self.error(None, "empty file: a root 'route:' is required")
        if not isinstance(doc, YamlMapping):
            raise self.error(getattr(doc, "line", 1), "routes file must be a mapping")
        check_keys(doc, self.path, "routes file", optional=("route",))
        if "route" not in doc:
            raise self.error(doc.line, "missing root: the file needs a top-level 'route:'")
        body = doc["route"]
        if not isinstance(body, YamlMapping):
            raise self.error(doc.value_line("route"), "the root route must be a mapping")
        for key in ("match", "continue"):
            if key in body:
                raise self.error(
                    body.key_line(key), f"the root route matches every case: it cannot have {key!r}"
                )
        for key in ("tier", "policy"):
            if key not in body:
                raise self.error(body.line, f"the root route must set a default {key!r}")
        return self.route(body, _Scope())

    def route(self, body: YamlMapping, parent_scope: _Scope) -> Route:
        check_keys(body, self.path, "a route", required=("id",), optional=_ROUTE_FIELDS)
        route_id = body["id"]
        if not isinstance(route_id, str) or not _ID.match(route_id):
            raise self.error(
                body.value_line("id"),
                f"route id {route_id!r} must be a short name of letters, digits, _ . : -",
            )
        if route_id in self.ids:
            raise self.error(
                body.value_line("id"),
                f"duplicate route id {route_id!r} (first on line {self.ids[route_id]})",
            )
        self.ids[route_id] = body.value_line("id")
        what = f"route {route_id!r}"
        match = self.match(body, what)
        scope = parent_scope.narrowed(match)
        contradiction = scope.contradiction()
        if contradiction is not None:
            raise self.error(body.key_line("match"), f"{what} can never match: {contradiction}")
        tier = self.enum(body, "tier", Tier, what)
        inform = tuple(
            self.enum_item(v, line, Tier, "tier", what)
            for v, line in self.items(body, "inform", what)
        )
        if tier is not None and tier in inform:
            raise self.error(
                body.value_line("inform"), f"{what} informs {tier}, the tier that handles it"
            )
        policy = body.get("policy")
        if policy is not None and (not isinstance(policy, str) or policy not in self.policies):
            raise self.error(
                body.value_line("policy"),
                f"{what}: undefined policy {policy!r}"
                f"{did_you_mean(str(policy), self.policies)}; defined in policies.yaml: "
                f"{', '.join(self.policies)}",
            )
        department = body.get("department")
        if department is not None and (not isinstance(department, str) or not department.strip()):
            raise self.error(body.value_line("department"), f"{what}: department must be a name")
        cont = body.get("continue", False)
        if not isinstance(cont, bool):
            raise self.error(body.value_line("continue"), f"{what}: continue must be true or false")
        children = self.children(body, scope, what)
        return Route(
            id=route_id,
            line=body.line,
            match=match,
            tier=tier,
            department=department,
            policy=policy,
            inform=inform,
            priority=self.enum(body, "priority", Severity, what),
            min_tier=self.enum(body, "min_tier", Tier, what),
            raise_tier=self.steps(body, what),
            continue_=cont,
            routes=children,
        )

    def children(self, body: YamlMapping, scope: _Scope, what: str) -> tuple[Route, ...]:
        if "routes" not in body:
            return ()
        value = body["routes"]
        if not isinstance(value, YamlSequence):
            raise self.error(body.value_line("routes"), f"{what}: routes must be a list")
        built: list[tuple[Route, _Scope]] = []
        for index, item in enumerate(value):
            if not isinstance(item, YamlMapping):
                raise self.error(value.item_line(index), f"{what}: each route must be a mapping")
            child = self.route(item, scope)
            child_scope = scope.narrowed(child.match)
            for earlier, earlier_scope in built:
                if not earlier.continue_ and child_scope.within(earlier_scope):
                    reason = (
                        "matches every case"
                        if earlier.match.is_catch_all
                        else "matches everything it matches"
                    )
                    raise self.error(
                        item.line,
                        f"route {child.id!r} is unreachable: the earlier sibling "
                        f"{earlier.id!r} (line {earlier.line}) {reason} and has no "
                        "'continue: true'",
                    )
            built.append((child, child_scope))
        return tuple(route for route, _ in built)

    def match(self, body: YamlMapping, what: str) -> RouteMatch:
        if "match" not in body or body["match"] is None:
            return RouteMatch()
        m = body["match"]
        if not isinstance(m, YamlMapping):
            raise self.error(body.value_line("match"), f"{what}: match must be a mapping")
        check_keys(m, self.path, f"the match of {what}", optional=_MATCH_FIELDS)
        window = None
        if "time_of_day" in m:
            try:
                start, end = parse_time_span(m["time_of_day"])
            except ValueError as exc:
                raise self.error(m.value_line("time_of_day"), f"{what}: {exc}") from None
            window = TimeWindow(start, end)
        return RouteMatch(
            category=self.categories(m, what),
            kind=self.names(m, "kind", KINDS, what),
            network=self.names(m, "network", self.networks, what),
            severity=self.severities(m, what),
            region_prefix=self.region_prefixes(m, what),
            time_of_day=window,
        )

    def items(self, m: YamlMapping, key: str, what: str) -> list[tuple[object, int]]:
        """A list field's items with their lines; a single value counts as a list of one."""
        if key not in m:
            return []
        value = m[key]
        if isinstance(value, YamlSequence):
            if not value:
                raise self.error(m.value_line(key), f"{what}: {key} is an empty list")
            return [(item, value.item_line(i)) for i, item in enumerate(value)]
        if isinstance(value, YamlMapping) or value is None:
            raise self.error(m.value_line(key), f"{what}: {key} must be a list")
        return [(value, m.value_line(key))]

    def categories(self, m: YamlMapping, what: str) -> tuple[str, ...] | None:
        if "category" not in m:
            return None
        codes: list[str] = []
        for value, line in self.items(m, "category", what):
            code = str(value)
            if not _CATEGORY.match(code):
                raise self.error(
                    line,
                    f"{what}: category {value!r} is not a unified code or prefix "
                    "(BJ/SJ/ZZ + 大类 + 小类, e.g. SJ0102, or a prefix such as SJ04)",
                )
            if not any(c.code.startswith(code) for c in self.catalogue.categories):
                all_codes = [c.code for c in self.catalogue.categories]
                all_codes += sorted({c.major for c in self.catalogue.categories})
                raise self.error(
                    line,
                    f"{what}: unknown category {code!r}: no catalogue code starts with it"
                    f"{did_you_mean(code, all_codes)}",
                )
            codes.append(code)
        return tuple(codes)

    def names(
        self, m: YamlMapping, key: str, valid: tuple[str, ...] | frozenset[str], what: str
    ) -> frozenset[str] | None:
        if key not in m:
            return None
        found: set[str] = set()
        for value, line in self.items(m, key, what):
            # A nested mapping or list is unhashable: test the type before membership.
            if not isinstance(value, str) or value not in valid:
                raise self.error(
                    line,
                    f"{what}: unknown {key} {value!r}{did_you_mean(str(value), valid)}; "
                    f"valid: {', '.join(sorted(valid))}",
                )
            found.add(str(value))
        return frozenset(found)

    def severities(self, m: YamlMapping, what: str) -> frozenset[Severity] | None:
        if "severity" not in m:
            return None
        return frozenset(
            self.enum_item(value, line, Severity, "severity", what)
            for value, line in self.items(m, "severity", what)
        )

    def region_prefixes(self, m: YamlMapping, what: str) -> tuple[str, ...] | None:
        if "region_prefix" not in m:
            return None
        prefixes: list[str] = []
        for value, line in self.items(m, "region_prefix", what):
            # Division codes never start with 0, so an unquoted number is safe to read.
            text = str(value) if isinstance(value, int | str) and value is not True else ""
            if not _REGION_PREFIX.match(text):
                raise self.error(
                    line, f'{what}: region_prefix {value!r} must be 1-12 digits, e.g. "500103"'
                )
            if self.regions is not None and not any(
                region.code.startswith(text) for region in self.regions
            ):
                raise self.error(
                    line, f"{what}: region_prefix {text!r} matches no region of the division tree"
                )
            prefixes.append(text)
        return tuple(prefixes)

    def steps(self, body: YamlMapping, what: str) -> int:
        value = body.get("raise_tier", 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            raise self.error(
                body.value_line("raise_tier"),
                f"{what}: raise_tier must be a number of tiers from 0 to 3, got {value!r}",
            )
        return value

    def enum(self, body: YamlMapping, key: str, enum: type[_E], what: str) -> _E | None:
        if key not in body:
            return None
        return self.enum_item(body[key], body.value_line(key), enum, key, what)

    def enum_item(self, value: object, line: int, enum: type[_E], label: str, what: str) -> _E:
        valid = [member.value for member in enum]
        if not isinstance(value, str) or value not in valid:
            raise self.error(
                line,
                f"{what}: unknown {label} {value!r}{did_you_mean(str(value), valid)}; "
                f"valid: {', '.join(valid)}",
            )
        return enum(value)
