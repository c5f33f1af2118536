"""Plain records passed between the Faust layer and the pipeline (no Faust types)."""

from __future__ import annotations

from typing import NamedTuple


class InRecord(NamedTuple):
    """One consumed Kafka record.

    A named tuple, as :class:`OutRecord`: the reader makes one per record fetched (on the
    keyed path about one per event, the town stage's announcements read back), and a
    frozen dataclass set each of its six fields through ``object.__setattr__``.
    """

    topic: str
    partition: int
    offset: int
    #: record timestamp, epoch seconds: the event time the core computes with.
    timestamp: float
    key: bytes | None
    value: bytes | None


class OutRecord(NamedTuple):
    """One record to produce.

    A named tuple rather than a frozen dataclass: every disposition makes one, and a
    tuple is built in one step (a frozen dataclass sets each field through
    ``object.__setattr__``). Immutable and compared by value all the same.
    """

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None
