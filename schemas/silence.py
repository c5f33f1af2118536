"""Silence: a known matter that reports should join instead of opening cases (``grid.silences``).

A centre (within its own region) or the city creates one for a permitted construction
site (施工许可), a known outage being repaired (抢修) or a registered public event (活动).
Records are keyed by ``silence_id`` on a compacted topic; every change (extend, expire)
is a new whole record with a higher ``revision``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import MAX_TEXT, REGION_CODE_PATTERN, AwareDatetime, Network

#: A silence id: short, URL-safe (it appears in paths of the API).
SilenceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class SilenceKind(StrEnum):
    """Why reports are expected (shown to duty officers in Chinese)."""

    CONSTRUCTION = "construction"  # 施工许可
    OUTAGE = "outage"  # 已知故障抢修
    EVENT = "event"  # 登记的公共活动
    OTHER = "other"


class Near(BaseModel):
    """A circle: reports with a location inside it match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    radius_m: Annotated[float, Field(gt=0, le=50_000)]


class SilenceMatchers(BaseModel):
    """What a report must match; every given matcher must hold (AND), a list any of (OR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: category codes; a code of 4 characters (a 大类 such as ``SJ03``) matches its family.
    categories: Annotated[
        list[Annotated[str, Field(min_length=2, max_length=16)]], Field(max_length=50)
    ] = []
    #: the report's village code starts with this (a county, town or village code prefix).
    region_prefix: Annotated[str | None, Field(pattern=r"^[0-9]{2,12}$")] = None
    networks: Annotated[list[Network], Field(max_length=10)] = []
    #: words any of which must appear in the report's title or description.
    text: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)
    ] = []
    near: Near | None = None

    @model_validator(mode="after")
    def _something(self) -> SilenceMatchers:
        if not (self.categories or self.region_prefix or self.networks or self.text or self.near):
            raise ValueError("a silence needs at least one matcher")
        return self


class Silence(BaseModel):
    """One silence, whole, as of its latest change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    silence_id: SilenceId
    #: the centre that holds the known-matter cases; the silence acts within its region.
    center_code: Annotated[str, Field(pattern=REGION_CODE_PATTERN)]
    kind: SilenceKind = SilenceKind.OTHER
    matchers: SilenceMatchers
    #: the window, by the report's own time (``reported_at``).
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    author: Annotated[str, Field(min_length=1, max_length=100)]
    comment: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    created_at: AwareDatetime
    #: 0 when created; each extend or expire adds one.
    revision: Annotated[int, Field(ge=0)] = 0
    #: who made the latest change, and what it was (``created``, ``extended``, ``expired``).
    changed_by: Annotated[str, Field(max_length=100)] = ""
    change: Annotated[str, Field(max_length=20)] = "created"

    @model_validator(mode="after")
    def _window(self) -> Silence:
        # Equal: an emptied window (a silence expired before it started).
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self
