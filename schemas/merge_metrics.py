"""MergeMetrics: windowed KPIs per region (contract: ``grid.metrics``)."""

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
