"""All the state of one region (village): its cases and the ids it has already applied.

One row per region keeps every lookup a merge or a feedback needs partition-local (the
contract keys events and feedback by region). Applied ids and finished cases expire by
event time, so the row stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import orjson

from gridflow.core.case import Case

SlaState = Literal["on_time", "warned", "overdue"]


def sla_state(case: Case) -> SlaState:
    """Where an open case stands against its SLA, as the SLA tick last recorded it.

    ``overdue``: the running stage's deadline was missed with no tier left to escalate to
    (a miss below the top escalates and starts a new deadline instead); ``warned``: a
    warning went out; else ``on_time``. A stopped stage (resolved, verified) has no
    deadline left to be past.
    """
    if case.breached and case.deadline is not None:
        return "overdue"
    return "warned" if case.warned else "on_time"


@dataclass(slots=True)
class RegionState:
    """Cases of one region plus idempotency memory."""

    region: str
    cases: dict[str, Case] = field(default_factory=dict)
    #: event_id -> (case_id, expiry epoch)
    seen_events: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: feedback_id -> expiry epoch
    seen_feedback: dict[str, float] = field(default_factory=dict)
    #: event time of the last sweep (not persisted: a restart sweeps at first use).
    expired_at: float = 0.0
    #: open cases by (tier, SLA state) as last counted; None: count again (not persisted).
    _tally: dict[tuple[str, SlaState], int] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def open_cases(self) -> list[Case]:
        """Cases still open (merge candidates, timers)."""
        return [c for c in self.cases.values() if c.is_open]

    def expire(self, now: float, retention_s: float) -> int:
        """Drop expired ids and cases finished more than ``retention_s`` ago; count them."""
        if not (self.seen_events or self.seen_feedback or self.cases):
            return 0  # a region's first input: nothing to sweep
        dropped = 0
        for key in [k for k, (_, exp) in self.seen_events.items() if exp <= now]:
            del self.seen_events[key]
            dropped += 1
        for key in [k for k, exp in self.seen_feedback.items() if exp <= now]:
            del self.seen_feedback[key]
            dropped += 1
        finished = [
            cid
            for cid, case in self.cases.items()
            if not case.is_open
            and case.closed_at is not None
            and case.closed_at + retention_s <= now
        ]
        for cid in finished:
            del self.cases[cid]
            dropped += 1
        return dropped

    def open_tally(self) -> dict[tuple[str, SlaState], int]:
        """Open cases by (tier, :func:`sla_state`), remembered until :meth:`forget_tally`.

        The states come from the cases' flags rather than the clock, so the count changes
        only when the region does: a gauge over a million open cases sums a few thousand
        of these instead of walking every case.
        """
        tally = self._tally
        if tally is None:
            tally = {}
            for case in self.cases.values():
                if case.is_open:
                    key = (case.tier, sla_state(case))
                    tally[key] = tally.get(key, 0) + 1
            self._tally = tally
        return tally

    def forget_tally(self) -> None:
        """The region's cases changed: count them again on the next :meth:`open_tally`."""
        self._tally = None

    @property
    def empty(self) -> bool:
        """True when nothing is worth keeping (the row can be deleted: a tombstone)."""
        return not (self.cases or self.seen_events or self.seen_feedback)

    def to_bytes(self) -> bytes:
        """Serialise for the changelog.

        The same bytes as ``orjson.dumps`` of ``{"r": region, "c": [case.to_dict()],
        "e": seen_events, "f": seen_feedback}``, joined from parts: the cases' kept JSON
        goes in as it is, and the joined bytes are already the size of the row, where
        encoding the whole dict copied every case's JSON and then the row itself once
        more (:func:`gridflow.core.compact_json.dumps_compact`).
        """
        return b"".join(
            (
                b'{"r":',
                orjson.dumps(self.region),
                b',"c":[',
                b",".join([c.json_bytes() for c in self.cases.values()]),
                b'],"e":',
                orjson.dumps(self.seen_events),
                b',"f":',
                orjson.dumps(self.seen_feedback),
                b"}",
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RegionState:
        """Inverse of :meth:`to_bytes`."""
        doc = orjson.loads(data)
        cases = {d["i"]: Case.from_dict(d) for d in doc.get("c", [])}
        seen = {k: (v[0], v[1]) for k, v in doc.get("e", {}).items()}
        return cls(region=doc["r"], cases=cases, seen_events=seen, seen_feedback=doc.get("f", {}))
