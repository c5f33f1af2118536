"""Routing decisions: the walk, the precedence of settings, and the bundled rules."""

from __future__ import annotations

import shutil
import textwrap
from datetime import time
from pathlib import Path

import pytest

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RouteDecision, RouteFacts, RuleSet
from schemas.common import Severity, Tier

RULES = BUNDLED_RULES
VILLAGE = "500103001003"  # 华一坡社区, 七星岗街道, 渝中区


def facts(
    category: str = "SJ0102",
    severity: Severity = Severity.NORMAL,
    network: str = "chengguan",
    region: str = VILLAGE,
    at: time = time(10),
) -> RouteFacts:
    kind = {"BJ": "component", "SJ": "event", "ZZ": "governance"}[category[:2]]
    return RouteFacts(category, kind, network, severity, region, at)


def rules_with(tmp_path: Path, routes: str) -> RuleSet:
    """A rule set with the bundled policies and calendar and the given routes."""
    for name in ("policies.yaml", "calendar.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    (tmp_path / "routes.yaml").write_text(textwrap.dedent(routes), encoding="utf-8")
    return RuleSet.load(tmp_path)


# A tree that exercises every rule of precedence; see docs/routing-rules.md.
TREE = """\
route:
  id: root
  tier: village
  policy: grid_standard
  department: 综治中心
  routes:
    - id: overlay
      match: {severity: [critical]}
      tier: county
      inform: [city]
      continue: true
    - id: appearance
      match: {category: [SJ01]}
      inform: [town]
      routes:
        - id: garbage
          match: {category: [SJ0102]}
          policy: garbage_exposed
          department: 环卫所
        - id: night
          match: {time_of_day: "22:00-06:00"}
          tier: town
    - id: by-region
      match: {region_prefix: ["500103"]}
      policy: muck
      priority: high
"""


@pytest.mark.parametrize(
    ("f", "tier", "department", "policy", "rule", "matched", "inform", "priority"),
    [
        # Deepest match wins; unset fields inherit (tier from the root).
        (
            facts("SJ0102"),
            Tier.VILLAGE,
            "环卫所",
            "garbage_exposed",
            "garbage",
            ("root", "appearance", "garbage"),
            (Tier.TOWN,),
            None,
        ),
        # First match without continue stops the walk: by-region is never tried.
        (
            facts("SJ0104"),
            Tier.VILLAGE,
            "城管局",  # no route sets it: the catalogue's department comes before the root's
            "grid_standard",
            "appearance",
            ("root", "appearance"),
            (Tier.TOWN,),
            None,
        ),
        # time_of_day wraps midnight.
        (
            facts("SJ0104", at=time(23, 30)),
            Tier.TOWN,
            "城管局",
            "grid_standard",
            "night",
            ("root", "appearance", "night"),
            (),  # town handles it, so informing the town is dropped
            None,
        ),
        (
            facts("SJ0104", at=time(6)),  # the window is half-open: 06:00 is outside
            Tier.VILLAGE,
            "城管局",
            "grid_standard",
            "appearance",
            ("root", "appearance"),
            (Tier.TOWN,),
            None,
        ),
        # An earlier continue branch keeps what it set (tier); later branches fill the
        # rest (department, policy) and add to inform.
        (
            facts("SJ0102", Severity.CRITICAL),
            Tier.COUNTY,
            "环卫所",
            "garbage_exposed",
            "overlay",
            ("root", "overlay", "appearance", "garbage"),
            (Tier.CITY, Tier.TOWN),
            None,
        ),
        # Region prefix; the catalogue's department beats the root default.
        (
            facts("ZZ0101"),
            Tier.VILLAGE,
            "综治中心",
            "muck",
            "by-region",
            ("root", "by-region"),
            (),
            Severity.HIGH,
        ),
        # Nothing but the root matches: its defaults; the category's department first.
        (
            facts("ZZ0201", region="500101001001"),
            Tier.VILLAGE,
            "公安局",
            "grid_standard",
            "root",
            ("root",),
            (),
            None,
        ),
    ],
)
def test_precedence_of_settings(
    tmp_path: Path,
    f: RouteFacts,
    tier: Tier,
    department: str,
    policy: str,
    rule: str,
    matched: tuple[str, ...],
    inform: tuple[Tier, ...],
    priority: Severity | None,
) -> None:
    decision = rules_with(tmp_path, TREE).route(f)
    assert decision == RouteDecision(tier, department, policy, rule, matched, inform, priority)


def test_root_department_is_the_last_resort(tmp_path: Path) -> None:
    ruleset = rules_with(tmp_path, TREE)
    # A code the catalogue does not know: no category department, so the root's.
    assert ruleset.route(facts("SJ0199")).department == "综治中心"


def test_catalogue_sla_policy_comes_before_the_root_policy(tmp_path: Path) -> None:
    ruleset = rules_with(tmp_path, TREE)
    # SJ0401 (火灾) names sla_policy: emergency in catalogue.yaml; no route sets a policy.
    assert ruleset.route(facts("SJ0401", region="500101001001")).policy == "emergency"


def test_version_is_a_stable_content_hash(tmp_path: Path) -> None:
    first = rules_with(tmp_path, TREE).version
    assert first == rules_with(tmp_path, TREE).version
    assert len(first) == 12 and int(first, 16) >= 0
    changed = rules_with(tmp_path, TREE.replace("muck", "greenery")).version
    assert changed != first


# ---- The bundled rules ------------------------------------------------------------------

BUNDLED = RuleSet.load(RULES, regions=RegionGraph.default())


@pytest.mark.parametrize(
    ("f", "tier", "policy", "rule", "inform"),
    [
        # 小事不出村: ordinary matters start at the village.
        (facts("SJ0102"), Tier.VILLAGE, "garbage_exposed", "garbage-exposed", ()),
        (facts("SJ0104"), Tier.VILLAGE, "street_cleaning", "street-dirty", ()),
        (facts("SJ0103"), Tier.VILLAGE, "muck", "muck-piles", ()),
        (facts("SJ0106"), Tier.VILLAGE, "greenery_cleaning", "greenery-dirty", ()),
        (facts("SJ0110"), Tier.TOWN, "illegal_building_existing", "illegal-building-existing", ()),
        (facts("SJ0105"), Tier.VILLAGE, "grid_standard", "city-appearance", ()),
        (facts("ZZ0101", network="zongzhi"), Tier.VILLAGE, "grid_standard", "disputes", ()),
        (facts("SJ0201"), Tier.VILLAGE, "grid_onsite", "ads-on-the-spot", ()),
        (facts("SJ0601"), Tier.VILLAGE, "grid_standard", "default", ()),
        # Some categories start higher.
        (facts("SJ0101"), Tier.TOWN, "illegal_building_stop", "illegal-building", ()),
        (facts("SJ0702"), Tier.COUNTY, "hotline_help", "pollution", ()),
        (facts("SJ0801"), Tier.TOWN, "grid_standard", "market-supervision", ()),
        (facts("SJ0802"), Tier.TOWN, "hotline_urgent", "food-safety", ()),
        (facts("ZZ0202"), Tier.TOWN, "grid_standard", "public-security", ()),
        (facts("ZZ0101", network="gongan"), Tier.TOWN, "grid_standard", "police-reports", ()),
        (facts("ZZ0105"), Tier.TOWN, "grid_complex", "land-disputes", ()),
        (facts("SJ0303"), Tier.TOWN, "muck", "muck-spill", ()),
        (facts("BJ0101"), Tier.COUNTY, "urgent_wall", "open-holes", ()),
        (facts("BJ0401"), Tier.TOWN, "greenery", "greenery-components", ()),
        (facts("SJ0404", Severity.HIGH), Tier.TOWN, "emergency", "emergencies", (Tier.COUNTY,)),
        # An incident category below its default (a drill, a talk, a false alarm, a fire
        # out: not real now): the town the same day, not the emergency clock its
        # catalogue policy would give.
        (facts("SJ0401"), Tier.TOWN, "high_response", "no-emergency-now", ()),
        (facts("SJ0403", Severity.LOW), Tier.TOWN, "high_response", "no-emergency-now", ()),
        # Critical: county handles, the city and the centres of the area informed,
        # whatever the category.
        (
            facts("SJ0102", Severity.CRITICAL),
            Tier.COUNTY,
            "emergency",
            "critical",
            (Tier.CITY, Tier.TOWN, Tier.VILLAGE),
        ),
        (
            facts("SJ0401", Severity.CRITICAL),
            Tier.COUNTY,
            "emergency",
            "critical",
            (Tier.CITY, Tier.TOWN, Tier.VILLAGE),
        ),
        # High above the category default: one tier up and the policy's wall-clock `high:`.
        (
            facts("SJ0102", Severity.HIGH, at=time(23)),
            Tier.TOWN,
            "high_hours",
            "garbage-exposed",
            (),
        ),
        (
            facts("SJ0102", Severity.HIGH, at=time(21)),
            Tier.TOWN,
            "high_hours",
            "garbage-exposed",
            (),
        ),
        # A wall-clock matter at night: the town's duty room, not the closed village office;
        # by day the village (独居人员失联: the grid worker knocks first).
        (
            facts("ZZ0520", Severity.HIGH, at=time(23)),
            Tier.TOWN,
            "urgent_wall",
            "out-of-contact",
            (),
        ),
        (
            facts("ZZ0520", Severity.HIGH, at=time(10)),
            Tier.VILLAGE,
            "urgent_wall",
            "out-of-contact",
            (),
        ),
        # The night rule never lowers: a county category stays at the county.
        (
            facts("SJ0701", Severity.HIGH, at=time(23)),
            Tier.COUNTY,
            "high_response",
            "pollution",
            (),
        ),
    ],
)
def test_bundled_rules(
    f: RouteFacts, tier: Tier, policy: str, rule: str, inform: tuple[Tier, ...]
) -> None:
    decision = BUNDLED.route(f)
    assert (decision.tier, decision.policy, decision.rule, decision.inform) == (
        tier,
        policy,
        rule,
        inform,
    )
    assert decision.policy in BUNDLED.policies
    assert decision.matched[0] == "default"


def test_bundled_rules_fill_the_department_from_the_catalogue() -> None:
    assert BUNDLED.route(facts("SJ0702")).department == "生态环境局"
    assert BUNDLED.route(facts("BJ0101")).department == "城管局"  # owner unknown
    assert BUNDLED.route(facts("BJ0108")).department == "供电公司"  # 电力井盖: its owner


def test_every_bundled_policy_is_used_by_a_route_or_the_catalogue() -> None:
    used = {route.policy for route in BUNDLED.routes()} - {None}
    used |= {policy.high for policy in BUNDLED.policies.values()} - {None}
    hotline = set(Catalogue.default().policy_names())
    assert used | {"emergency"} | hotline == set(BUNDLED.policies)
