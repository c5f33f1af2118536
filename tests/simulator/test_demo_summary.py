"""The demo's JSON summary counts the simulator's Chinese datums, its 12345 calls and the
回访 answers, and the standard's KPIs from the 1-minute records (群众满意度 among them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gridflow.demo_view import DemoFigures
from gridflow.simulator.events import EventGenerator
from gridflow.simulator.producer import SimStats
from gridflow.topics import EVENTS_IN

CST = timezone(timedelta(hours=8))


def test_the_simulation_summary_counts_datums_and_hotline_calls() -> None:
    start = datetime(2024, 5, 6, 9, 30, tzinfo=CST)
    generator = EventGenerator(3, clock=lambda: start, malformed_rate=0.0)
    stats = SimStats(topic=EVENTS_IN, seed=3)
    for record in generator.records(3000):
        stats.count(record)
    summary = stats.as_dict()
    assert set(summary["events_by_coord_system"]) == {"gcj02", "bd09"}
    assert summary["events_by_coord_system"]["gcj02"] > summary["events_by_coord_system"]["bd09"]
    assert set(summary["hotline_by_request_type"]) <= {
        "咨询",
        "求助",
        "投诉",
        "举报",
        "建议",
        "表扬",
    }
    assert sum(summary["hotline_by_request_type"].values()) > 30


def test_the_demo_summary_sums_minute_records_into_the_standard_s_rates() -> None:
    figures = DemoFigures()
    minute = {"window": "1m", "revisits": 4, "satisfied": 2, "basically_satisfied": 1}
    figures.add_metrics({**minute, "deadlines": 4, "overdue": 1})
    figures.add_metrics({**minute, "dispatches": 2})
    # The hour repeats the minutes: read, not summed again.
    figures.add_metrics({"window": "1h", "revisits": 8, "satisfied": 4, "basically_satisfied": 2})
    figures.revisits_sent = {"satisfied": 4, "basically_satisfied": 2, "unsatisfied": 2}
    summary = figures.summary()
    assert summary["kpi_records"] == 3
    assert summary["kpis"]["revisits"] == 8
    assert summary["kpis"]["satisfaction_rate"] == 0.75
    assert summary["kpis"]["overdue_rate"] == 0.25
    assert summary["kpis"]["accurate_dispatch_rate"] == 1.0
    assert summary["revisits"] == figures.revisits_sent
