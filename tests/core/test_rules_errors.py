"""Strict loading: every kind of mistake in the rules files is refused with file:line.

Each case edits a small valid rule set (BASE below, with the bundled policies and
calendar) and names the file, the line and the message the loader must give.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RuleSet

RULES = BUNDLED_RULES

BASE = """\
route:
  id: root
  tier: village
  policy: grid_standard
  routes:
    - id: garbage
      match:
        category: [SJ0102]
      policy: garbage_exposed
    - id: night
      match:
        time_of_day: "22:00-06:00"
      tier: town
"""
#  Line numbers of BASE, for reading the table below:
#   1 route:  2 id: root  3 tier  4 policy  5 routes:  6 - id: garbage  7 match:
#   8 category  9 policy: garbage_exposed  10 - id: night  11 match:  12 time_of_day
#   13 tier: town


def load(tmp_path: Path, routes: str, regions: RegionGraph | None = None) -> RuleSet:
    for name in ("policies.yaml", "calendar.yaml"):
        if not (tmp_path / name).exists():
            shutil.copy(RULES / name, tmp_path / name)
    (tmp_path / "routes.yaml").write_text(routes, encoding="utf-8")
    return RuleSet.load(tmp_path, regions=regions)


def test_the_base_is_valid(tmp_path: Path) -> None:
    assert [route.id for route in load(tmp_path, BASE).routes()] == ["root", "garbage", "night"]


def _append(route: str) -> str:
    return BASE + route


@pytest.mark.parametrize(
    ("routes", "line", "message"),
    [
        pytest.param(
            BASE.replace("      policy: garbage", "      polcy: garbage"),
            9,
            r"unknown field 'polcy' in a route \(did you mean 'policy'\?\)",
            id="unknown-route-field",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "catgory: [SJ0102]"),
            8,
            r"unknown field 'catgory' in the match of route 'garbage' \(did you mean 'category'\?\)",
            id="unknown-match-field",
        ),
        pytest.param(
            BASE.replace("route:", "routes:", 1),
            1,
            r"unknown field 'routes' in routes file \(did you mean 'route'\?\)",
            id="unknown-top-level-field",
        ),
        pytest.param(
            BASE.replace("policy: garbage_exposed", "policy: garbage_exposd"),
            9,
            r"undefined policy 'garbage_exposd' \(did you mean 'garbage_exposed'\?\)",
            id="undefined-policy",
        ),
        pytest.param(
            BASE.replace("tier: town", "tier: township"),
            13,
            r"unknown tier 'township' \(did you mean 'town'\?\); valid: city, county, town, village",
            id="unknown-tier",
        ),
        pytest.param(
            BASE.replace("      tier: town", "      tier: town\n      inform: [city, provice]"),
            14,
            r"unknown tier 'provice'",
            id="unknown-inform-tier",
        ),
        pytest.param(
            BASE.replace("      tier: town", "      tier: town\n      inform: [town]"),
            14,
            r"informs town, the tier that handles it",
            id="inform-own-tier",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "severity: [urgent]"),
            8,
            r"unknown severity 'urgent'; valid: low, normal, high, critical",
            id="unknown-severity",
        ),
        pytest.param(
            BASE.replace("      tier: town", "      tier: town\n      priority: hihg"),
            14,
            r"unknown priority 'hihg' \(did you mean 'high'\?\)",
            id="unknown-priority",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "network: [chengguang]"),
            8,
            r"unknown network 'chengguang' \(did you mean 'chengguan'\?\)",
            id="unknown-network",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "category: [SJ0199]"),
            8,
            r"unknown category 'SJ0199': no catalogue code starts with it",
            id="unknown-category",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "category: [暴露垃圾]"),
            8,
            r"category '暴露垃圾' is not a unified code or prefix",
            id="malformed-category",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "kind: [events]"),
            8,
            r"unknown kind 'events' \(did you mean 'event'\?\)",
            id="unknown-kind",
        ),
        pytest.param(
            BASE.replace('"22:00-06:00"', '"22:00-6"'),
            12,
            r"time span '22:00-6' is not HH:MM-HH:MM",
            id="malformed-time-of-day",
        ),
        pytest.param(
            BASE.replace('"22:00-06:00"', '"24:00-06:00"'),
            12,
            r"hour over 23",
            id="out-of-range-time-of-day",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "category: []"),
            8,
            r"category is an empty list",
            id="empty-list",
        ),
        pytest.param(
            BASE.replace("id: night", "id: garbage"),
            10,
            r"duplicate route id 'garbage' \(first on line 6\)",
            id="duplicate-rule-id",
        ),
        pytest.param(
            BASE.replace("id: night", "id: 'night shift'"),
            10,
            r"route id 'night shift' must be a short name",
            id="malformed-rule-id",
        ),
        pytest.param(
            _append(
                "    - id: everything\n      tier: town\n    - id: too-late\n      tier: county\n"
            ),
            16,
            r"route 'too-late' is unreachable: the earlier sibling 'everything' \(line 14\) "
            r"matches every case and has no 'continue: true'",
            id="unreachable-after-catch-all",
        ),
        pytest.param(
            _append("    - id: shadowed\n      match:\n        category: [SJ0102]\n"),
            14,
            r"route 'shadowed' is unreachable: the earlier sibling 'garbage' \(line 6\) "
            r"matches everything it matches",
            id="unreachable-shadowed-by-broader-sibling",
        ),
        pytest.param(
            BASE.replace(
                "      policy: garbage_exposed\n",
                "      policy: garbage_exposed\n      routes:\n"
                "        - id: impossible\n          match:\n            category: [SJ0401]\n",
            ),
            12,
            r"route 'impossible' can never match: its category condition excludes everything",
            id="never-matches-inside-parent",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "category: [SJ0102]\n        kind: [component]"),
            7,
            r"route 'garbage' can never match: kind \['component'\] contradicts category \['SJ0102'\]",
            id="never-matches-kind-vs-category",
        ),
        pytest.param(
            BASE.replace(
                "      tier: town\n",
                "      tier: town\n      routes:\n        - id: noon\n          match:\n"
                '            time_of_day: "11:00-13:00"\n',
            ),
            16,
            r"route 'noon' can never match: its time_of_day window does not overlap",
            id="never-matches-time-window",
        ),
        pytest.param(
            "# routes to come\n{}\n",
            2,
            r"missing root: the file needs a top-level 'route:'",
            id="missing-root",
        ),
        pytest.param(
            "# nothing here\n",
            None,
            r"empty file: a root 'route:' is required",
            id="empty-file",
        ),
        pytest.param(
            BASE.replace("      tier: town\n", "      tier: town\n      continue: yes\n"),
            14,
            r"continue must be true or false",
            id="continue-not-boolean",
        ),
        pytest.param(
            BASE.replace("  tier: village\n", "  tier: village\n  match: {severity: [low]}\n"),
            4,
            r"the root route matches every case: it cannot have 'match'",
            id="root-with-match",
        ),
        pytest.param(
            BASE.replace("  policy: grid_standard\n", ""),
            2,
            r"the root route must set a default 'policy'",
            id="root-without-policy",
        ),
        pytest.param(
            BASE.replace("category: [SJ0102]", "region_prefix: [5001x3]"),
            8,
            r"region_prefix '5001x3' must be 1-12 digits",
            id="malformed-region-prefix",
        ),
        pytest.param(
            BASE.replace("        category: [SJ0102]", "        category: [SJ0102\n"),
            10,
            r"YAML syntax error",
            id="yaml-syntax-error",
        ),
        pytest.param(
            BASE.replace(
                "      policy: garbage_exposed\n",
                "      policy: garbage_exposed\n      policy: muck\n",
            ),
            10,
            r"duplicate key 'policy' \(first defined on line 9\)",
            id="duplicate-yaml-key",
        ),
    ],
)
def test_routes_file_errors(tmp_path: Path, routes: str, line: int | None, message: str) -> None:
    with pytest.raises(ConfigLoadError, match=message) as caught:
        load(tmp_path, routes)
    assert caught.value.file == str(tmp_path / "routes.yaml")
    assert caught.value.line == line
    where = tmp_path / "routes.yaml"
    assert str(caught.value).startswith(f"{where}:{line}: " if line is not None else f"{where}: ")


def test_region_prefix_must_lead_to_a_region_of_the_tree(tmp_path: Path) -> None:
    routes = BASE.replace("category: [SJ0102]", "region_prefix: ['510101']")  # Sichuan
    load(tmp_path, routes)  # without a division tree only the syntax is checked
    with pytest.raises(ConfigLoadError, match="matches no region of the division tree") as caught:
        load(tmp_path, routes, RegionGraph.default())
    assert caught.value.line == 8


@pytest.mark.parametrize(
    ("file", "edit", "line", "message"),
    [
        pytest.param(
            "policies.yaml",
            lambda text: text.replace("resolve: 4h", "resolve: 4hrs", 1),
            "resolve: 4hrs",
            r"policy 'garbage_exposed', resolve: bad duration '4hrs': unknown unit 'hrs'",
            id="bad-duration",
        ),
        pytest.param(
            "policies.yaml",
            lambda text: text.replace("  emergency:", "  emergencies:"),
            None,
            r"catalogue category SJ0401 names sla_policy 'emergency', which is not defined",
            id="catalogue-policy-undefined",
        ),
        pytest.param(
            "calendar.yaml",
            lambda text: text.replace("Asia/Shanghai", "Asia/Peking"),
            "timezone: Asia/Peking",
            r"unknown time zone 'Asia/Peking'",
            id="bad-calendar",
        ),
    ],
)
def test_errors_in_the_other_rules_files(
    tmp_path: Path, file: str, edit: object, line: str | None, message: str
) -> None:
    """``line``: the text of the line the error must point at (found after the edit)."""
    text = edit((RULES / file).read_text(encoding="utf-8"))  # type: ignore[operator]
    (tmp_path / file).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigLoadError, match=message) as caught:
        load(tmp_path, BASE)
    assert caught.value.file == str(tmp_path / file)
    if line is None:
        assert caught.value.line is None
    else:
        numbered = [n for n, row in enumerate(text.splitlines(), 1) if row.strip() == line]
        assert [caught.value.line] == numbered


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    shutil.copy(RULES / "policies.yaml", tmp_path / "policies.yaml")
    (tmp_path / "routes.yaml").write_text(BASE, encoding="utf-8")
    with pytest.raises(ConfigLoadError, match="cannot read") as caught:
        RuleSet.load(tmp_path)
    assert caught.value.file == str(tmp_path / "calendar.yaml")


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigLoadError, match="rules directory not found"):
        RuleSet.load(tmp_path / "nowhere")
