"""The benchmark's parts run and report; no timing is asserted (the machine is shared)."""

from __future__ import annotations

import orjson
import pytest

from gridflow.cli import build_parser
from tools.bench import median, percentile, raw_baseline, report, state_bench
from tools.bench import pipeline_bench as pb

pytestmark = pytest.mark.integration


def test_cli_has_bench() -> None:
    args = build_parser().parse_args(["bench", "--quick", "--runs", "2", "--json-only"])
    assert args.quick and args.runs == 2 and args.json_only and callable(args.func)


def test_forms_carry_the_same_events() -> None:
    events = pb.make_records(250, seed=3)
    assert len(events) == 250
    forms = {form: pb.as_form(events, form) for form in pb.FORMS}
    assert {form: sum(r.events for r in recs) for form, recs in forms.items()} == dict.fromkeys(
        pb.FORMS, 250
    )
    assert all(r.key is None for r in forms["batch"])
    from gridflow.runtime.partitioning import partition_for

    for rec in forms["batch_keyed"]:
        regions = {doc["region_code"] for doc in orjson.loads(rec.value)}
        assert {partition_for(r, 4) for r in regions} == {rec.partition}


def test_disposition_accounting() -> None:
    assert (
        pb.event_of({"action": "dispatch", "events": ["e1"], "disposition_id": "c/1/dispatch"})
        == "e1"
    )
    assert (
        pb.event_of({"action": "merge", "events": ["e1", "e2"], "disposition_id": "c/merge/e2"})
        == "e2"
    )
    assert (
        pb.event_of({"action": "state", "events": ["e1"], "disposition_id": "c/inform/town"})
        is None
    )
    # the first millisecond's group is left out of both count and interval
    assert pb.rate_from_timestamps([1000, 1000, 1500, 2000]) == pytest.approx(2.0)
    assert pb.rate_from_timestamps([1000]) is None


def test_helpers() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([], 0.5) is None


def test_core_pipeline_runs() -> None:
    result = pb.core_eps(pb.make_records(200, seed=4))
    assert result["events"] == 200 and result["outputs"] >= 200 and result["eps"] > 0


def test_state_bench_small() -> None:
    result = state_bench.measure(1000, due=20)
    assert result["cases"] == 1000
    assert result["due"] == 20  # exactly the first tick group is due at "now"
    assert result["tick_dispositions"] == 20  # each due case warned once
    assert result["bytes_per_case"] > 100 and result["rebuild_s"] > 0


def test_raw_baseline_on_broker(kafka_bootstrap: str) -> None:
    records = pb.as_form(pb.make_records(500, seed=5), "single")
    result = raw_baseline.run_raw(kafka_bootstrap, records)
    assert result["records"] == 500 and result["events"] == 500 and result["eps"] > 0


def test_report_table_and_json() -> None:
    summary = {
        "cores": 2,
        "events": 1000,
        "runs": 1,
        "raw_events": 50000,
        "raw_eps": 70000.0,
        "single_eps": 2800.0,
        "batch_eps": 3500.0,
        "batch_keyed_eps": 5000.0,
        "pipeline_eps": 5000.0,
        "input": "batch_keyed",
        "ratio": 5000 / 70000,
        "core_eps": 8000.0,
        "p50_ms": 40,
        "p99_ms": 120,
        "latency_rate": 2000.0,
        "state": {
            "10000": {
                "due": 100,
                "tick_ms": 1.5,
                "scan_ms": 3.0,
                "bytes_per_case": 595.0,
                "mem_bytes_per_case": 2400.0,
                "rebuild_s": 0.2,
            }
        },
    }
    text = report.table(summary)
    assert "figure" in text.splitlines()[0] and "batch_keyed" in text and "0.071" in text
    line = report.summary_json(summary)
    assert "\n" not in line
    doc = orjson.loads(line)
    assert all(key in doc for key in report.REQUIRED)
    # parts that did not run leave no row rather than failing
    assert "throughput" not in report.table({"cores": 2, "p50_ms": 30, "p99_ms": 90})


def test_the_cross_village_bench_runs_both_stages() -> None:
    from tools.bench.crossvillage_bench import make_events, run

    events = make_events(400, seed=3, boundary_rate=0.1)
    figures = run(events)
    assert figures["announcements"] > 100 and figures["absorbed"] > 5
    assert run(events, announce=False)["announcements"] == 0
