"""Disposition: what the processor tells a command centre (contract: ``grid.dispositions``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import AwareDatetime, DispositionAction, Severity, Tier


class Disposition(BaseModel):
    """One step of a case, addressed to one centre. ``disposition_id`` is deterministic."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    disposition_id: str
    case_id: str
    action: DispositionAction
    tier: Tier
    center_code: str
    at: AwareDatetime
    category: str | None = None
    priority: Severity | None = None
    department: str | None = None
    deadline: AwareDatetime | None = None
    rule: str | None = None
    events: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    reason: str | None = None
    # Extensions (additive, see README "Contract extensions").
    #: case state after this step (registered, accepted, resolved, verified, closed, ...).
    state: str | None = None
    #: the routing rules' version (content hash) that decided it.
    rules_version: str | None = None
    #: which SLA stage ``deadline`` belongs to (accept / resolve / verify).
    stage: str | None = None
    #: the region (village) where the incident happened.
    region_code: str | None = None
    title: str | None = None
    #: the earliest report's time, for ingest→disposition latency.
    reported_at: AwareDatetime | None = None
    #: where the case's first located report placed it (WGS-84; the console's map), if any.
    lat: float | None = None
    lon: float | None = None
    #: the 15-digit grid (网格) of the case's first report that named one.
    grid_code: str | None = None
    #: a 12345 case: the caller's request type (咨询, 求助, 投诉, 举报, 建议, 表扬).
    request_type: str | None = None
    #: the centre handling the case after this step (承办); ``center_code`` differs from
    #: it when the disposition tells another centre (an inform, a supervisor's escalate).
    holder: str | None = None
    #: 督办: the centre supervising the case since its holder missed a deadline, if any.
    supervisor: str | None = None
    #: 核查: the centre that checks the case's resolution (verify, reject, close, revisit).
    verifier: str | None = None
    #: the centre whose feedback caused this step (``None``: a report or a timer did).
    acted_by: str | None = None
    #: 跨村合并 (merges across village lines): on the surviving case's ``merge`` step,
    #: every village the incident was reported under (its own first) and the cases of
    #: other villages it took over; on the absorbed case's ``state`` step (state
    #: ``merged``), the case that took it over.
    villages: list[str] | None = None
    merged_cases: list[str] | None = None
    merged_into: str | None = None
    #: ``sla_warning`` (催办): every centre the warning goes to, the holder first, then
    #: under 督办 its supervisor and, for the 核查 stage, the verifier; each of them gets a
    #: disposition of its own with this list.
    recipients: list[str] | None = None
