"""The unified catalogue, network code mapping, compatibility, and strict YAML loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridflow.core.catalogue import CODE_PATTERN, Catalogue
from gridflow.core.load_errors import ConfigLoadError
from schemas.common import Network, Severity


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


def test_bundled_catalogue_shape(catalogue: Catalogue) -> None:
    assert 50 <= len(catalogue.categories) <= 150
    assert catalogue.fallback == "SJ0601"
    assert catalogue.get("SJ0601") is not None
    assert {network.value for network in Network} <= catalogue.networks
    assert all(CODE_PATTERN.match(category.code) for category in catalogue.categories)
    assert all(category.major == category.code[:4] for category in catalogue.categories)


def test_every_documented_major_has_categories(catalogue: Catalogue) -> None:
    majors = catalogue.majors()
    assert [f"BJ0{n}" for n in range(1, 7)] == [m for m in majors if m.startswith("BJ")]
    assert [f"SJ0{n}" for n in range(1, 10)] == [m for m in majors if m.startswith("SJ")]
    assert {
        "矛盾纠纷",
        "治安隐患",
        "安全生产",
        "消防隐患",
        "特殊人群",
        "信访维稳",
        "人口与房屋",
    } <= set(majors.values())


def test_default_is_loaded_once_per_process() -> None:
    assert Catalogue.default() is Catalogue.default()


@pytest.mark.parametrize(
    ("code", "name", "kind", "major_name", "department", "severity", "radius", "window"),
    [
        ("SJ0102", "暴露垃圾", "event", "市容环境", "城管局", Severity.NORMAL, 250.0, 7200.0),
        ("BJ0101", "井盖", "component", "公用设施", "城管局", Severity.NORMAL, 50.0, 7200.0),
        ("BJ0108", "电力井盖", "component", "公用设施", "供电公司", Severity.NORMAL, 50.0, 7200.0),
        ("BJ0110", "燃气井盖", "component", "公用设施", "燃气公司", Severity.HIGH, 50.0, 7200.0),
        (
            "ZZ0602",
            "群体性事件",
            "governance",
            "信访维稳",
            "公安局",
            Severity.CRITICAL,
            500.0,
            21600.0,
        ),
        ("SJ0901", "停水", "event", "民生诉求", "供水公司", Severity.NORMAL, 1000.0, 43200.0),
        ("SJ0401", "火灾", "event", "突发事件", "消防救援支队", Severity.CRITICAL, 1000.0, 3600.0),
        ("SJ0404", "积水内涝", "event", "突发事件", "水务局", Severity.HIGH, 1000.0, 21600.0),
        (
            "ZZ0101",
            "邻里纠纷",
            "governance",
            "矛盾纠纷",
            "综治中心",
            Severity.NORMAL,
            50.0,
            86400.0,
        ),
        (
            "ZZ0402",
            "电动车违规充电",
            "governance",
            "消防隐患",
            "消防救援支队",
            Severity.HIGH,
            50.0,
            86400.0,
        ),
    ],
)
def test_categories_carry_their_defaults(
    catalogue: Catalogue,
    code: str,
    name: str,
    kind: str,
    major_name: str,
    department: str,
    severity: Severity,
    radius: float,
    window: float,
) -> None:
    category = catalogue.get(code)
    assert category is not None
    assert (category.name, category.kind, category.major, category.major_name) == (
        name,
        kind,
        code[:4],
        major_name,
    )
    assert (category.department, category.severity) == (department, severity)
    assert (category.merge_radius_m, category.merge_window_s) == (radius, window)


@pytest.mark.parametrize(
    ("network", "code", "expected"),
    [
        ("chengguan", "SJ0102", "SJ0102"),  # unified codes are accepted from any network
        ("video_ai", "ZZ0201", "ZZ0201"),
        ("chengguan", "0102", "SJ0102"),  # the network's own code
        ("chengguan", "0403", "SJ0405"),  # the standard's 燃气管道破裂; unified numbers differ
        ("gongan", "GA-ZA-03", "ZZ0203"),
        ("zongzhi", "XF02", "ZZ0402"),
        ("yingji", "YJ-RQ-01", "SJ0405"),
        ("huanbao", "HB-DQ-02", "SJ0702"),
        ("shichang", "SC-TS-01", "SJ0803"),
        ("video_ai", "fire_smoke", "SJ0401"),
        ("video_ai", "waterlogging", "SJ0404"),
        ("video_ai", "garbage_overflow", "SJ0102"),
        ("video_ai", "road_occupation", "SJ0501"),
        ("gongan", "0102", None),  # another network's own code
        ("chengguan", "9999", None),
        ("unknown_net", "0102", None),
        ("chengguan", "SJ9999", None),  # well-formed but not in the catalogue
        ("chengguan", "", None),
        ("chengguan", None, None),
    ],
)
def test_resolve(
    catalogue: Catalogue, network: str, code: str | None, expected: str | None
) -> None:
    found = catalogue.resolve(network, code)
    assert (found.code if found else None) == expected


@pytest.mark.parametrize(
    "network", ["chengguan", "zongzhi", "gongan", "yingji", "huanbao", "shichang", "video_ai"]
)
def test_each_network_maps_10_to_40_own_codes(catalogue: Catalogue, network: str) -> None:
    own = catalogue._network_codes[network]
    assert 10 <= len(own) <= 40
    assert catalogue.network_name(network)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("SJ0102", "SJ0102", True),  # same code
        ("SJ0102", "SJ0104", True),  # same 大类
        ("BJ0206", "SJ0402", True),  # 道路破损 / 道路塌陷: listed together
        ("SJ0402", "BJ0206", True),  # symmetric
        ("SJ0401", "SJ0701", True),  # 火灾 / 露天焚烧
        ("SJ0504", "ZZ0401", True),  # 乱停车 / 消防通道堵塞
        ("SJ0404", "BJ0101", False),  # 积水内涝 / 井盖: no
        ("SJ0102", "ZZ0201", False),
        ("BJ0206", "SJ0404", False),  # groups are not transitive through SJ0408
    ],
)
def test_compatible(catalogue: Catalogue, a: str, b: str, expected: bool) -> None:
    assert catalogue.compatible(a, b) is expected


CATALOGUE = """\
version: 1
fallback: SJ0601
defaults:
  department: 城管局
  severity: normal
