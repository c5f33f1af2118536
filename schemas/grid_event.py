"""GridEvent: what a field app reports (contract: ``grid.events.in``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import (
    MAX_TEXT,
    AwareDatetime,
    Identifier,
    NetworkName,
    RegionCode,
    ReporterRole,
    Severity,
)


class Location(BaseModel):
    """A WGS-84 point."""

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
    category: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    title: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    severity: Severity | None = None
    reporter: Reporter | None = None
    attachments: Annotated[
        list[Annotated[str, Field(max_length=1024, pattern=r"^https?://")]], Field(max_length=20)
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_words(self) -> GridEvent:
        if not (self.title or self.description):
            raise ValueError("one of title or description is required")
        return self
