"""Decode and validate raw ``grid.events.in`` / ``grid.feedback`` values.

Every value becomes either valid messages or rejections with a machine-readable reason;
nothing raises. A value may be one JSON object or (contract extension) a JSON array of
objects, each validated, deduplicated and rejected on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from gridflow.core.coords import to_wgs84
from schemas import Feedback, GridEvent, RejectReason
from schemas.grid_event import Location

M = TypeVar("M", bound=BaseModel)

_EVENT_ADAPTER: TypeAdapter[GridEvent] = TypeAdapter(GridEvent)
_FEEDBACK_ADAPTER: TypeAdapter[Feedback] = TypeAdapter(Feedback)


@dataclass(frozen=True, slots=True)
class Reject:
    """Why one value (or one element of a batch) was refused."""

    reason: RejectReason
    detail: str
    #: the refused bytes: the whole value, or the element when it came from a batch.
    original: bytes
    batch_index: int | None = None


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Bounds on what a record may hold."""

    max_record_bytes: int = 256 * 1024
    max_batch: int = 1000
    max_clock_skew: timedelta = timedelta(minutes=5)
    #: Largest quote of a refused value a Rejection carries, bytes as written in JSON
    #: (gridflow/core/dlq_original.py): a quarter of Kafka's default max.message.bytes.
    max_quote_bytes: int = 256 * 1024


def schema_detail(exc: ValidationError) -> str:
    """A readable summary of validation errors that never echoes the input values.

    Inputs can hold reporters' personal data; only field paths and messages are kept.
    """
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(value)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"... {more} more")
    return "; ".join(parts)


def _split(
    value: bytes | None, limits: IngestLimits
) -> tuple[list[tuple[Any, int | None]], list[Reject]]:
    """Parse a record value into (document, batch index) pairs, or reject it whole."""
    raw = value or b""
    if len(raw) > limits.max_record_bytes:
        return [], [
            Reject(
                RejectReason.TOO_LARGE,
                f"record is {len(raw)} bytes; the limit is {limits.max_record_bytes}",
                raw,
            )
        ]
    try:
        # orjson checks the whole input as strict UTF-8 before parsing, so a value it
        # accepts is UTF-8: only a refused one pays for the separate check, which decides
        # which of the two reasons applies (not UTF-8 wins, as it always has).
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return [], [
                Reject(
                    RejectReason.NOT_UTF8,
                    f"value is not UTF-8: {bad.reason} at byte {bad.start}",
                    raw,
                )
            ]
        return [], [Reject(RejectReason.INVALID_JSON, f"not JSON: {exc}", raw)]
    if isinstance(doc, list):
        if len(doc) > limits.max_batch:
            return [], [
                Reject(
                    RejectReason.BATCH_TOO_LARGE,
                    f"batch holds {len(doc)} events; the limit is {limits.max_batch}",
                    raw,
                )
            ]
        return [(item, i) for i, item in enumerate(doc)], []
    return [(doc, None)], []


def _refused(
    reason: RejectReason, detail: str, doc: Any, index: int | None, whole: bytes | None
) -> Reject:
    # The refused bytes are built only for a rejection: an accepted batch element is never
    # re-serialised. A batch element is refused on its own; a single value as it came.
    original = (whole or b"") if index is None else orjson.dumps(doc)
    return Reject(reason, detail, original, index)


def _validated(
    docs: list[tuple[Any, int | None]],
    value: bytes | None,
    adapter: TypeAdapter[M],
    what: str,
    check: Callable[[M], tuple[RejectReason, str] | None],
) -> tuple[list[M], list[Reject]]:
    """Validate each document with ``adapter``, then ``check``; reject the rest with reasons."""
    ok: list[M] = []
    rejects: list[Reject] = []
    # The core validator itself: the TypeAdapter method only forwards its defaults to it.
    validate = adapter.validator.validate_python
    for doc, index in docs:
        if not isinstance(doc, dict):
            rejects.append(
                _refused(RejectReason.SCHEMA, f"a {what} must be a JSON object", doc, index, value)
            )
            continue
        try:
            item = validate(doc)
        except ValidationError as exc:
            rejects.append(_refused(RejectReason.SCHEMA, schema_detail(exc), doc, index, value))
            continue
        refused = check(item)
        if refused is None:
            ok.append(item)
        else:
            rejects.append(_refused(refused[0], refused[1], doc, index, value))
    return ok, rejects


