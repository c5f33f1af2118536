"""Severity: category default, reporter hint (capped unless trusted), keyword escalation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridflow.core.catalogue import Catalogue
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.severity import SeverityRules, assess_severity, raise_by
from schemas.common import ReporterRole, Severity

LOW, NORMAL, HIGH, CRITICAL = Severity.LOW, Severity.NORMAL, Severity.HIGH, Severity.CRITICAL


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.mark.parametrize(
    ("code", "hint", "role", "text", "expected"),
    [
        # the category default when nothing else speaks
        ("SJ0201", None, None, "电线杆上贴满了小广告", LOW),
        ("SJ0102", None, None, "小区门口垃圾没人收", NORMAL),
        ("SJ0404", None, None, "路口积水", HIGH),
        ("SJ0401", None, None, "仓库", CRITICAL),
        # a hint never lowers it
        ("SJ0401", LOW, ReporterRole.GRID_WORKER, "仓库", CRITICAL),
        ("SJ0404", LOW, None, "路口积水", HIGH),
        # trusted reporters' hints count in full
        ("SJ0102", CRITICAL, ReporterRole.GRID_WORKER, "垃圾", CRITICAL),
        ("SJ0201", HIGH, ReporterRole.SENSOR, "小广告", HIGH),
        ("SJ0201", HIGH, "grid_worker", "小广告", HIGH),  # the role as plain text
        # anyone else raises it by one level at most
        ("SJ0102", CRITICAL, ReporterRole.CITIZEN, "垃圾", HIGH),
        ("SJ0201", CRITICAL, ReporterRole.CITIZEN, "小广告", NORMAL),
        ("SJ0201", NORMAL, ReporterRole.CITIZEN, "小广告", NORMAL),
        ("SJ0102", CRITICAL, ReporterRole.VIDEO_AI, "垃圾", HIGH),
        ("SJ0102", CRITICAL, None, "垃圾", HIGH),
        # keywords escalate whoever reports
        ("SJ0102", None, ReporterRole.CITIZEN, "垃圾堆着火了", CRITICAL),
        ("SJ0102", None, None, "垃圾站旁边冒烟", CRITICAL),
        ("BJ0206", None, None, "路面塌了一块", CRITICAL),
        ("SJ0803", None, None, "电梯里有人被困", CRITICAL),
        ("SJ0403", None, None, "有人落水", CRITICAL),
        ("SJ0801", None, None, "那家店燃气泄漏了", CRITICAL),
        ("ZZ0101", None, None, "邻居两家打架，有人受伤", HIGH),
        ("SJ0503", None, None, "有个摊贩持刀威胁城管", HIGH),
        ("ZZ0101", None, None, "邻居打架还动了火", CRITICAL),  # the highest word wins
        # 火 only as a word: 火锅 is no fire
        ("SJ0702", None, None, "火锅店油烟太大", NORMAL),
        # negation is not parsed, on purpose: over-escalation is the cheap mistake
        ("SJ0407", None, None, "两车刮擦，没有人受伤", HIGH),
        ("SJ0104", None, None, "没有人受伤，只是路很脏", HIGH),
    ],
)
def test_assess_severity(
    catalogue: Catalogue,
    code: str,
    hint: Severity | None,
    role: ReporterRole | str | None,
    text: str,
    expected: Severity,
) -> None:
    category = catalogue.get(code)
    assert category is not None
    assert assess_severity(category, hint, text, reporter_role=role) is expected


def test_the_three_argument_form_treats_the_reporter_as_untrusted(catalogue: Catalogue) -> None:
    category = catalogue.get("SJ0201")
    assert category is not None
    assert assess_severity(category, CRITICAL, "小广告") is NORMAL


@pytest.mark.parametrize(
    ("severity", "levels", "expected"),
    [
        (LOW, 1, NORMAL),
        (NORMAL, 1, HIGH),
        (HIGH, 1, CRITICAL),
        (CRITICAL, 1, CRITICAL),
        (LOW, 3, CRITICAL),
        (HIGH, -1, NORMAL),
        (LOW, -1, LOW),
        (NORMAL, 0, NORMAL),
    ],
)
def test_raise_by_clamps_to_the_scale(severity: Severity, levels: int, expected: Severity) -> None:
    assert raise_by(severity, levels) is expected


@pytest.mark.parametrize(
    ("text", "level", "words"),
    [
        ("楼下着火了，浓烟很大", CRITICAL, ("着火", "浓烟")),
        ("有人打架", HIGH, ("打架",)),
        ("垃圾没人收", None, ()),
    ],
)
def test_escalation_names_the_words_it_found(
    text: str, level: Severity | None, words: tuple[str, ...]
) -> None:
    assert SeverityRules.default().escalation(text) == (level, words)


def test_rules_can_be_given_explicitly(catalogue: Catalogue) -> None:
    category = catalogue.get("SJ0102")
    assert category is not None
    rules = SeverityRules({HIGH: ["恶臭"], CRITICAL: ["恶臭难忍"]})
    assert assess_severity(category, None, "恶臭", rules=rules) is HIGH
    assert assess_severity(category, None, "恶臭难忍", rules=rules) is CRITICAL
    assert assess_severity(category, None, "着火了", rules=rules) is NORMAL


SEVERITY_YAML = """\
categories: {}
severity:
  critical: [着火, 坍塌]
  high: [打架]
"""


def test_a_small_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(SEVERITY_YAML, encoding="utf-8")
    rules = SeverityRules.load(path)
    assert rules.escalation("房子坍塌了") == (CRITICAL, ("坍塌",))
    assert rules.escalation("打架") == (HIGH, ("打架",))


def test_a_file_without_a_severity_section_escalates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text("categories: {}\n", encoding="utf-8")
    assert SeverityRules.load(path).escalation("着火了") == (None, ())


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            "  high: [打架]",
            "  urgent: [打架]",
            4,
            "unknown severity level 'urgent' (known: low, normal, high, critical)",
            id="unknown-level",
        ),
        pytest.param(
            "  high: [打架]",
            "  high: [打架, 着火]",
            4,
            "severity word '着火' already listed at line 3",
            id="word-listed-twice",
        ),
        pytest.param(
            "  high: [打架]",
            "  high: 打架",
            4,
            "severity high must be a list",
            id="not-a-list",
        ),
        pytest.param(
            "  high: [打架]",
            "  high: [打架, [受伤]]",
            4,
            "a word under severity high must be a single value",
            id="nested-list",
        ),
        pytest.param(
            "  high: [打架]",
            "  high: [打架, '']",
            4,
            "a word under severity high must not be empty",
            id="empty-word",
        ),
    ],
)
def test_loader_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in SEVERITY_YAML
    path = tmp_path / "keywords.yaml"
    path.write_text(SEVERITY_YAML.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigLoadError) as caught:
        SeverityRules.load(path)
    assert (caught.value.file, caught.value.line, caught.value.message) == (
        str(path),
        line,
        message,
    )
