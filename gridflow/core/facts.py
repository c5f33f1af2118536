"""Step facts: what one step of a case did, as data.

The engine returns one :class:`StepFact` beside every disposition it emits (same index in
:attr:`gridflow.core.engine.Outcome.facts` and ``Outcome.dispositions``). KPIs and metrics
count facts; the disposition's ``reason`` is prose for people and is never parsed.

A fact carries what counting it needs and nothing more, so that the counting is right on
any worker: ``closed`` says whether the case was resolved on time, judged by the engine
from the case's own state (which travels with the case through the changelog), not from
what the counting worker happened to see of the case's earlier steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["StepFact", "StepKind"]


class StepKind(StrEnum):
    """What a step did (one per disposition)."""

    OPENED = "opened"  # 立案: a report opened the case (disposition ``dispatch``)
    INFORMED = "informed"  # another tier's centre told about the case (``state``, inform)
    MERGED = "merged"  # 多网合一: a report joined the case (``merge``)
    ACCEPTED = "accepted"  # 受理
    RESOLVED = "resolved"  # 处置完成
    VERIFIED = "verified"  # 核查通过
    REWORKED = "reworked"  # 返工: verification failed, back to handling
    CLOSED = "closed"  # 结案
    CANCELLED = "cancelled"  # 注销
    REOPENED = "reopened"  # 重新派遣
    ESCALATED = "escalated"  # 上报 / 督办: to the next tier up (``escalate``)
    #: 督办: the holder told it keeps handling under a supervisor, with a 督办 deadline
    SUPERVISED = "supervised"
    TAKEN_OVER = "taken_over"  # 接管: a centre above the holder now holds it (``reroute``)
    HANDED_OVER = "handed_over"  # 接管: the former holder told (``state``)
    RETURNED = "returned"  # 退回: handed to another centre (``reroute``)
    EXTENDED = "extended"  # 延期 granted
    REVISITED = "revisited"  # 回访: the reporter's satisfaction recorded
    WARNED = "warned"  # a stage deadline is near (``sla_warning``)
    BREACHED = "breached"  # a stage deadline missed at the top tier (``sla_breach``)
    #: 跨村合并: the case was the same incident as another village's and closed into it
    #: (``state``, state ``merged``).
    ABSORBED = "absorbed"
    #: 跨村合并: another village's case and its reports joined this one (``merge``).
    JOINED = "joined"
    SILENCED = "silenced"  # 屏蔽: a report joined its silence's known-matter case
    INHIBITED = "inhibited"  # 抑制: a report attached to an open critical case nearby


@dataclass(slots=True)
class StepFact:
    """One step of one case. Times are epoch seconds (UTC), the step's event time."""

    kind: StepKind
    case_id: str
    #: the village where the incident happened (decides the county it counts for).
    region: str
    #: the case's tier after the step; ``escalated``: the tier escalated to;
    #: ``informed``: the tier informed.
    tier: str
    at: float
    #: ``opened`` / ``merged``: the network that sent the report.
    network: str | None = None
    #: ``merged``: the network whose report opened the case.
    first_network: str | None = None
    #: ``warned`` / ``breached`` / ``escalated`` by a timer: the stage whose deadline it
    #: is about (``accept``, ``resolve``); ``None`` for an escalation a centre asked for.
    stage: str | None = None
    #: ``closed``: resolved within its resolve-stage deadline every time (按期结案).
    on_time: bool | None = None
    #: ``closed``: seconds from the first resolve deadline missed to the last resolution;
    #: 0 when on time; ``None`` when not known (a case stored before this was recorded).
    lateness_s: float | None = None
    # The fields below place a step for the per-department and per-centre KPIs and
    # judge its deadline (docs/kpis.md). Older producers of facts leave them unset.
    #: the centre holding the case after the step (``informed``: still the holder).
    centre: str | None = None
    #: ``escalated`` / ``returned``: the centre that held the case before the step.
    previous_centre: str | None = None
    #: a centre's feedback: the centre that sent it (监管分离: the verifier is not the holder).
    actor: str | None = None
    #: the department (责任部门) the case was routed to.
    department: str | None = None
    #: a step that completed a timed stage (``accepted``: accept; ``resolved``: resolve;
    #: ``verified``/``reworked``, and ``closed`` straight from resolved: verify): done by
    #: that stage's running deadline; ``None`` when the step completed no timed stage.
    deadline_met: bool | None = None
    #: 超期: this step is where a deadline counts as missed, once per deadline: the
    #: timer's escalation or breach, or a completing step after its deadline that no
    #: timer had caught yet.
    overdue: bool = False
    #: ``revisited``: the reporter's answer (``satisfied``, ``basically_satisfied``,
    #: ``unsatisfied``).
    satisfaction: str | None = None
    #: ``silenced``: the silence whose known-matter case the report joined.
    silence: str | None = None
    #: ``inhibited``: the inhibit rule that attached the report to the case.
    inhibit_rule: str | None = None
