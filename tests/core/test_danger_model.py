"""The learned second opinion on danger: its file, its scoring and the gate in assessment.

``routing_rules/danger_model.jsonl`` is a char n-gram weight table trained offline
(``tools/danger_model.py``, scikit-learn); ``gridflow/core/danger_model.py`` scores it in
pure Python and ``assess_report`` gates on it (docs/classification.md, "The learned
second opinion (shipped)"). Specified here: the loader refuses a bad file with its line,
the scoring is the trainer's arithmetic, and the gate adds, vetoes, reads a hazard or
stays silent by the file's thresholds.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from gridflow.commands import danger_eval
from gridflow.commands.danger_eval import Assessor, Report
from gridflow.config import Settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier
from gridflow.core.danger import DangerLexicon
from gridflow.core.danger_model import MODEL_FILE, DangerModel, Thresholds
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.opening import assess_report
from gridflow.reference import load_engine
from schemas import GridEvent
from schemas.common import Severity

OFF = Thresholds(add=1.5, add_over_hazard=1.5, veto=1.5, hazard=1.5)


def _header(**changes: object) -> dict[str, object]:
    header = DangerModel.header_fields(
        bias=(-1.0, -2.0),
        thresholds=Thresholds(add=0.8, add_over_hazard=0.95, veto=0.6, hazard=0.7),
        trained_on={"file": "danger_eval.jsonl"},
        n_grams=3,
    )
    header.update(changes)
    return header


ROWS = [["火", 2.0, -1.0], ["着火", 1.0, 0.5], ["隐患", -1.0, 3.0]]


def _write(path: Path, header: object, rows: Sequence[object]) -> Path:
    path.write_bytes(_lines(header, rows))
    return path


def test_the_score_is_a_sum_of_weights_over_sqrt_of_the_n_grams(tmp_path: Path) -> None:
    model = DangerModel.load(_write(tmp_path / MODEL_FILE, _header(), ROWS))
    # 着火: the n-grams 着, 火, 着火 (3); 火 and 着火 are in the table.
    z_critical = -1.0 + (2.0 + 1.0) / math.sqrt(3)
    z_hazard = -2.0 + (-1.0 + 0.5) / math.sqrt(3)
    critical, hazard = model.chances("着火")
    assert critical == pytest.approx(1 / (1 + math.exp(-z_critical)), abs=1e-12)
    assert hazard == pytest.approx(1 / (1 + math.exp(-z_hazard)), abs=1e-12)
    # Counted with repeats, read as normalised (full-width letters, upper case): 火火 has
    # 火 twice among 3 n-grams; "ＡＢ" is "ab".
    critical, _ = model.chances("火火")
    assert critical == pytest.approx(1 / (1 + math.exp(-(-1.0 + 4.0 / math.sqrt(3)))), abs=1e-12)
    assert model.chances("ＡＢ") == model.chances("ab")
    # No n-gram spans a clause mark: 着火，火 is the pieces "着火," (6 n-grams: 着 火 , 着火
    # 火, 着火,) and "火" (1), as normalised ("，" is ",").
    critical, _ = model.chances("着火，火")
    assert critical == pytest.approx(1 / (1 + math.exp(-(-1.0 + 5.0 / math.sqrt(7)))), abs=1e-12)
    # No n-gram in the table, or no text at all: the biases alone.
    for text in ("路灯", ""):
        assert model.chances(text) == pytest.approx(
            (1 / (1 + math.exp(1.0)), 1 / (1 + math.exp(2.0))), abs=1e-12
        )


def _lines(header: object, rows: Sequence[object]) -> bytes:
    return b"\n".join([orjson.dumps(header), *(orjson.dumps(row) for row in rows)]) + b"\n"


# (what is wrong, the file, line, message part)
LOAD_ERRORS: list[tuple[str, bytes, int | None, str]] = [
    ("header not JSON", b"{not json\n", 1, "not JSON"),
    ("header not an object", _lines([1], ROWS), 1, "the header must be a JSON object"),
    ("unknown header field", _lines(_header(colour="red"), ROWS), 1, "unknown header fields ['colour']"),
    ("another format", _lines(_header(format="gridflow-danger-model/9"), ROWS), 1, "is not 'gridflow-danger"),
    ("other features", _lines(_header(features="words"), ROWS), 1, "features 'words' are not"),
    ("one bias", _lines(_header(bias=[1.0]), ROWS), 1, "bias must be [critical, hazard] numbers"),
    ("a threshold missing", _lines(_header(thresholds={"add": 0.5}), ROWS), 1, "thresholds must hold"),
    (
        "a threshold out of range",
        _lines(_header(thresholds={"add": 2, "add_over_hazard": 1, "veto": 1, "hazard": 1}), ROWS),
        1,
        "threshold add must be a number in [0, 1.5]",
    ),
    ("an unknown threshold", _lines(_header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7, "vet": 0.9}), ROWS), 1, "may hold ['doubt', 'sure', 'unsure', 'veto_over_event']"),
    (
        "a veto over an event below the veto",
        _lines(_header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7, "veto_over_event": 0.7}), ROWS),
        1,
        "threshold veto_over_event must be at least veto",
    ),
    (
        "a doubt above the veto",
        _lines(_header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7, "doubt": 0.85}), ROWS),
        1,
        "threshold doubt must be at most veto (or off)",
    ),
    (
        "an unsure that would doubt every critical reading",
        _lines(_header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7, "unsure": 1.0}), ROWS),
        1,
        "threshold unsure must be below 1 (0 turns it off)",
    ),
    ("a row not a list", _lines(_header(), [*ROWS[:2], {"隐患": 1}]), 4, "a weight row is [n-gram"),
    ("a weight not a number", _lines(_header(), [*ROWS[:2], ["隐患", "1", 0]]), 4, "a weight row is"),
    ("a row not JSON", _lines(_header(), ROWS[:2]) + b"[\"x\", 1,\n", 4, "not JSON"),
    ("an n-gram too long", _lines(_header(), [*ROWS[:2], ["存在隐患", 1, 0]]), 4, "is not 1-3 characters"),
    ("an n-gram not normalised", _lines(_header(), [*ROWS[:2], ["Ａ", 1, 0]]), 4, "is not normalised"),
    ("an n-gram twice", _lines(_header(), [*ROWS[:2], ["火", 1, 0]]), 4, "n-gram '火' listed twice"),
    ("rows the header does not count", _lines(_header(), ROWS[:2]), None, "header says 3 n-grams"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [row[1:] for row in LOAD_ERRORS],
    ids=[row[0] for row in LOAD_ERRORS],
)
def test_load_errors_name_file_line_and_what_is_wrong(
    tmp_path: Path, content: bytes, line: int | None, message: str
) -> None:
    path = tmp_path / MODEL_FILE
    path.write_bytes(content)
    with pytest.raises(ConfigLoadError) as caught:
        DangerModel.load(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert message in caught.value.message


def test_a_table_from_before_the_veto_over_an_event_never_vetoes_one(tmp_path: Path) -> None:
    header = _header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7})
    model = DangerModel.load(_write(tmp_path / MODEL_FILE, header, ROWS))
    assert model.thresholds.veto_over_event > 1


def test_a_table_from_before_the_duty_room_check_runs_every_critical_reading_critical(
    tmp_path: Path,
) -> None:
    header = _header(thresholds={"add": 0.5, "add_over_hazard": 0.9, "veto": 0.8, "hazard": 0.7})
    model = DangerModel.load(_write(tmp_path / MODEL_FILE, header, ROWS))
    assert model.thresholds.doubt > 1  # no critical reading doubted
    assert model.thresholds.sure == 0.0  # every flag of the model's own runs critical
    assert model.thresholds.unsure == 0.0  # nothing doubted on P(critical) alone


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / MODEL_FILE
    empty.write_bytes(b"")
    with pytest.raises(ConfigLoadError, match="empty file"):
        DangerModel.load(empty)
    with pytest.raises(ConfigLoadError, match="cannot read"):
        DangerModel.load(tmp_path / "missing.jsonl")


# The shipped table's probabilities for a few texts (to 1e-6). Retraining the table
# (python -m tools.danger_model) changes them: update these with it.
BUNDLED_GOLDEN = [
    ("三楼着火了，浓烟滚滚，有人被困", 1.0000000, 0.0000000),
    ("楼道里堆满了纸箱杂物，存在火灾隐患", 0.0000010, 0.9999920),
    ("路灯不亮了", 0.0000816, 0.0000291),
    ("河边有个娃儿在水里扑腾", 0.9998127, 0.0001006),
]


@pytest.mark.parametrize(("text", "critical", "hazard"), BUNDLED_GOLDEN)
def test_the_shipped_table_scores_as_it_did(text: str, critical: float, hazard: float) -> None:
    model = DangerModel.load(BUNDLED_RULES / MODEL_FILE)
    assert model.chances(text) == pytest.approx((critical, hazard), abs=1e-6)


def test_the_shipped_table_says_what_it_was_trained_on() -> None:
    model = DangerModel.load(BUNDLED_RULES / MODEL_FILE)
    trained_on = model.header["trained_on"]
    assert trained_on["file"] == "danger_eval.jsonl"
    assert trained_on["reports"] == len(danger_eval.read_reports(danger_eval.DEFAULT_EVAL))
    assert (
        trained_on["thresholds_from"] == "leave one block of 12 rounds out: holdout rounds "
        "6, 7, 9, 11, 15, 16, 24, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 42, 43, 44, "
        "45, 46, 47, 48, 49, 50, 51, 52, 53, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, "
        "67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, "
        "86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, "
        "104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, "
        "119, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, "
        "135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, "
        "150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, "
        "165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, "
        "180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, "
        "195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, "
        "210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, "
        "225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, "
        "240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, "
        "255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, "
        "270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, "
        "285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, "
        "300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312"
    )
    assert 1000 <= len(model) <= 50_000


def test_pure_scoring_equals_the_trainer_and_training_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from tools import danger_model

    reports = danger_eval.read_reports(danger_eval.DEFAULT_EVAL)
    train, held = reports[::4], reports[1::40]
    assert len(held) >= 49
    fitted = danger_model.fit(train, c=16.0, keep=2000)
    model = fitted.model(OFF)
    expected = fitted.chances([r.text for r in held])
    for report, (critical, hazard) in zip(held, expected, strict=True):
        assert model.chances(report.text) == pytest.approx((critical, hazard), abs=1e-6)
    # The same input gives the same file.
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    danger_model.write(first, fitted, OFF, {"file": "x"})
    danger_model.write(second, danger_model.fit(train, c=16.0, keep=2000), OFF, {"file": "x"})
    assert first.read_bytes() == second.read_bytes()
    assert DangerModel.load(first).chances(held[0].text) == model.chances(held[0].text)


def test_held_out_models_fitted_in_processes_are_the_ones_fitted_here() -> None:
    # tools/danger_model.py --jobs: forked workers, one BLAS thread each, fit the same
    # held-out models as one process does (the table is the same to its written decimals).
    pytest.importorskip("sklearn")
    from tools import danger_model

    reports = danger_eval.read_reports(danger_eval.DEFAULT_EVAL)[::20]
    numbers = [6, 7]
    forked = danger_model._fit_in_processes(reports, numbers, c=16.0, keep=500, jobs=2)
    assert sorted(forked) == numbers
    for number in numbers:
        here = danger_model.fit_without(reports, number, c=16.0, keep=500)
        assert forked[number].weights == here.weights
        assert forked[number].bias == here.bias


def test_blocks_hold_the_blind_rounds_out_in_order() -> None:
    # tools/danger_model.py --block: each block's model scores its rounds; together the
    # blocks hold every blind round out exactly once, in order.
    from tools import danger_model

    for size in (1, 12):
        groups = danger_model.blocks(size)
        assert [n for group in groups for n in group] == list(danger_model.BLIND_ROUNDS)
        assert all(len(group) == size for group in groups[:-1])
        assert 1 <= len(groups[-1]) <= size
    assert danger_model.held_out(1) == "leave one round out"
    assert danger_model.held_out(12) == "leave one block of 12 rounds out"


def test_a_block_s_model_is_fitted_without_every_round_of_the_block() -> None:
    pytest.importorskip("sklearn")
    from tools import danger_model

    reports = danger_eval.read_reports(danger_eval.DEFAULT_EVAL)[::40]
    block = (6, 7)
    held = danger_model.fit_without(reports, block, c=16.0, keep=300)
    outside = [r for r in reports if not (r.split == "holdout" and r.round in block)]
    assert len(outside) < len(reports)
    assert held.weights == danger_model.fit(outside, c=16.0, keep=300).weights


class Says(DangerModel):
    """A model that says what it is told: the gate apart from any table."""

    __slots__ = ("said",)

    def __init__(
        self, critical: float, hazard: float, thresholds: Thresholds | None = None
    ) -> None:
        super().__init__({}, (0.0, 0.0), thresholds or GATE)
        self.said = (critical, hazard)

    def chances(self, text: str) -> tuple[float, float]:
        return self.said


GATE = Thresholds(add=0.8, add_over_hazard=0.95, veto=0.6, hazard=0.7, veto_over_event=0.95)
#: The same gate with the duty room's check: a critical reading at P(hazard) >= 0.3 and
#: the model's own flag, each below P(critical) 0.97 (sure), go to triage first.
DOUBTING = replace(GATE, doubt=0.3, sure=0.97)
#: The same with the check on P(critical) alone: a critical reading the model gives under
#: 0.15 goes to triage first whatever P(hazard) is.
UNSURE = replace(DOUBTING, unsure=0.15)
STREETLIGHT = "路灯不亮了"  # placed (BJ0104), no danger word: asked all the same
GUARDRAIL = "人行道护栏缺了一截，外面就是河"  # placed (BJ0203, normal), no danger word
LIFT = "电梯坏了停在一楼"  # placed (电梯故障 SJ0803, high by default): asked
LOCKER = "小区门口的快递柜坏了"  # unplaced (其他事件), nothing dangerous
HAZARD = "楼道里堆满了纸箱杂物，存在火灾隐患"  # the rules: a fire hazard
FIRE = "三楼着火了，浓烟滚滚，有人被困"  # the rules: critical (火灾), events in its own words
BARE_FIRE = "小区发生火灾"  # the rules: critical (火灾) on the cue alone, no event word
LEAK = "燃气管道泄漏有爆炸危险"  # the rules: critical (<gas-smell>, <burst-vessel>)
SPLASHING = "河边有个娃儿在水里扑腾"  # the rules: the duty room (unplaced, <into-water>)
CRACK = "后山那块坡最近裂了好长一条口子"  # the rules: nothing (其他事件)
FLOOD = "下穿通道积水半米，车辆过不去"  # the rules: 积水内涝 (high), the emergency clock
STUCK = "电梯卡在两层楼中间，里面一个老人在喊"  # the rules: 电梯困人 (high), urgent hours
ONE_STAIR = (
    "商场顶楼的游乐场只有一个楼梯通下来，着火了怎么跑"  # the rules: critical (火灾), 着火了 told
)

# (what the gate does, text, (P(critical), P(hazard)), (category, severity, hazard, opinion))
GATE_TABLE: list[tuple[str, str, tuple[float, float], tuple[str, str, bool, str | None]]] = [
    ("silent on a placed everyday report where it is not sure", STREETLIGHT, (0.5, 0.5), ("BJ0104", "normal", False, None)),
    ("reads a hazard told with no danger word in an everyday category", GUARDRAIL, (0.1, 0.8), ("BJ0203", "normal", True, "hazard")),
    ("silent where it is not sure", LIFT, (0.5, 0.5), ("SJ0803", "high", False, None)),
    ("adds: a placed report runs critical", LIFT, (0.9, 0.1), ("SJ0803", "critical", False, "added")),
    ("adds: an unplaced report goes to the duty room", LOCKER, (0.9, 0.1), ("SJ0620", "high", False, "added")),
    ("silent over a hazard unless very sure", HAZARD, (0.9, 0.0), ("ZZ0405", "normal", True, None)),
    ("over a hazard when very sure: the duty room", HAZARD, (0.97, 0.0), ("SJ0620", "high", False, "added over a hazard")),
    ("vetoes the rules' critical reading of a hazard", BARE_FIRE, (0.1, 0.7), ("ZZ0405", "normal", True, "vetoed")),
    ("no veto over an event told in its own words below the surer threshold", FIRE, (0.1, 0.9), ("SJ0401", "critical", False, None)),
    ("no veto over a leak told now, a risk named beside it", LEAK, (0.1, 0.9), ("SJ0405", "critical", False, None)),
    ("vetoes a hazard told with the event it fears when very sure", ONE_STAIR, (0.1, 0.96), ("ZZ0405", "normal", True, "vetoed")),
    ("no veto over an event while it reads critical too, however sure", ONE_STAIR, (0.85, 0.99), ("SJ0401", "critical", False, None)),
    ("no veto while it reads critical too", FIRE, (0.85, 0.7), ("SJ0401", "critical", False, None)),
    ("no veto over the duty room's event told in its own words", SPLASHING, (0.1, 0.9), ("SJ0620", "high", False, None)),
    ("silent on the duty room below the veto", SPLASHING, (0.1, 0.55), ("SJ0620", "high", False, None)),
    ("reads a hazard where the rules read neither", CRACK, (0.1, 0.8), ("ZZ0306", "normal", True, "hazard")),
    ("silent below the hazard threshold", CRACK, (0.1, 0.65), ("SJ0601", "normal", False, None)),
    ("without the duty room's check, an incident category's clock stands", FLOOD, (0.1, 0.45), ("SJ0404", "high", False, None)),
]  # fmt: skip

# The same, with the duty room's check (DOUBTING): what runs as a critical incident is
# what the rules and the model are both sure of.
DOUBT_TABLE: list[tuple[str, str, tuple[float, float], tuple[str, str, bool, str | None]]] = [
    ("a critical reading the model half takes for a hazard: the duty room first", BARE_FIRE, (0.1, 0.45), ("SJ0620", "high", False, "doubted")),
    ("an event told in its own words, half a hazard: the duty room first", FIRE, (0.1, 0.9), ("SJ0620", "high", False, "doubted")),
    ("a critical reading the model reads as no hazard runs critical", FIRE, (0.1, 0.2), ("SJ0401", "critical", False, None)),
    ("half a hazard, but the model is sure of danger now: runs critical", FIRE, (0.98, 0.5), ("SJ0401", "critical", False, None)),
    ("the veto still comes before the doubt", BARE_FIRE, (0.1, 0.7), ("ZZ0405", "normal", True, "vetoed")),
    ("the duty room's own reading stays the duty room's", SPLASHING, (0.1, 0.55), ("SJ0620", "high", False, None)),
    ("the model's own flag, not sure enough: the duty room first", LIFT, (0.85, 0.1), ("SJ0620", "high", False, "added to triage")),
    ("the model's own flag, sure: runs critical", LIFT, (0.98, 0.1), ("SJ0803", "critical", False, "added")),
    ("over a hazard, but not sure: the duty room first", HAZARD, (0.96, 0.0), ("SJ0620", "high", False, "added over a hazard to triage")),
    ("an incident category's clock, half a hazard: the duty room first", FLOOD, (0.1, 0.45), ("SJ0620", "high", False, "doubted")),
    ("an incident category's clock, no hazard read: it stands", FLOOD, (0.1, 0.2), ("SJ0404", "high", False, None)),
    ("an urgent matter's hours are no emergency clock: they stand", STUCK, (0.1, 0.45), ("SJ0420", "high", False, None)),
]  # fmt: skip


# With the check on P(critical) alone (UNSURE): a critical reading the model all but rules
# out is checked first even where it reads no hazard either.
UNSURE_TABLE: list[tuple[str, str, tuple[float, float], tuple[str, str, bool, str | None]]] = [
    ("a critical reading the model all but rules out, no hazard read: the duty room first", FIRE, (0.1, 0.2), ("SJ0620", "high", False, "doubted")),
    ("at the threshold it runs critical", FIRE, (0.15, 0.2), ("SJ0401", "critical", False, None)),
    ("the veto still comes first", BARE_FIRE, (0.1, 0.7), ("ZZ0405", "normal", True, "vetoed")),
    ("no critical reading by the rules: nothing to check", LIFT, (0.1, 0.1), ("SJ0803", "high", False, None)),
]  # fmt: skip


@pytest.fixture(scope="module")
def bundled() -> tuple[Catalogue, TextClassifier, DangerLexicon]:
    return Catalogue.default(), TextClassifier.default(), DangerLexicon.default()


def _event(text: str) -> GridEvent:
    return GridEvent.model_validate(
        {
            "event_id": "e1",
            "source_network": "zongzhi",
            "reported_at": "2026-11-25T10:00:00+08:00",
            "region_code": "500103001003",
            "title": text,
        }
    )


@pytest.mark.parametrize(
    ("thresholds", "text", "chances", "expected"),
    [(GATE, *row[1:]) for row in GATE_TABLE]
    + [(DOUBTING, *row[1:]) for row in DOUBT_TABLE]
    + [(UNSURE, *row[1:]) for row in UNSURE_TABLE],
    ids=[row[0] for row in GATE_TABLE]
    + [f"checked first: {row[0]}" for row in DOUBT_TABLE]
    + [f"unsure: {row[0]}" for row in UNSURE_TABLE],
)
def test_the_gate(
    bundled: tuple[Catalogue, TextClassifier, DangerLexicon],
    thresholds: Thresholds,
    text: str,
    chances: tuple[float, float],
    expected: tuple[str, str, bool, str | None],
) -> None:
    catalogue, classifier, lexicon = bundled
    model = Says(*chances, thresholds)
    found = assess_report(_event(text), catalogue, classifier, None, lexicon.with_model(model))
    assert (found.category.code, found.severity.value, found.hazard, found.opinion) == expected
    if found.hazard:
        assert found.severity is not Severity.CRITICAL


@pytest.mark.parametrize(
    ("critical", "hazard", "thresholds"),
    [(0.1, 0.45, DOUBTING), (0.05, 0.1, UNSURE)],
    ids=["half a hazard", "critical all but ruled out"],
)
def test_a_sender_s_own_critical_is_not_doubted(
    bundled: tuple[Catalogue, TextClassifier, DangerLexicon],
    critical: float,
    hazard: float,
    thresholds: Thresholds,
) -> None:
    # A 12345 operator's or a department's 特急 is a person's word; the model's doubt is
    # about readings of the text.
    catalogue, classifier, lexicon = bundled
    model = Says(critical, hazard, thresholds)
    marked = _event(BARE_FIRE).model_copy(update={"severity": Severity.CRITICAL})
    found = assess_report(marked, catalogue, classifier, None, lexicon.with_model(model))
    assert (found.category.code, found.severity, found.opinion) == (
        "SJ0401",
        Severity.CRITICAL,
        None,
    )


def test_a_sender_s_own_code_is_not_doubted_on_the_text_alone(
    bundled: tuple[Catalogue, TextClassifier, DangerLexicon],
) -> None:
    # A camera's fire_smoke places the report (火灾, critical by category); its text says
    # nothing the model could read either way, so P(critical) alone does not send it to
    # the duty room. The same words placed by the classifier would go.
    catalogue, classifier, lexicon = bundled
    model = Says(0.01, 0.01, UNSURE)
    camera = _event("AI告警").model_copy(
        update={"source_network": "video_ai", "category": "fire_smoke"}
    )
    found = assess_report(camera, catalogue, classifier, None, lexicon.with_model(model))
    assert (found.category.code, found.severity, found.opinion) == (
        "SJ0401",
        Severity.CRITICAL,
        None,
    )
    told = assess_report(_event(BARE_FIRE), catalogue, classifier, None, lexicon.with_model(model))
    assert (told.category.code, told.opinion) == ("SJ0620", "doubted")


def test_with_every_threshold_off_the_rules_decide_alone() -> None:
    reports = danger_eval.read_reports(danger_eval.DEFAULT_EVAL)[::3]
    rules = Assessor(model=False)
    silent = Assessor(model=DangerModel.load(BUNDLED_RULES / MODEL_FILE))
    silent.lexicon = silent.lexicon.with_model(DangerModel({"火": (1.0, 1.0)}, (0.0, 0.0), OFF))
    for report in reports:
        assert silent.outcome(report) == rules.outcome(report)


def test_a_bundle_without_the_file_gates_on_nothing(tmp_path: Path) -> None:
    assert load_engine(Settings()).danger.model is not None  # type: ignore[union-attr]
    folder = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, folder, ignore=shutil.ignore_patterns(MODEL_FILE, "*.jsonl"))
    engine = load_engine(Settings(rules=folder))
    assert engine.danger is not None and engine.danger.model is None
    report = Report(text=FIRE, label="critical", network="zongzhi", split="tune")
    assert Assessor(folder).outcome(report) == Assessor(model=False).outcome(report)


def test_a_bad_file_in_a_rules_directory_stops_the_load(tmp_path: Path) -> None:
    shutil.copy(BUNDLED_RULES / "danger.yaml", tmp_path / "danger.yaml")
    _write(tmp_path / MODEL_FILE, _header(), [*ROWS[:2], ["火", 1, 0]])
    with pytest.raises(ConfigLoadError, match=r"danger_model.jsonl:4: n-gram '火' listed twice"):
        DangerLexicon.load_beside(tmp_path / "danger.yaml", Catalogue.default())


SIMULATED = Thresholds(add=0.5, add_over_hazard=0.8, veto=0.75, hazard=0.5, veto_over_event=0.98)


@pytest.mark.parametrize(
    "thresholds",
    [
        SIMULATED,
        replace(SIMULATED, doubt=0.3, sure=0.7),
        replace(SIMULATED, doubt=0.3, sure=0.7, unsure=0.2),
    ],
    ids=["without the duty room's check", "with it", "with it and on P(critical) alone"],
)
def test_the_trainers_simulation_decides_as_assessment_does(thresholds: Thresholds) -> None:
    # The thresholds are chosen on the simulation (tools/danger_model.py): it must flag,
    # read hazards and run critical exactly as assess_report and plan_case do.
    from tools import danger_model

    def table(limits: Thresholds) -> DangerModel:
        model = DangerModel.load(BUNDLED_RULES / MODEL_FILE)
        model.thresholds = limits
        return model

    reports = danger_eval.read_reports(danger_eval.DEFAULT_EVAL)[::7]
    rules = Assessor(model=False)
    outcomes = {report.line: rules.outcome(report) for report in reports}
    held = danger_model.hold(reports, outcomes, rules, table)
    gated = Assessor(model=table(thresholds))
    for report, simulated in zip(reports, held, strict=True):
        outcome = gated.outcome(report)
        decided = (outcome.flagged_critical, outcome.hazard, outcome.routed_critical)
        gate = danger_model.gate(simulated, thresholds)
        assert (*gate, danger_model.routed(simulated, thresholds)) == decided, report.text