def decode_events(
    value: bytes | None,
    *,
    known_region: Container[str],
    known_network: Container[str],
    now: datetime,
    limits: IngestLimits,
) -> tuple[list[GridEvent], list[Reject]]:
    """Validate a ``grid.events.in`` value into events and rejections."""
    docs, rejects = _split(value, limits)
    latest = now + limits.max_clock_skew

    def check(event: GridEvent) -> tuple[RejectReason, str] | None:
        if event.region_code not in known_region:
            return (
                RejectReason.UNKNOWN_REGION,
                f"region_code {event.region_code} is not a village/community of the loaded division tree",
            )
        if event.source_network not in known_network:
            return (
                RejectReason.UNKNOWN_NETWORK,
                f"source_network {event.source_network!r} is not configured in networks.yaml",
            )
        if event.reported_at > latest:
            return (
                RejectReason.FUTURE_TIMESTAMP,
                f"reported_at {event.reported_at.isoformat()} is more than "
                f"{int(limits.max_clock_skew.total_seconds())} s ahead of the processor's clock",
            )
        # A unit grid code is its village's 12-digit code and a 3-digit grid number.
        if event.grid_code is not None and not event.grid_code.startswith(event.region_code):
            return (
                RejectReason.GRID_OUTSIDE_REGION,
                f"grid_code {event.grid_code} is not a unit grid of region_code "
                f"{event.region_code} (it must start with it)",
            )
        return None

    events, refused = _validated(docs, value, _EVENT_ADAPTER, "GridEvent", check)
    return [_in_wgs84(e) for e in events], rejects + refused


def _in_wgs84(event: GridEvent) -> GridEvent:
    """``event`` with its location in WGS-84 (``coord_system`` gcj02/bd09 converted)."""
    if event.coord_system == "wgs84" or event.location is None:
        return event
    lat, lon = to_wgs84(event.location.lat, event.location.lon, event.coord_system)
    # What ``event.model_copy(update=...)`` makes (the fields, fields set, no extra or
    # private state: GridEvent ignores extra keys and has no private attributes),
    # without its generic steps: most simulator points are GCJ-02 or BD-09.
    values = event.__dict__.copy()
    values["location"] = Location(lat=lat, lon=lon)
    values["coord_system"] = "wgs84"
    copied = _new_event(GridEvent)
    _set(copied, "__dict__", values)
    _set(copied, "__pydantic_fields_set__", event.__pydantic_fields_set__ | _CONVERTED)
    _set(copied, "__pydantic_extra__", None)
    _set(copied, "__pydantic_private__", None)
    return copied


_new_event = GridEvent.__new__
_set = object.__setattr__
#: The fields a conversion to WGS-84 sets.
_CONVERTED = frozenset({"location", "coord_system"})


def decode_feedback(
    value: bytes | None,
    *,
    known_center: Callable[[str], bool],
    limits: IngestLimits,
) -> tuple[list[Feedback], list[Reject]]:
    """Validate a ``grid.feedback`` value into feedback and rejections."""
    docs, rejects = _split(value, limits)

    def check(fb: Feedback) -> tuple[RejectReason, str] | None:
        if not known_center(fb.center_code):
            return (
                RejectReason.UNKNOWN_REGION,
                f"center_code {fb.center_code} is not a centre of the loaded division tree",
            )
        return None

    items, refused = _validated(docs, value, _FEEDBACK_ADAPTER, "Feedback", check)
    return items, rejects + refused
