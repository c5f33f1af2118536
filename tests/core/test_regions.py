"""The region tree: tiers from codes, the bundled Chongqing tree, and strict CSV loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.regions import Region, RegionGraph, tier_of_code
from schemas.common import Tier

CITY = "500000000000"
WANZHOU = "500101000000"  # 万州区
GAOSUNTANG = "500101001000"  # 高笋塘街道
DONGFANG = "500101001001"  # 东方广场社区
YUZHONG_JIEFANGBEI = "500103001000"  # 渝中区 解放碑街道

GOOD_ROWS = [
    "code,name,level,parent_code",
    "500000000000,重庆市,city,",
    "500101000000,万州区,county,500000000000",
    "500101001000,高笋塘街道,town,500101000000",
    "500101001001,东方广场社区,village,500101001000",
]


def write_csv(tmp_path: Path, lines: list[str], name: str = "divisions.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        ("500000000000", Tier.CITY),  # province-level municipality
        ("440100000000", Tier.CITY),  # prefecture-level city (广州市)
        ("500101000000", Tier.COUNTY),  # district 5001xx
        ("500235000000", Tier.COUNTY),  # county 5002xx (云阳县)
        ("500101001000", Tier.TOWN),  # 街道
        ("500235100000", Tier.TOWN),  # 镇 (100-199)
        ("500101001001", Tier.VILLAGE),  # 社区
        ("500235100201", Tier.VILLAGE),  # 村委会 (200-399)
    ],
)
def test_tier_of_code_reads_the_digits(code: str, tier: Tier) -> None:
    assert tier_of_code(code) is tier


@pytest.mark.parametrize(
    "code", ["", "5001010010", "5001010010011", "50010100100a", "５００１０１００１００１"]
)
def test_tier_of_code_refuses_anything_but_12_ascii_digits(code: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        tier_of_code(code)


@pytest.fixture(scope="module")
def graph() -> RegionGraph:
    return RegionGraph.default()


def test_bundled_tree_has_the_documented_size(graph: RegionGraph) -> None:
    assert graph.city == CITY
    assert [len(graph.by_tier(tier)) for tier in Tier] == [1, 38, 1031, 11270]
    assert len(graph) == 1 + 38 + 1031 + 11270


def test_default_is_loaded_once_per_process() -> None:
    assert RegionGraph.default() is RegionGraph.default()


@pytest.mark.parametrize(
    ("code", "tier", "expected"),
    [
        (DONGFANG, Tier.VILLAGE, DONGFANG),
        (DONGFANG, Tier.TOWN, GAOSUNTANG),
        (DONGFANG, Tier.COUNTY, WANZHOU),
        (DONGFANG, Tier.CITY, CITY),
        (GAOSUNTANG, Tier.TOWN, GAOSUNTANG),
        (GAOSUNTANG, Tier.COUNTY, WANZHOU),
        (GAOSUNTANG, Tier.CITY, CITY),
        (WANZHOU, Tier.COUNTY, WANZHOU),
        (WANZHOU, Tier.CITY, CITY),
        (CITY, Tier.CITY, CITY),
    ],
)
def test_ancestor_is_the_centre_at_that_tier(
    graph: RegionGraph, code: str, tier: Tier, expected: str
) -> None:
    assert graph.ancestor(code, tier) == expected


@pytest.mark.parametrize(
    ("code", "tier", "error"),
    [
        ("500101001999", Tier.TOWN, KeyError),  # not a region
        (GAOSUNTANG, Tier.VILLAGE, ValueError),  # a town has no village above it
        (CITY, Tier.COUNTY, ValueError),
    ],
)
def test_ancestor_refuses_unknown_codes_and_lower_tiers(
    graph: RegionGraph, code: str, tier: Tier, error: type[Exception]
) -> None:
    with pytest.raises(error):
        graph.ancestor(code, tier)


@pytest.mark.parametrize(
    ("code", "chain"),
    [
        (DONGFANG, (DONGFANG, GAOSUNTANG, WANZHOU, CITY)),
        (GAOSUNTANG, (GAOSUNTANG, WANZHOU, CITY)),
        (WANZHOU, (WANZHOU, CITY)),
        (CITY, (CITY,)),
    ],
)
def test_chain_runs_bottom_up_to_the_city(
    graph: RegionGraph, code: str, chain: tuple[str, ...]
) -> None:
    assert graph.chain(code) == chain


def test_lookups(graph: RegionGraph) -> None:
    assert graph.get(DONGFANG) == Region(
        DONGFANG, "东方广场社区居民委员会", Tier.VILLAGE, GAOSUNTANG
    )
    assert graph.get("500101001999") is None
    assert DONGFANG in graph
    assert "nonsense" not in graph
    assert 500101001001 not in graph
    assert graph.parent(DONGFANG) == GAOSUNTANG
    assert graph.parent(CITY) is None
    assert WANZHOU in graph.children(CITY)
    assert len(graph.children(CITY)) == 38
    assert DONGFANG in graph.children(GAOSUNTANG)
    assert graph.children(DONGFANG) == ()
    assert graph.get(YUZHONG_JIEFANGBEI) is not None


def test_every_village_has_a_town_a_county_and_the_city(graph: RegionGraph) -> None:
    for village in graph.by_tier(Tier.VILLAGE):
        chain = graph.chain(village.code)
        assert [graph.get(code).tier for code in chain] == [  # type: ignore[union-attr]
            Tier.VILLAGE,
            Tier.TOWN,
            Tier.COUNTY,
            Tier.CITY,
        ]


def test_rows_may_come_in_any_order(tmp_path: Path) -> None:
    header, *rows = GOOD_ROWS
    graph = RegionGraph.load_csv(write_csv(tmp_path, [header, *reversed(rows)]))
    assert graph.chain(DONGFANG) == (DONGFANG, GAOSUNTANG, WANZHOU, CITY)


def test_columns_may_come_in_any_order_and_a_bom_is_ignored(tmp_path: Path) -> None:
    lines = ["\ufeffparent_code,level,name,code"]
    for row in GOOD_ROWS[1:]:
        code, name, level, parent = row.split(",")
        lines.append(f"{parent},{level},{name},{code}")
    graph = RegionGraph.load_csv(write_csv(tmp_path, lines))
    assert graph.ancestor(DONGFANG, Tier.COUNTY) == WANZHOU


def replace(line: int, text: str) -> list[str]:
    """GOOD_ROWS with 1-based ``line`` replaced."""
    lines = list(GOOD_ROWS)
    lines[line - 1] = text
    return lines


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        pytest.param(
            replace(5, "50010100100,东方广场社区,village,500101001000"),
            5,
            "code must be 12 digits, not '50010100100'",
            id="bad-code",
        ),
        pytest.param(
            replace(3, "500101000000,万州区,district,500000000000"),
            3,
            "unknown level 'district' (known: city, county, town, village)",
            id="unknown-level",
        ),
        pytest.param(
            [*GOOD_ROWS, "500101001001,又一个社区,village,500101001000"],
            6,
            "duplicate code 500101001001 (first at line 5)",
            id="duplicate-code",
        ),
        pytest.param(
            replace(5, "500101001001,东方广场社区,village,"),
            5,
            "village 500101001001 has no parent_code",
            id="missing-parent",
        ),
        pytest.param(
            replace(5, "500101001001,东方广场社区,village,500101002000"),
            5,
            "village 500101001001 has unknown parent 500101002000",
            id="unknown-parent",
        ),
        pytest.param(
            replace(5, "500101001001,东方广场社区,village,500101000000"),
            5,
            "village 500101001001's parent 500101000000 is a county, must be a town",
            id="village-under-county",
        ),
        pytest.param(
            replace(4, "500101001000,高笋塘街道,town,500000000000"),
            4,
            "town 500101001000's parent 500000000000 is a city, must be a county",
            id="town-without-county",
        ),
        pytest.param(
            replace(3, "500101000000,万州区,county,500101001000"),
            3,
            "county 500101000000's parent 500101001000 is a town, must be a city",
            id="county-not-under-city",
        ),
        pytest.param(
            [*GOOD_ROWS, "510000000000,四川省,city,"],
            6,
            "more than one city: 510000000000 (city 500000000000 at line 2)",
            id="two-cities",
        ),
        pytest.param(
            replace(2, "500000000000,重庆市,city,510000000000"),
            2,
            "city 500000000000 must not have a parent",
            id="city-with-parent",
        ),
        pytest.param(
            replace(5, "500101001001,东方广场社区,town,500101001000"),
            5,
            "code 500101001001 is a village code but level is town",
            id="level-contradicts-code",
        ),
        pytest.param(
            [*GOOD_ROWS, "500102001000,敦仁街道,town,500101000000"],
            6,
            "town 500102001000 does not lie under parent 500101000000 (code must start with 500101)",
            id="code-outside-parent",
        ),
        pytest.param(
            replace(5, "500101001001,,village,500101001000"),
            5,
            "region 500101001001 has no name",
            id="empty-name",
        ),
        pytest.param(
            replace(5, "500101001001,东方广场社区,village"),
            5,
            "expected 4 columns, got 3",
            id="short-row",
        ),
        pytest.param(
            replace(1, "code,name,tier,parent_code"),
            1,
            "header lacks column 'level' (need code, name, level, parent_code)",
            id="bad-header",
        ),
        pytest.param(
            [GOOD_ROWS[0], *GOOD_ROWS[2:3]],
            None,
            "no city: exactly one row must have level city",
            id="no-city",
        ),
        pytest.param([], None, "empty file", id="empty-file"),
    ],
)
def test_loader_errors_name_file_line_and_problem(
    tmp_path: Path, lines: list[str], line: int | None, message: str
) -> None:
    path = write_csv(tmp_path, lines) if lines else tmp_path / "divisions.csv"
    if not lines:
        path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigLoadError) as caught:
        RegionGraph.load_csv(path)
    error = caught.value
    assert (error.file, error.line, error.message) == (str(path), line, message)
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(error) == f"{where}: {message}"


def test_a_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigLoadError, match="cannot read"):
        RegionGraph.load_csv(tmp_path / "absent.csv")
