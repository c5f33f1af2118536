"""The words command centres read (网格化管理), for the codes the wire carries.

Codes stay on the wire and in ``--json``; these words are for people at a terminal, so
each shown step reads as the closed loop does: 立案 → 派遣 → 处置 → 核查 → 结案, with
督办 when a case goes up a tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import Disposition, DispositionAction, FeedbackAction, RejectReason, Tier

TIER = {
    Tier.CITY: "市",
    Tier.COUNTY: "区县",
    Tier.TOWN: "乡镇/街道",
    Tier.VILLAGE: "村/社区",
}

#: A case's status (``Disposition.state``).
STATE = {
    "dispatched": "已派遣，待受理",
    "accepted": "已受理，处置中",
    "resolved": "处置完成，待核查",
    "verified": "核查通过，待结案",
    "closed": "已结案",
    "cancelled": "已注销",
    "merged": "已并案（跨村合并）",
}

DISPOSITION = {
    DispositionAction.DISPATCH: "立案派遣",
    DispositionAction.MERGE: "合并上报（多网合一）",
    DispositionAction.ESCALATE: "督办：升级至上级",
    DispositionAction.SLA_WARNING: "超时预警",
    DispositionAction.SLA_BREACH: "超时督办（最高层级亦超时）",
    DispositionAction.STATE: "状态变更",
    DispositionAction.REROUTE: "改派",
}

#: ``state`` dispositions by the engine's reason: the step the centre took.
_STATE_STEP = {
    "accepted": "受理",
    "resolved": "处置完成",
    "verified": "核查通过",
    "closed": "结案",
    "reopened": "重新办理",
}
#: Reasons that are a prefix of a longer text (the rest is detail).
_STATE_STEP_PREFIX = (
    ("rework", "核查不通过，返工"),
    ("cancelled", "注销"),
    ("跨村合并", "跨村合并"),
    ("extended", "延期"),
    ("inform", "知会上级"),
    ("督办", "督办：限期办理"),
    ("接管", "已被上级接管"),
)

FEEDBACK = {
    FeedbackAction.ACCEPT: "受理",
    FeedbackAction.REVISIT: "回访",
    FeedbackAction.RESOLVE: "处置完成",
    FeedbackAction.RETURN: "退回",
    FeedbackAction.ESCALATE: "请求上级协调",
    FeedbackAction.EXTEND: "申请延期",
    FeedbackAction.VERIFY: "核查通过",
    FeedbackAction.REJECT_RESOLUTION: "核查不通过（返工）",
    FeedbackAction.CLOSE: "结案",
    FeedbackAction.CANCEL: "注销",
    FeedbackAction.REOPEN: "重新办理",
    FeedbackAction.REVISIT: "回访",
    FeedbackAction.TAKE_OVER: "接管",
}

REASON = {
    RejectReason.INVALID_JSON: "不是合法 JSON",
    RejectReason.NOT_UTF8: "不是 UTF-8 编码",
    RejectReason.TOO_LARGE: "记录过大",
    RejectReason.SCHEMA: "字段不符合契约",
    RejectReason.UNKNOWN_REGION: "区划代码不在区划表中",
    RejectReason.UNKNOWN_NETWORK: "未登记的来源网络",
    RejectReason.GRID_OUTSIDE_REGION: "单元网格不属于所报村/社区",
    RejectReason.FUTURE_TIMESTAMP: "上报时间在未来",
    RejectReason.UNKNOWN_CATEGORY: "未知事项分类",
    RejectReason.UNKNOWN_CASE: "案件不存在",
    RejectReason.WRONG_CENTER: "不是该中心承办的案件",
    RejectReason.INVALID_TRANSITION: "案件当前状态不允许此操作",
    RejectReason.EXTENSION_REFUSED: "延期申请不予批准",
    RejectReason.CONFLICTING_DUPLICATE: "重复上报但内容不一致",
    RejectReason.BATCH_TOO_LARGE: "批量记录条数超限",
}


def word(table: Mapping[Any, str], code: object, fallback: str = "") -> str:
    """The word for ``code`` (an enum member or its string), else ``fallback`` or the code."""
    text = str(code) if code is not None else ""
    return table.get(text, fallback or text)  # StrEnum members hash as their value


def disposition_step(disp: Disposition) -> str:
    """What happened to the case in this disposition, in the centres' words."""
    if disp.action is not DispositionAction.STATE:
        return DISPOSITION[disp.action]
    reason = disp.reason or ""
    if reason in _STATE_STEP:
        return _STATE_STEP[reason]
    for prefix, step in _STATE_STEP_PREFIX:
        if reason.startswith(prefix):
            return step
    return word(STATE, disp.state, "状态变更")


def tier_word(tier: object) -> str:
    """``乡镇/街道`` for ``town``; the code itself when it is not a tier."""
    return word(TIER, tier)
