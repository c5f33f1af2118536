"""Every code the wire carries has a word the command centres read."""

from __future__ import annotations

from enum import StrEnum

import pytest

from gridflow.core.case import CaseStatus
from gridflow.ops import vocabulary
from schemas import Disposition, DispositionAction, FeedbackAction, RejectReason, Tier


@pytest.mark.parametrize(
    ("codes", "table"),
    [
        (Tier, vocabulary.TIER),
        (CaseStatus, vocabulary.STATE),
        (DispositionAction, vocabulary.DISPOSITION),
        (FeedbackAction, vocabulary.FEEDBACK),
        (RejectReason, vocabulary.REASON),
    ],
    ids=["tier", "state", "disposition", "feedback", "reason"],
)
def test_every_code_has_a_chinese_word(codes: type[StrEnum], table: dict[str, str]) -> None:
    missing = [c.value for c in codes if c not in table]
    assert missing == []
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in word) for word in table.values())


def test_an_unknown_code_is_shown_as_itself() -> None:
    assert vocabulary.word(vocabulary.REASON, "brand_new_reason") == "brand_new_reason"
    assert vocabulary.tier_word("village") == "村/社区"


def _disp(action: str, reason: str | None = None, state: str | None = None) -> Disposition:
    return Disposition.model_validate(
        {
            "disposition_id": "x",
            "case_id": "500103001003-aaaaaaaaaaaa",
            "action": action,
            "tier": "village",
            "center_code": "500103001003",
            "at": "2026-12-04T09:00:00+08:00",
            "reason": reason,
            "state": state,
        }
    )


@pytest.mark.parametrize(
    ("action", "reason", "state", "step"),
    [
        ("dispatch", None, "dispatched", "立案派遣"),
        ("escalate", "no accept in time", "dispatched", "督办：升级至上级"),
        ("state", "accepted", "accepted", "受理"),
        ("state", "resolved", "resolved", "处置完成"),
        ("state", "verified", "verified", "核查通过"),
        ("state", "closed", "closed", "结案"),
        ("state", "rework: verification failed", "accepted", "核查不通过，返工"),
        ("state", "cancelled: duplicate", "cancelled", "注销"),
        ("state", "extended to 2026-12-05T09:00:00+08:00", "accepted", "延期"),
        ("state", "inform: town centre holds a high case", "dispatched", "知会上级"),
        ("state", "something new", "verified", "核查通过，待结案"),
        ("sla_breach", None, None, "超时督办（最高层级亦超时）"),
    ],
)
def test_a_disposition_reads_as_the_closed_loop_step(
    action: str, reason: str | None, state: str | None, step: str
) -> None:
    assert vocabulary.disposition_step(_disp(action, reason, state)) == step
