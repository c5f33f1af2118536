"""Specification of the worker's Prometheus metrics (gridflow.metrics)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from gridflow.metrics import TIERS, Metrics
from gridflow.topics import DLQ, EVENTS_IN, FEEDBACK

#: The exposed metric names and label names ops, dashboards and alerts rely on.
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "gridflow_events_in_total": ("counter", ("network",)),
    "gridflow_dlq_total": ("counter", ("reason",)),
    "gridflow_outputs_refused_total": ("counter", ("topic",)),
    "gridflow_input_fetch_holes_total": ("counter", ("outcome",)),
    "gridflow_duplicates_total": ("counter", ("kind",)),
    "gridflow_feedback_total": ("counter", ("action",)),
    "gridflow_cases_opened_total": ("counter", ("tier",)),
    "gridflow_cases_merged_total": ("counter", ("tier",)),
    "gridflow_cases_merged_across_villages_total": ("counter", ()),
    "gridflow_cases_closed_total": ("counter", ("tier",)),
    "gridflow_dispositions_total": ("counter", ("action", "tier")),
    "gridflow_escalations_total": ("counter", ("tier",)),
    "gridflow_sla_warnings_total": ("counter", ("tier",)),
    "gridflow_sla_breaches_total": ("counter", ()),
    "gridflow_open_cases": ("gauge", ("tier", "sla_state")),
    "gridflow_ingest_to_disposition_seconds": ("histogram", ("action",)),
    "gridflow_consumer_lag": ("gauge", ("topic", "partition")),
    "gridflow_last_commit_age_seconds": ("gauge", ("topic", "partition")),
    "gridflow_recovery_progress_ratio": ("gauge", ()),
    "gridflow_ready": ("gauge", ()),
    "gridflow_assigned_partitions": ("gauge", ()),
    "gridflow_sla_tick_leader": ("gauge", ()),
    "gridflow_sla_ticks_sent_total": ("counter", ()),
    "gridflow_batch_size": ("histogram", ()),
    "gridflow_handler_seconds": ("histogram", ("agent",)),
    "gridflow_build_info": ("gauge", ("version", "rules_version")),
    "gridflow_calendar_covered_until_timestamp_seconds": ("gauge", ()),
    "gridflow_rules_in_force_info": ("gauge", ("version", "label")),
    "gridflow_rules_versions_loaded": ("gauge", ()),
    "gridflow_rules_reload_failures_total": ("counter", ()),
    "gridflow_silenced_reports_total": ("counter", ("silence",)),
    "gridflow_inhibited_reports_total": ("counter", ("rule",)),
    "gridflow_silences_known": ("gauge", ()),
}


def exercised() -> Metrics:
    """A Metrics on its own registry with every helper called once."""
    m = Metrics(CollectorRegistry())
    m.event_in("zongzhi", 3)
    m.rejected("invalid_json")
    m.output_refused(DLQ)
    m.fetch_hole("refetched")
    m.duplicate("event")
    m.feedback_applied("accept")
    m.case_opened("village")
    m.case_merged("village")
    m.case_closed("town")
    m.dispositions_published("dispatch", "village", 1)
    m.observe_latency("dispatch", 0.042)
    m.escalated("town")
    m.sla_warning("village")
    m.sla_breach()
    m.set_open_cases({("village", "on_time"): 5})
    m.observe_batch(100)
    m.observe_handler("cases", 0.001)
    m.set_partition_progress(EVENTS_IN, 0, lag=7, commit_age_s=1.5)
    m.set_assigned_partitions(4)
    m.set_recovery_progress(0.5)
    m.set_ready(True)
    m.set_tick_leader(True)
    m.tick_sent()
    m.set_build_info("0.1.0", "2024-06-01")
    m.set_calendar_covered_until(1_798_732_800.0)
    m.set_rules_in_force("57f6d6039cfb", "2026-12", 2)
    m.rules_reload_failed()
    m.report_silenced("works-1")
    m.report_inhibited("火灾现场")
    m.silences_in_force.set(1)
    return m


Family = tuple[str, set[str], dict[tuple[str, tuple[tuple[str, str], ...]], float]]


def families(m: Metrics) -> dict[str, Family]:
    """Parse ``m.render()``: name → (type, label names, {(sample, labels): value})."""
    out: dict[str, Family] = {}
    for fam in text_string_to_metric_families(m.render().decode()):
        labels: set[str] = set()
        samples = {}
        for s in fam.samples:
            labels |= set(s.labels) - {"le"}
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        out[fam.name] = (fam.type, labels, samples)
    return out


def sample(m: Metrics, name: str, **labels: str) -> float:
    """The value of one sample in the rendered output."""
    value = m.registry.get_sample_value(name, labels)
    assert value is not None, f"no sample {name}{labels}"
    return value


def test_every_metric_renders_with_its_type_and_labels() -> None:
    fams = families(exercised())
    for name, (kind, labels) in EXPECTED.items():
        # The text parser names counter families without the _total suffix.
        family = name.removesuffix("_total") if kind == "counter" else name
        assert family in fams, f"{name} is not rendered"
        got_kind, got_labels, _ = fams[family]
        assert got_kind == kind, name
        assert got_labels == set(labels), name


def test_only_the_specified_metrics_exist() -> None:
    # prometheus-client also renders a `<name>_created` timestamp for counters and histograms.
    fams = {n for n in families(exercised()) if not n.endswith("_created")}
    expected = {n.removesuffix("_total") if k == "counter" else n for n, (k, _) in EXPECTED.items()}
    assert fams == expected


def test_injected_registries_do_not_collide_and_stay_off_the_global_one() -> None:
    first, second = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    first.case_opened("city")
    assert sample(first, "gridflow_cases_opened_total", tier="city") == 1
    assert sample(second, "gridflow_cases_opened_total", tier="city") == 0
    assert REGISTRY.get_sample_value("gridflow_ready") is None


def test_without_a_registry_each_instance_gets_its_own() -> None:
    a, b = Metrics(), Metrics()
    assert a.registry is not b.registry


def test_known_series_exist_at_zero_before_anything_happens() -> None:
    m = Metrics()
    for tier in TIERS:
        assert sample(m, "gridflow_cases_opened_total", tier=tier) == 0
        assert sample(m, "gridflow_escalations_total", tier=tier) == 0
        assert sample(m, "gridflow_open_cases", tier=tier, sla_state="overdue") == 0
        assert sample(m, "gridflow_dispositions_total", action="dispatch", tier=tier) == 0
    assert sample(m, "gridflow_duplicates_total", kind="disposition") == 0
    assert sample(m, "gridflow_feedback_total", action="close") == 0
    assert sample(m, "gridflow_sla_breaches_total") == 0
    assert sample(m, "gridflow_ready") == 0


def test_a_disposition_counts_and_observes_its_latency() -> None:
    m = Metrics()
    m.dispositions_published("dispatch", "village", 1)
    m.observe_latency("dispatch", 0.03)
    assert sample(m, "gridflow_dispositions_total", action="dispatch", tier="village") == 1
    assert sample(m, "gridflow_ingest_to_disposition_seconds_count", action="dispatch") == 1
    assert (
        sample(m, "gridflow_ingest_to_disposition_seconds_bucket", action="dispatch", le="0.05")
        == 1
    )


def test_latency_buckets_span_5ms_to_10min() -> None:
    m = Metrics()
    m.dispositions_published("merge", "town", 1)
    m.observe_latency("merge", 0.001)
    bucket = "gridflow_ingest_to_disposition_seconds_bucket"
    assert sample(m, bucket, action="merge", le="0.005") == 1
    assert sample(m, bucket, action="merge", le="600.0") == 1


def test_open_cases_are_replaced_not_accumulated() -> None:
    m = Metrics()
    m.set_open_cases({("town", "warned"): 3, ("village", "on_time"): 9})
    m.set_open_cases({("village", "on_time"): 2})
    assert sample(m, "gridflow_open_cases", tier="town", sla_state="warned") == 0
    assert sample(m, "gridflow_open_cases", tier="village", sla_state="on_time") == 2


def test_revoked_partitions_stop_reporting_lag_and_commit_age() -> None:
    m = Metrics()
    m.set_partition_progress(EVENTS_IN, 1, lag=10, commit_age_s=3)
    m.set_partition_progress(EVENTS_IN, 2, lag=0, commit_age_s=1)
    m.forget_partitions([(EVENTS_IN, 1), (FEEDBACK, 9)])
    assert (
        m.registry.get_sample_value("gridflow_consumer_lag", {"topic": EVENTS_IN, "partition": "1"})
        is None
    )
    assert (
        m.registry.get_sample_value(
            "gridflow_last_commit_age_seconds", {"topic": EVENTS_IN, "partition": "1"}
        )
        is None
    )
    assert sample(m, "gridflow_last_commit_age_seconds", topic=EVENTS_IN, partition="2") == 1


def test_recovery_progress_is_clamped_to_a_ratio() -> None:
    m = Metrics()
    m.set_recovery_progress(1.7)
    assert sample(m, "gridflow_recovery_progress_ratio") == 1
    m.set_recovery_progress(-0.2)
    assert sample(m, "gridflow_recovery_progress_ratio") == 0


def test_build_info_names_only_the_current_rules() -> None:
    m = Metrics()
    m.set_build_info("0.1.0", "r1")
    m.set_build_info("0.1.0", "r2")
    assert sample(m, "gridflow_build_info", version="0.1.0", rules_version="r2") == 1
    assert (
        m.registry.get_sample_value(
            "gridflow_build_info", {"version": "0.1.0", "rules_version": "r1"}
        )
        is None
    )


def test_ready_and_handler_timer() -> None:
    m = Metrics()
    m.set_ready(True)
    assert sample(m, "gridflow_ready") == 1
    with m.time_handler("feedback"):
        pass
    assert sample(m, "gridflow_handler_seconds_count", agent="feedback") == 1


def test_tick_leader_starts_at_zero_and_ticks_count_rounds() -> None:
    m = Metrics()
    # Summed over the workers it should be 1: a fresh worker must not count as a leader.
    assert sample(m, "gridflow_sla_tick_leader") == 0
    assert sample(m, "gridflow_sla_ticks_sent_total") == 0
    m.set_tick_leader(True)
    m.tick_sent()
    m.tick_sent()
    assert sample(m, "gridflow_sla_tick_leader") == 1
    assert sample(m, "gridflow_sla_ticks_sent_total") == 2
    m.set_tick_leader(False)
    assert sample(m, "gridflow_sla_tick_leader") == 0
