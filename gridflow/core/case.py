"""A case: one real incident, however many networks reported it.

The case is the unit of state. It is serialised compactly (short keys, epoch seconds) into
its region's row, so bytes per open case stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from gridflow.core.compact_json import dumps_compact


class CaseStatus(StrEnum):
    """Where a case stands in the closed loop (立案→派遣→处置→核查→结案)."""

    DISPATCHED = "dispatched"  # 派遣: waiting for the holder to accept
    ACCEPTED = "accepted"  # 受理: being handled
    RESOLVED = "resolved"  # 处置完成: waiting for verification
    VERIFIED = "verified"  # 核查通过: waiting to be closed
    CLOSED = "closed"  # 结案
    CANCELLED = "cancelled"  # 注销
    #: 跨村合并: the same incident as a case of a neighbouring village, which took its
    #: reports over (``Case.merged_into``); final, like cancelled.
    MERGED = "merged"


#: Statuses in which a case still takes merges and runs SLA timers.
OPEN_STATUSES = frozenset(
    {CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.RESOLVED, CaseStatus.VERIFIED}
)
#: The SLA stage that runs in each status (None: no timer).
STAGE_OF = {
    CaseStatus.DISPATCHED: "accept",
    CaseStatus.ACCEPTED: "resolve",
}


@dataclass(slots=True)
class Case:
    """The state of one case. Times are epoch seconds (UTC).

    Every step that changes a case advances :attr:`seq` (the engine names each step's
    disposition by it), and :meth:`to_json` relies on that: a case serialised at one
    ``seq`` is not serialised again until the next step.
    """

    id: str
    region: str
    category: str
    priority: str
    department: str
    tier: str
    holder: str
    status: CaseStatus
    rule: str
    policy: str
    opened_at: float
    first_reported_at: float
    last_reported_at: float
    title: str = ""
    lat: float | None = None
    lon: float | None = None
    grid: str | None = None
    #: a 12345 case: the caller's request type (咨询, 求助, 投诉, 举报, 建议, 表扬).
    request_type: str | None = None
    events: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    #: network of each event, parallel to ``events`` (merge KPIs per network pair).
    event_networks: list[str] = field(default_factory=list)
    stage: str | None = "accept"
    stage_started: float | None = None
    deadline: float | None = None
    warn_at: float | None = None
    warned: bool = False
    breached: bool = False
    #: tiers this case was escalated to; one escalation per (case, tier), ever.
    escalated: list[str] = field(default_factory=list)
    extensions: int = 0
    reworks: int = 0
    seq: int = 0
    closed_at: float | None = None
    #: False once the case was resolved after, or timed out of, a resolve-stage deadline
    #: (sticky: a rework or reopen does not make it on time again). Kept in the case, so
    #: whichever worker holds the case when it is closed judges 按期结案 the same.
    on_time: bool = True
    #: the first resolve-stage deadline the case missed (epoch s), if any.
    late_since: float | None = None
    #: when the case was last resolved (epoch s).
    resolved_at: float | None = None
    #: 督办: the centre supervising the case since the holder missed a deadline (the
    #: holder keeps handling it); ``None``: no miss, the centre above supervises as usual.
    supervisor: str | None = None
    #: ``merged``: the case (of another village) that took this one's reports over.
    merged_into: str | None = None
    #: cases of other villages whose reports this case took over (跨村合并), oldest first.
    merged_cases: list[str] = field(default_factory=list)
    #: a known-matter case: the id of the silence whose reports it gathers (no timers,
    #: no location, so no ordinary report merges into it; gridflow/core/silences.py).
    silence: str | None = None
    #: (seq, JSON of to_dict(), the same as a fragment) as last serialised; not part of
    #: the case's value.
    _json: tuple[int, bytes, orjson.Fragment] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def is_open(self) -> bool:
        """True while the case takes merges and runs timers."""
        return self.status in OPEN_STATUSES

    def next_due(self) -> float | None:
        """When the SLA timer next needs to look at this case (warning, then deadline)."""
        if not self.is_open or self.deadline is None or self.breached:
            return None
        if not self.warned and self.warn_at is not None and self.warn_at < self.deadline:
            return self.warn_at
        return self.deadline

    def villages(self) -> list[str]:
        """The villages the incident was reported under: its own, then those of the cases
        it took over (跨村合并; a case id starts with its village's code)."""
        out = [self.region]
        for other in self.merged_cases:
            village = other[:12]
            if village not in out:
                out.append(village)
        return out

    def add_report(self, event_id: str, network: str) -> None:
        """Report ``event_id`` of ``network`` joins the case (a merge, or a joined case's)."""
        self.events.append(event_id)
        self.event_networks.append(network)
        if network not in self.networks:
            self.networks.append(network)

    def widen_reported(self, first: float, last: float) -> None:
        """The case was reported from ``first`` (if earlier) until ``last`` (if later)."""
        self.first_reported_at = min(self.first_reported_at, first)
        self.last_reported_at = max(self.last_reported_at, last)

    def next_seq(self) -> int:
        """Advance and return the case's step counter (part of disposition ids)."""
        self.seq += 1
        return self.seq

    def to_dict(self) -> dict[str, Any]:
        """Compact form for the state store."""
        d: dict[str, Any] = {
            "i": self.id,
            "r": self.region,
            "c": self.category,
            "p": self.priority,
            "d": self.department,
            "t": self.tier,
            "h": self.holder,
            "s": self.status.value,
            "ru": self.rule,
            "po": self.policy,
            "o": self.opened_at,
            "f": self.first_reported_at,
            "l": self.last_reported_at,
            "ti": self.title,
            "e": self.events,
            "n": self.networks,
            "en": self.event_networks,
            "st": self.stage,
            "ss": self.stage_started,
            "dl": self.deadline,
            "wa": self.warn_at,
            "q": self.seq,
        }
        # Optional fields are written only when set: most cases never need them.
        if self.lat is not None:
            d["la"] = self.lat
            d["lo"] = self.lon
        if self.grid:
            d["g"] = self.grid
        if self.request_type:
            d["rt"] = self.request_type
        if self.warned:
            d["w"] = 1
        if self.breached:
            d["b"] = 1
        if self.escalated:
            d["x"] = self.escalated
        if self.extensions:
            d["ex"] = self.extensions
        if self.reworks:
            d["rw"] = self.reworks
        if self.closed_at is not None:
            d["ca"] = self.closed_at
        if not self.on_time:
            d["ot"] = 0
        if self.late_since is not None:
            d["ls"] = self.late_since
        if self.resolved_at is not None:
            d["ra"] = self.resolved_at
        if self.supervisor is not None:
            d["sv"] = self.supervisor
        if self.merged_into is not None:
            d["mi"] = self.merged_into
        if self.merged_cases:
            d["mc"] = self.merged_cases
        if self.silence is not None:
            d["si"] = self.silence
        return d

    def to_json(self) -> orjson.Fragment:
        """:meth:`to_dict` as JSON, remembered until the case takes its next step.

        A region's row is written whole whenever any of its cases changes, while most of
        its cases (finished ones above all) stay as they were: those are not rebuilt.
        """
        return self._known_json()[2]

    def json_bytes(self) -> bytes:
        """:meth:`to_json`'s bytes (a region row joins them without a JSON encoder)."""
        return self._known_json()[1]

    def _known_json(self) -> tuple[int, bytes, orjson.Fragment]:
        known = self._json
        if known is None or known[0] != self.seq:
            raw = dumps_compact(self.to_dict())
            known = self._json = (self.seq, raw, orjson.Fragment(raw))
        return known

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Case:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=d["i"],
            region=d["r"],
            category=d["c"],
            priority=d["p"],
            department=d["d"],
            tier=d["t"],
            holder=d["h"],
            status=CaseStatus(d["s"]),
            rule=d["ru"],
            policy=d["po"],
            opened_at=d["o"],
            first_reported_at=d["f"],
            last_reported_at=d["l"],
            title=d.get("ti", ""),
            lat=d.get("la"),
            lon=d.get("lo"),
            grid=d.get("g"),
            request_type=d.get("rt"),
            events=d.get("e", []),
            networks=d.get("n", []),
            event_networks=d.get("en", []),
            stage=d.get("st"),
            stage_started=d.get("ss"),
            deadline=d.get("dl"),
            warn_at=d.get("wa"),
            warned=bool(d.get("w", 0)),
            breached=bool(d.get("b", 0)),
            escalated=d.get("x", []),
            extensions=d.get("ex", 0),
            reworks=d.get("rw", 0),
            seq=d.get("q", 0),
            closed_at=d.get("ca"),
            on_time=bool(d.get("ot", 1)),
            # Rows written before these were recorded load without them.
            late_since=d.get("ls"),
            resolved_at=d.get("ra"),
            supervisor=d.get("sv"),
            merged_into=d.get("mi"),
            merged_cases=d.get("mc", []),
            silence=d.get("si"),
        )

    def lateness_s(self) -> float | None:
        """Seconds from the first missed resolve deadline to the last resolution.

        0 when on time; ``None`` when late but the times were not recorded (a case
        stored by an older version, or closed without a resolution after the miss).
        """
        if self.on_time:
            return 0.0
        if self.late_since is None or self.resolved_at is None:
            return None
        return max(0.0, self.resolved_at - self.late_since)
