"""The JSON shapes of the ``/v1`` API (pydantic v2: they are the OpenAPI document's schemas).

Times are RFC 3339 in UTC. Shapes are additive-only: a client must ignore fields it does
not know, and the API never renames or drops one without a new version prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from schemas import MergeMetrics
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
    #: 督办: the centre supervising the case since its holder missed a deadline
    supervisor: str | None = None
    #: 核查: the centre that checks the case's resolution (verify, reject, close, revisit)
    verifier: str | None = None


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
    #: the centre whose feedback caused the step (or sent the refused feedback); ``None``
    #: for steps no centre took (a report, a timer). ``center_code`` is who was told.
    acted_by: str | None = None


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


class KpiFigures(MergeMetrics):
    """One window's figures of a county, a department or a centre (``by``), summed.

    Every field of the contract's ``MergeMetrics`` (docs/kpis.md), so a KPI added to the
    contract is served here too; ``region_code`` is the county (``by=county``), the centre
    (``by=centre``), or the region the department's figures cover (``by=department``: the
    ``county`` asked for, else the token's region). The per-network maps are filled only
    for ``by=county`` (the breakdowns carry none).
    """

    model_config = ConfigDict(extra="forbid")

    #: ``by=department``: the department (责任部门).
    department: str | None = None
    #: ``by=centre``: the centre the counts are charged to (docs/kpis.md).
    centre: str | None = None
    #: how many partial records were summed
    parts: int
    # The breakdowns are what ``by=department`` and ``by=centre`` serve as figures of
    # their own; a figure never carries them.
    by_department: SkipJsonSchema[dict[str, dict[str, int]]] = Field(
        default_factory=dict, exclude=True
    )
    by_centre: SkipJsonSchema[dict[str, dict[str, int]]] = Field(default_factory=dict, exclude=True)


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
