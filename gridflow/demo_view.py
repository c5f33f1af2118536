"""Live figures of a running deployment, read from its output topics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from gridflow.core.crossvillage import MergeLinks
from gridflow.core.kpi import COUNTS, rates
from gridflow.core.tiers import TIERS_UP

#: The KPI rates the demo's summary reports (docs/kpis.md), from its 1-minute records.
SUMMARY_RATES = (
    "overdue_rate",
    "on_time_accept_rate",
    "timely_verify_rate",
    "valid_report_rate",
    "accurate_dispatch_rate",
    "satisfaction_rate",
)


@dataclass
class DemoFigures:
    """What the demo shows and prints as JSON at the end."""

    events_in: int = 0
    dispositions: int = 0
    cases: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    merges: int = 0
    escalations: int = 0
    warnings: int = 0
    breaches: int = 0
    dlq: int = 0
    seen_ids: set[str] = field(default_factory=set)
    by_action_tier: Counter[tuple[str, str]] = field(default_factory=Counter)
    escalations_by_tier: Counter[str] = field(default_factory=Counter)
    dlq_by_reason: Counter[str] = field(default_factory=Counter)
    feedback_sent: int = 0
    kpi_records: int = 0
    metrics_nonzero: int = 0
    #: 跨村合并: the simulator's (boundary report, report it repeats) pairs; which case
    #: each event is in; which cases were merged into a neighbouring village's case.
    boundary_pairs: list[tuple[str, str]] = field(default_factory=list)
    event_case: dict[str, str] = field(default_factory=dict)
    links: MergeLinks = field(default_factory=MergeLinks)
    #: the simulator's reports in GCJ-02 / BD-09 and its 12345 calls by 诉求类型; the
    #: simulated centres' 回访 by answer (copied from their stats while the demo runs).
    events_by_coord_system: dict[str, int] = field(default_factory=dict)
    hotline_by_request_type: dict[str, int] = field(default_factory=dict)
    revisits_sent: dict[str, int] = field(default_factory=dict)
    #: every count of the 1-minute KPI records, summed over counties and workers.
    kpi_counts: Counter[str] = field(default_factory=Counter)

    def add_metrics(self, doc: dict[str, Any]) -> None:
        """Count one KPI record; sum the 1-minute ones (the hours repeat them)."""
        self.kpi_records += 1
        if doc.get("window") != "1m":
            return
        for name in COUNTS:
            value = doc.get(name)
            if isinstance(value, int):
                self.kpi_counts[name] += value

    def add_disposition(self, doc: dict[str, Any]) -> None:
        """Count one disposition, dropping duplicates by id as a centre would."""
        did = doc.get("disposition_id", "")
        if did in self.seen_ids:
            return
        self.seen_ids.add(did)
        self.dispositions += 1
        action, tier = doc.get("action", "?"), doc.get("tier", "?")
        self.by_action_tier[(action, tier)] += 1
        case_id = str(doc.get("case_id"))
        for event in doc.get("events") or ():
            self.event_case[str(event)] = case_id
        self.links.add(doc)
        if action == "dispatch":
            self.cases.add(doc["case_id"])
        elif action == "merge" and not doc.get("merged_cases"):
            self.merges += 1
        elif action == "escalate":
            self.escalations += 1
            self.escalations_by_tier[tier] += 1
        elif action == "sla_warning":
            self.warnings += 1
        elif action == "sla_breach":
            self.breaches += 1
        elif action == "state" and doc.get("state") == "closed" and doc.get("reason") == "closed":
            self.closed.add(doc["case_id"])

    def add_rejection(self, doc: dict[str, Any]) -> None:
        """Count one DLQ record."""
        self.dlq += 1
        self.dlq_by_reason[doc.get("reason", "?")] += 1

    def split_across_villages(self) -> int:
        """Boundary reports that ended in another case than the report they repeat."""
        root, where = self.links.root, self.event_case
        return sum(
            1
            for event, original in self.boundary_pairs
            if event in where and original in where and root(where[event]) != root(where[original])
        )

    def summary(self) -> dict[str, Any]:
        """The JSON object the demo prints last."""
        return {
            "events_in": self.events_in,
            "cases": len(self.cases),
            "merges": self.merges,
            "boundary_reports": len(self.boundary_pairs),
            "cross_village_merges": len(self.links.merged_into),
            "split_across_villages": self.split_across_villages(),
            "dispositions": self.dispositions,
            "escalations": self.escalations,
            "escalations_by_tier": dict(self.escalations_by_tier),
            "sla_warnings": self.warnings,
            "sla_breaches": self.breaches,
            "closed": len(self.closed),
            "dlq": self.dlq,
            "dlq_by_reason": dict(self.dlq_by_reason),
            "feedback": self.feedback_sent,
            "kpi_records": self.kpi_records,
            "metrics_nonzero": self.metrics_nonzero,
            "events_by_coord_system": self.events_by_coord_system,
            "hotline_by_request_type": self.hotline_by_request_type,
            "revisits": self.revisits_sent,
            "kpis": {
                **{name: self.kpi_counts[name] for name in ("revisits", "overdue", "returns")},
                **{
                    name: round(value, 4)
                    for name, value in rates(dict(self.kpi_counts)).items()
                    if name in SUMMARY_RATES
                },
            },
        }

    def render(self, elapsed: float) -> str:
        """A console table."""
        tiers = tuple(tier.value for tier in TIERS_UP)
        actions = ("dispatch", "merge", "escalate", "sla_warning", "sla_breach", "state", "reroute")
        lines = [
            f"gridflow demo   {elapsed:6.0f} s   events in {self.events_in:>7}   cases {len(self.cases):>6}"
            f"   merges {self.merges:>5}   closed {len(self.closed):>5}   DLQ {self.dlq:>5}",
            f"跨村合并 {len(self.links.merged_into):>5} cases merged across village lines"
            f" ({len(self.boundary_pairs)} boundary reports)",
            "",
            f"{'dispositions':<14}" + "".join(f"{t:>9}" for t in tiers),
        ]
        for action in actions:
            row = "".join(f"{self.by_action_tier[(action, t)]:>9}" for t in tiers)
            lines.append(f"{action:<14}{row}")
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dlq_by_reason.items())) or "-"
        lines += [
            "",
            f"DLQ by reason: {reasons}",
            f"feedback sent by simulated centres: {self.feedback_sent}",
        ]
        return "\n".join(lines)


async def follow(
    consumer: AIOKafkaConsumer, figures: DemoFigures, dispositions: str, metrics: str = ""
) -> None:
    """Fold everything the consumer reads into ``figures`` (one fetch)."""
    batches = await consumer.getmany(timeout_ms=200, max_records=5000)
    for tp, msgs in batches.items():
        for msg in msgs:
            try:
                doc = orjson.loads(msg.value)
            except orjson.JSONDecodeError:
                continue
            if tp.topic == dispositions:
                figures.add_disposition(doc)
            elif tp.topic == metrics:
                figures.add_metrics(doc)
            else:
                figures.add_rejection(doc)
