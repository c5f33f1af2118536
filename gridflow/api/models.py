"""The JSON shapes of the ``/v1`` API (pydantic v2: they are the OpenAPI document's schemas).

Times are RFC 3339 in UTC. Shapes are additive-only: a client must ignore fields it does
not know, and the API never renames or drops one without a new version prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import MAX_TEXT, AwareDatetime, FeedbackAction, Identifier, RegionCode

RESEND_NOTE = "a resend of an accepted event_id is harmless: the worker deduplicates by event_id"


class RefusedEvent(BaseModel):
    #: position in the posted array (0 for a single event)
    index: int
    event_id: str | None = None
    #: the DLQ reason the worker would have given, or ``forbidden_region`` / ``unknown_field``
    reason: str
    detail: str


class IntakeResult(BaseModel):
    """202 (some accepted) or 4xx (all refused: then ``reason``/``detail`` say why)."""

    accepted: list[str] = Field(description="event ids produced to the input topic (grid events)")
    refused: list[RefusedEvent] = Field(default_factory=list)
    note: str = RESEND_NOTE
    reason: str | None = None
    detail: str | None = None


class EventCase(BaseModel):
    event_id: str
    case_id: str


class CaseSummary(BaseModel):
    case_id: str
    region_code: str
    #: the centre holding the case
    holder: str
    tier: str
    state: str
    stage: str | None = None
    category: str | None = None
    priority: str | None = None
    department: str | None = None
    #: when the current SLA stage runs out
    deadline: datetime | None = None
    overdue: bool = False
    title: str | None = None
    networks: list[str] = Field(default_factory=list)
    #: reports merged into the case
    events: int = 0
    opened_at: datetime
    updated_at: datetime
    closed: bool = False
    #: the case's coordinates (WGS-84) and grid, when a report gave them
    lat: float | None = None
    lon: float | None = None
    grid_code: str | None = None


class TimelineEntry(BaseModel):
    #: position in the projection; also the SSE event id
    seq: int
    #: ``disposition`` (a step of the processor) or ``refusal`` (feedback sent to the DLQ)
    kind: Literal["disposition", "refusal"]
    action: str
    center_code: str
    at: datetime
    reason: str | None = None
    feedback_id: str | None = None
    case_id: str
    #: the Disposition as published (kind ``disposition``) or the Rejection (``refusal``)
    record: dict[str, Any]


class CaseDetail(CaseSummary):
    timeline: list[TimelineEntry]


class CasePage(BaseModel):
    centre: str
    cases: list[CaseSummary]
    limit: int
    offset: int
    #: the ``offset`` of the next page, or null on the last one
    next_offset: int | None = None


class FeedbackRequest(BaseModel):
    """A centre's action on a case; the centre is the token's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: FeedbackAction
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    #: ``extend`` only: the deadline asked for
    until: AwareDatetime | None = None
    #: ``return`` only: the centre that should hold the case instead
    target_center: RegionCode | None = None
    #: the idempotency key; generated when absent (send your own to retry safely)
    feedback_id: Identifier | None = None


class FeedbackOutcome(BaseModel):
    feedback_id: str
    case_id: str
    #: ``pending`` until the worker's answer is projected
    status: Literal["pending", "applied", "refused"]
    reason: str | None = None
    detail: str | None = None
    entry: TimelineEntry | None = None


class KpiFigures(BaseModel):
    """One window's figures of a county, a department or a centre (``by``), summed."""

    #: the county (``by=county``); the centre (``by=centre``); the region the department's
    #: figures cover (``by=department``: the ``county`` asked for, else the token's region).
    region_code: str
    #: ``by=department``: the department (责任部门).
    department: str | None = None
    #: ``by=centre``: the centre the counts are charged to (docs/kpis.md).
    centre: str | None = None
    window: str
    window_start: datetime
    window_end: datetime
    #: how many partial records were summed
    parts: int
    events_in: int
    cases_opened: int
    cases_closed: int
    closed_on_time: int
    merges: int
    reworks: int
    extensions: int
    escalations: int
    close_rate: float
    on_time_close_rate: float
    rework_rate: float
    extension_rate: float
    escalation_rate: float
    merge_ratio: float
    #: per network: only ``by=county`` (the breakdowns carry no network maps).
    reports_by_network: dict[str, int]
    merged_by_network: dict[str, int]
    merged_by_pair: dict[str, int]
    dispatches: int = 0
    returns: int = 0
    accepted: int = 0
    accepted_on_time: int = 0
    verifications: int = 0
    verified_on_time: int = 0
    deadlines: int = 0
    overdue: int = 0
    revisits: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    #: 超期率, 按时受理率, 及时核查率, 有效上报率, 准确派遣率, 群众满意度
    overdue_rate: float = 0.0
    on_time_accept_rate: float = 0.0
    timely_verify_rate: float = 0.0
    valid_report_rate: float = 0.0
    accurate_dispatch_rate: float = 0.0
    satisfaction_rate: float = 0.0


class KpiAnswer(BaseModel):
    window: str
    #: ``county``, ``department`` or ``centre``: what each figure is for.
    by: str = "county"
    windows: list[KpiFigures]


class Health(BaseModel):
    status: Literal["ok", "not_ready"]
    broker: bool | None = None
    projection_lag: int | None = None
    caught_up: bool | None = None
    detail: str | None = None
