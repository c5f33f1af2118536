"""Rejection: a record the processor could not apply (contract: ``grid.events.dlq``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from schemas.common import AwareDatetime


class RejectReason(StrEnum):
    """Machine-readable DLQ reasons."""

    INVALID_JSON = "invalid_json"
    NOT_UTF8 = "not_utf8"
    TOO_LARGE = "too_large"
    SCHEMA = "schema"
    UNKNOWN_REGION = "unknown_region"
    UNKNOWN_NETWORK = "unknown_network"
    FUTURE_TIMESTAMP = "future_timestamp"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_CASE = "unknown_case"
    WRONG_CENTER = "wrong_center"
    INVALID_TRANSITION = "invalid_transition"
    EXTENSION_REFUSED = "extension_refused"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    BATCH_TOO_LARGE = "batch_too_large"
    GRID_OUTSIDE_REGION = "grid_outside_region"


class Rejection(BaseModel):
    """A rejected record with the original bytes and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: RejectReason
    detail: str
    source_topic: str
    partition: int
    offset: int
    original: str
    at: AwareDatetime
    # Extensions.
    #: true when ``original`` is base64 (the record was not UTF-8).
    original_base64: bool = False
    #: index inside a batch record, when the record held a JSON array.
    batch_index: int | None = None
    #: true when ``original`` is only a prefix of the refused value: the whole of it would
    #: have made this record larger than the DLQ topic accepts (``max.message.bytes``).
    original_truncated: bool = False
