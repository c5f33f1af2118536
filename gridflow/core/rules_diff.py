"""Compare what two rules bundles decided for the same recording, decision by decision.

Each difference is a :class:`Change` of one field of one case (or of one input's
refusal); changes are grouped by field and by what changed (``old → new``), so "47 cases
move from 城管 to 环卫" reads as one line with examples. Deadlines are grouped by the
case's policy and direction (earlier / later), since every case's instant differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from gridflow.core.replay import CaseDecisions, ReplayResult

__all__ = ["FIELDS", "Change", "ChangeGroup", "diff_replays", "group_changes"]

#: The compared fields of a case, in the order they are reported, with their labels.
FIELDS: dict[str, str] = {
    "opened": "立案 opened",
    "refused": "拒收 refused",
    "events": "合并 merged reports",
    "category": "类别 category",
    "priority": "优先级 priority",
    "tier": "层级 tier",
    "centre": "承办中心 centre",
    "department": "处置部门 department",
    "policy": "时限策略 policy",
    "rule": "规则 rule",
    "inform": "抄送 inform",
    "accept_by": "受理时限 accept by",
    "resolve_by": "办结时限 resolve by",
    "escalations": "升级 escalations",
    "verifier": "核查中心 verifier",
    "state": "状态 state",
}
_TIMES = ("accept_by", "resolve_by")


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one case (or input) decided differently."""

    field: str
    #: the case id, or the refused input's id.
    subject: str
    old: str
    new: str
    #: the case's title (for examples), or "".
    title: str = ""
    #: what the change is grouped under: ``old → new``, or for deadlines the direction.
    group: str = ""


@dataclass(slots=True)
class ChangeGroup:
    """Changes of one field that changed the same way."""

    field: str
    group: str
    changes: list[Change] = dataclasses.field(default_factory=list)

    @property
    def count(self) -> int:
        """How many cases (or inputs) changed this way."""
        return len(self.changes)


def _fmt_time(moment: float | None, tz: ZoneInfo) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%d %H:%M:%S")


def _fields(case: CaseDecisions, tz: ZoneInfo) -> dict[str, str]:
    escalations = ", ".join(f"{tier}@{_fmt_time(at, tz)}" for tier, at in case.escalations)
    return {
        "events": ", ".join(case.events),
        "category": case.category,
        "priority": case.priority,
        "tier": case.tier,
        "centre": case.centre,
        "department": case.department,
        "policy": case.policy,
        "rule": case.rule,
        "inform": ", ".join(case.inform) or "-",
        "escalations": escalations or "-",
        "state": case.state,
        "verifier": case.verifier or "-",
    }


def diff_replays(old: ReplayResult, new: ReplayResult, tz: ZoneInfo) -> list[Change]:
    """Every decision that differs between ``old`` and ``new``, in a stable order."""
    changes: list[Change] = []
    for case_id in sorted(old.cases.keys() | new.cases.keys()):
        before, after = old.cases.get(case_id), new.cases.get(case_id)
        if before is None or after is None:
            case = before or after
            assert case is not None
            changes.append(
                Change(
                    "opened",
                    case_id,
                    "no case" if before is None else "opened",
                    "opened" if before is None else "no case",
                    case.title,
                    "only with the new rules" if before is None else "only with the old rules",
                )
            )
            continue
        was, now = _fields(before, tz), _fields(after, tz)
        for name in FIELDS:
            if name in _TIMES:
                old_at: float | None = getattr(before, name)
                new_at: float | None = getattr(after, name)
                if old_at != new_at:
                    changes.append(_time_change(name, before, after, old_at, new_at, tz))
            elif name in was and was[name] != now[name]:
                group = f"{was[name]} → {now[name]}"
                if name in ("escalations", "events"):
                    group = "changed"
                changes.append(Change(name, case_id, was[name], now[name], after.title, group))
    for key in sorted(old.refused.keys() | new.refused.keys()):
        before_reason = old.refused.get(key, "accepted")
        after_reason = new.refused.get(key, "accepted")
        if before_reason != after_reason:
            changes.append(
                Change(
                    "refused",
                    key,
                    before_reason,
                    after_reason,
                    group=f"{before_reason} → {after_reason}",
                )
            )
    changes.sort(key=_order())
    return changes


def _order() -> Callable[[Change], tuple[int, str, str]]:
    rank = {name: i for i, name in enumerate(FIELDS)}
    return lambda change: (rank[change.field], change.group, change.subject)


def _time_change(
    name: str,
    before: CaseDecisions,
    after: CaseDecisions,
    old_at: float | None,
    new_at: float | None,
    tz: ZoneInfo,
) -> Change:
    if old_at is None or new_at is None:
        direction = "set" if old_at is None else "gone"
    else:
        direction = "earlier" if new_at < old_at else "later"
    policy = after.policy if before.policy == after.policy else f"{before.policy} → {after.policy}"
    return Change(
        name,
        after.case_id,
        _fmt_time(old_at, tz),
        _fmt_time(new_at, tz),
        after.title,
        f"{direction} (policy {policy})",
    )


def group_changes(changes: list[Change]) -> list[ChangeGroup]:
    """Changes grouped by field and group, largest group first within a field."""
    groups: dict[tuple[str, str], ChangeGroup] = {}
    for change in changes:
        key = (change.field, change.group)
        if key not in groups:
            groups[key] = ChangeGroup(change.field, change.group)
        groups[key].changes.append(change)
    rank = {name: i for i, name in enumerate(FIELDS)}
    return sorted(groups.values(), key=lambda g: (rank[g.field], -g.count, g.group))
