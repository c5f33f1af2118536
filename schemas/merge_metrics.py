"""MergeMetrics: windowed KPIs per region (contract: ``grid.metrics``).

Every field after ``reports_by_network`` is a contract extension (additive): the
standard's further KPIs and the per-department and per-centre breakdowns (docs/kpis.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import AwareDatetime


class MergeMetrics(BaseModel):
    """KPIs of one region over one tumbling window."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    region_code: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    window: str = Field(description="window size, e.g. '1m' or '1h'")
    events_in: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    closed_on_time: int = 0
    merges: int = 0
    reworks: int = 0
    extensions: int = 0
    escalations: int = 0
    close_rate: float = 0.0
    on_time_close_rate: float = 0.0
    rework_rate: float = 0.0
    extension_rate: float = 0.0
    escalation_rate: float = 0.0
    merge_ratio: float = 0.0
    #: per network: reports that joined a case another network had opened.
    merged_by_network: dict[str, int] = Field(default_factory=dict)
    #: per "a>b" pair: reports of b that joined a case first reported by a.
    merged_by_pair: dict[str, int] = Field(default_factory=dict)
    reports_by_network: dict[str, int] = Field(default_factory=dict)
    #: 派遣数: the case sent to a centre (opened, escalated, returned to another centre).
    dispatches: int = 0
    #: 退回数: a centre handed a case back (``return``).
    returns: int = 0
    #: 受理数 / 按时受理数: accepted, and of those within the accept deadline.
    accepted: int = 0
    accepted_on_time: int = 0
    #: 核查数 / 及时核查数: verifications (passed or 返工), and of those within the
    #: verify deadline (an untimed verification is in time).
    verifications: int = 0
    verified_on_time: int = 0
    #: 到期时限数 / 超期数: stage deadlines that ended (met or missed), and the missed.
    deadlines: int = 0
    overdue: int = 0
    #: 回访数 and its answers (满意, 基本满意, 不满意).
    revisits: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    #: 屏蔽 / 抑制: reports that joined a silence's known-matter case, and reports
    #: attached to an open critical case by an inhibit rule (both also in events_in).
    silenced: int = 0
    inhibited: int = 0
    overdue_rate: float = Field(0.0, description="超期率: overdue / deadlines")
    on_time_accept_rate: float = Field(0.0, description="按时受理率: accepted_on_time / accepted")
    timely_verify_rate: float = Field(
        0.0, description="及时核查率: verified_on_time / verifications"
    )
    valid_report_rate: float = Field(0.0, description="有效上报率: cases_opened / events_in")
    accurate_dispatch_rate: float = Field(
        0.0, description="准确派遣率: (dispatches - returns) / dispatches, at least 0"
    )
    satisfaction_rate: float = Field(
        0.0, description="群众满意度: (satisfied + basically_satisfied) / revisits"
    )
    #: the counts above by the case's department (non-zero counts only, keyed by name).
    by_department: dict[str, dict[str, int]] = Field(default_factory=dict)
    #: the counts above by the centre each is charged to (docs/kpis.md), non-zero only.
    by_centre: dict[str, dict[str, int]] = Field(default_factory=dict)