majors:
  SJ01: 市容环境
  SJ06: 其他事件
categories:
  SJ0102: {name: 暴露垃圾}
  SJ0104: {name: 道路不洁, merge_radius_m: 100}
  SJ0601: {name: 其他事件}
compatible:
  - [SJ0102, SJ0601]
"""

NETWORKS = """\
networks:
  chengguan:
    name: 城管
    codes:
      "0102": SJ0102
"""


def write(
    tmp_path: Path, catalogue: str = CATALOGUE, networks: str = NETWORKS
) -> tuple[Path, Path]:
    cat, net = tmp_path / "catalogue.yaml", tmp_path / "networks.yaml"
    cat.write_text(catalogue, encoding="utf-8")
    net.write_text(networks, encoding="utf-8")
    return cat, net


def test_a_small_valid_pair_loads(tmp_path: Path) -> None:
    loaded = Catalogue.load(*write(tmp_path))
    assert [c.code for c in loaded.categories] == ["SJ0102", "SJ0104", "SJ0601"]
    assert loaded.get("SJ0104").merge_radius_m == 100.0  # type: ignore[union-attr]
    assert loaded.get("SJ0102").merge_radius_m == 250.0  # type: ignore[union-attr]
    assert loaded.resolve("chengguan", "0102").code == "SJ0102"  # type: ignore[union-attr]
    assert loaded.compatible("SJ0102", "SJ0601")
    assert loaded.networks == frozenset({"chengguan"})


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ104: {name: 道路不洁}",
            11,
            "category code 'SJ104' must be BJ/SJ/ZZ + 大类 2 digits + 小类 2 digits",
            id="bad-code",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0102: {name: 道路不洁}",
            11,
            "duplicate key 'SJ0102' in categories (first at line 10)",
            id="duplicate-code",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {name: 道路不洁, keywords: [脏]}",
            11,
            "unknown field 'keywords' in category SJ0104 (known: department, merge_radius_m, "
            "merge_window_s, name, severity, sla_policy)",
            id="unknown-field",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {name: 道路不洁, severity: urgent}",
            11,
            "unknown severity 'urgent' (known: low, normal, high, critical)",
            id="unknown-severity",
        ),
        pytest.param(
            "  severity: normal",
            "  severity: 紧急",
            5,
            "unknown severity '紧急' (known: low, normal, high, critical)",
            id="unknown-default-severity",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0204: {name: 横幅}",
            11,
            "category SJ0204: 大类 SJ02 is not declared under majors",
            id="undeclared-major",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {name: 道路不洁, merge_radius_m: -5}",
            11,
            "merge_radius_m must be a number >= 0, not '-5'",
            id="negative-radius",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {name: 道路不洁, merge_window_s: 0}",
            11,
            "merge_window_s must be > 0",
            id="zero-window",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {name: 道路不洁, merge_radius_m: far}",
            11,
            "merge_radius_m must be a number, not 'far'",
            id="radius-not-a-number",
        ),
        pytest.param(
            "  SJ0104: {name: 道路不洁, merge_radius_m: 100}",
            "  SJ0104: {department: 城管局}",
            11,
            "category SJ0104 lacks required field 'name'",
            id="missing-name",
        ),
        pytest.param(
            "fallback: SJ0601",
            "fallback: SJ0699",
            2,
            "fallback 'SJ0699' is not a category",
            id="unknown-fallback",
        ),
        pytest.param(
            "  - [SJ0102, SJ0601]",
            "  - [SJ0102, SJ0609]",
            14,
            "compatible group names unknown category 'SJ0609'",
            id="compatible-unknown-code",
        ),
        pytest.param(
            "  - [SJ0102, SJ0601]",
            "  - [SJ0102]",
            14,
            "a compatible group needs at least two codes",
            id="compatible-single-code",
        ),
        pytest.param(
            "  SJ06: 其他事件",
            "  SJ6: 其他事件",
            8,
            "大类 code 'SJ6' must be BJ/SJ/ZZ + 2 digits",
            id="bad-major-code",
        ),
        pytest.param(
            "version: 1",
            "versoin: 1",
            1,
            "unknown field 'versoin' in catalogue (known: categories, compatible, defaults, "
            "fallback, majors, offices, verifiers, version)",
            id="unknown-top-field",
        ),
        pytest.param(
            "  SJ0102: {name: 暴露垃圾}",
            "  SJ0102: {name: 暴露垃圾",
            11,
            "YAML syntax error: expected ',' or '}', but got ':'",
            id="yaml-syntax",
        ),
    ],
)
def test_catalogue_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in CATALOGUE
    cat, net = write(tmp_path, catalogue=CATALOGUE.replace(old, new))
    with pytest.raises(ConfigLoadError) as caught:
        Catalogue.load(cat, net)
    assert (caught.value.file, caught.value.line, caught.value.message) == (str(cat), line, message)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            '      "0102": SJ0102',
            '      "0102": SJ0199',
            5,
            "network chengguan maps '0102' to unknown category 'SJ0199'",
            id="maps-to-unknown-code",
        ),
        pytest.param(
            '      "0102": SJ0102',
            '      "0102": SJ0102\n      "0102": SJ0104',
            6,
            "duplicate key '0102' in network chengguan codes (first at line 5)",
            id="duplicate-own-code",
        ),
        pytest.param(
            "  chengguan:",
            "  ChengGuan:",
            2,
            "network name 'ChengGuan' must be 2-32 characters of [a-z0-9_]",
            id="bad-network-name",
        ),
        pytest.param(
            "    name: 城管",
            "    title: 城管",
            3,
            "unknown field 'title' in network chengguan (known: codes, name, request_types, urgent_policy)",
            id="unknown-network-field",
        ),
        pytest.param(
            "    name: 城管",
            "    name:",
            3,
            "network chengguan name must not be empty",
            id="empty-display-name",
        ),
    ],
)
def test_network_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in NETWORKS
    cat, net = write(tmp_path, networks=NETWORKS.replace(old, new))
    with pytest.raises(ConfigLoadError) as caught:
        Catalogue.load(cat, net)
    assert (caught.value.file, caught.value.line, caught.value.message) == (str(net), line, message)


def test_an_empty_file_is_a_load_error(tmp_path: Path) -> None:
    cat, net = write(tmp_path, networks="# nothing here\n")
    with pytest.raises(ConfigLoadError) as caught:
        Catalogue.load(cat, net)
    assert (caught.value.line, caught.value.message) == (None, "empty file")
