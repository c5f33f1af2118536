"""GridEvent: what a field app reports (contract: ``grid.events.in``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import (
    MAX_TEXT,
    AwareDatetime,
    Identifier,
    NetworkName,
    RegionCode,
    ReporterRole,
    RequestType,
    Severity,
)

#: Datum of ``location``: WGS-84 (GPS), GCJ-02 (国测局, used by 高德 and 腾讯 maps) or BD-09
#: (百度). The processor converts GCJ-02 and BD-09 points to WGS-84 on intake.
CoordSystem = Literal["wgs84", "gcj02", "bd09"]


class Location(BaseModel):
    """A point, in the datum the event's ``coord_system`` names (WGS-84 by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Reporter(BaseModel):
    """Who reported. ``name``/``phone``/``id_number`` are personal data and are masked in logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    role: ReporterRole
    name: Annotated[str, Field(max_length=64)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None


class GridEvent(BaseModel):
    """One report of an incident by one grid network."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_id: Identifier
    source_network: NetworkName
    reported_at: AwareDatetime
    region_code: RegionCode
    grid_code: Annotated[str, Field(pattern=r"^[0-9]{15}$")] | None = None
    location: Location | None = None
    #: Contract extension: the datum of ``location`` (absent: wgs84).
    coord_system: CoordSystem = "wgs84"
    category: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    title: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    severity: Severity | None = None
    #: Contract extension: a 12345 caller's request type (诉求类型), which sets the
    #: hotline's time limit (networks.yaml request_types).
    request_type: RequestType | None = None
    reporter: Reporter | None = None
    attachments: Annotated[
        list[Annotated[str, Field(max_length=1024, pattern=r"^https?://")]], Field(max_length=20)
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_words(self) -> GridEvent:
        if not (self.title or self.description):
            raise ValueError("one of title or description is required")
        return self
