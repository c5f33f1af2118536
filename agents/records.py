"""Plain records passed between the Faust layer and the pipeline (no Faust types)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InRecord:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    #: record timestamp, epoch seconds: the event time the core computes with.
    timestamp: float
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None
