"""Network code maps: 城管 reports the standard's own 事件 numbers, so they must mean it.

GB/T 30428.2-2013 (formerly CJ/T 214-2007) 事件 大类 01-05 and their 小类 as numbered in
the standard (the ones the catalogue has a category for, and the notable ones it has
not). The unified SJ numbers are mostly local, so the 城管 map translates: the standard's
0403 is 燃气管道破裂 (SJ0405 燃气泄漏 here), never 树木倒伏.
"""

from __future__ import annotations

import pytest

from gridflow.core.catalogue import Catalogue

# standard code: (standard name, unified category it maps to, or None: not mapped)
STANDARD_EVENTS: dict[str, tuple[str, str | None]] = {
    "0101": ("私搭乱建", "SJ0101"),
    "0102": ("暴露垃圾", "SJ0102"),
    "0103": ("积存垃圾渣土", "SJ0103"),
    "0104": ("道路不洁", "SJ0104"),
    "0105": ("水域不洁", "SJ0105"),
    "0106": ("绿地脏乱", "SJ0106"),
    "0107": ("废弃车辆", "SJ0107"),
    "0108": ("废弃家具设备", "SJ0507"),
    "0109": ("非装饰性树挂", None),
    "0201": ("非法小广告", "SJ0201"),
    "0202": ("违章张贴悬挂广告牌匾", "SJ0202"),
    "0203": ("占道广告牌", "SJ0202"),
    "0204": ("街头散发广告", "SJ0201"),
    "0301": ("施工扰民", "SJ0301"),
    "0302": ("工地扬尘", "SJ0705"),
    "0303": ("施工废弃料", "SJ0103"),
    "0304": ("施工占道", "SJ0302"),
    "0305": ("无证掘路", "SJ0304"),
    "0401": ("路面塌陷", "SJ0402"),
    "0402": ("自来水管破裂", "SJ0408"),
    "0403": ("燃气管道破裂", "SJ0405"),
    "0404": ("下水道堵塞或破损", "SJ0410"),
    "0405": ("热力管道破裂", None),
    "0406": ("道路积水", "SJ0404"),
    "0407": ("道路积雪结冰", None),
    "0408": ("架空线缆损坏", None),
    "0409": ("群发性事件", "ZZ0602"),
    "0501": ("无照经营游商", "SJ0503"),
    "0502": ("流浪乞讨", None),
    "0503": ("占道废品收购", "SJ0501"),
    "0504": ("店外经营", "SJ0502"),
    "0505": ("机动车乱停放", "SJ0504"),
    "0506": ("非机动车乱停放", "SJ0505"),
    "0507": ("乱堆物堆料", "SJ0507"),
    "0508": ("商业噪音", "SJ0703"),
    "0509": ("黑车拉客", None),
    "0510": ("露天烧烤", "SJ0506"),
}
#: Codes the 城管 map may hold beyond the table: the local catch-all.
LOCAL = {"0699": "SJ0601"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


def chengguan_map(catalogue: Catalogue) -> dict[str, str]:
    found = {}
    for code in [*STANDARD_EVENTS, *LOCAL, "0601", "0110", "0599"]:
        category = catalogue.resolve("chengguan", code)
        if category is not None:
            found[code] = category.code
    return found


def test_the_chengguan_map_is_the_standards_table(catalogue: Catalogue) -> None:
    expected = {code: unified for code, (_, unified) in STANDARD_EVENTS.items() if unified}
    assert chengguan_map(catalogue) == expected | LOCAL


def test_0403_is_a_gas_pipe_not_a_fallen_tree(catalogue: Catalogue) -> None:
    category = catalogue.resolve("chengguan", "0403")
    assert category is not None and category.name == "燃气泄漏"


@pytest.mark.parametrize(("code", "entry"), sorted(STANDARD_EVENTS.items()))
def test_standard_codes_keep_their_major(code: str, entry: tuple[str, str | None]) -> None:
    # A 市容环境 number never lands in 突发事件 and so on, except where the catalogue
    # files the thing elsewhere on purpose (扬尘 and 噪声 under 生态环境, 群体性事件 under
    # 信访维稳, 废弃家具 as 乱堆物堆料, 施工废弃料 as 渣土).
    name, unified = entry
    moved = {"0108", "0302", "0303", "0409", "0508"}
    if unified is not None and code not in moved:
        assert unified[2:4] == code[:2], name


def test_unified_codes_that_carry_the_standards_number_have_its_meaning(
    catalogue: Catalogue,
) -> None:
    for code, (name, _) in STANDARD_EVENTS.items():
        same = catalogue.get("SJ" + code)
        if same is not None and code in {
            "0101",
            "0102",
            "0103",
            "0104",
            "0105",
            "0106",
            "0107",
            "0507",
        }:
            assert same.name == name, code
