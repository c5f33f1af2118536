"""``gridflow bench --api``: its parts run, finish by their deadlines and report what they
could not measure. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tools.bench import api_bench
from tools.bench import pipeline_bench as pb

pytestmark = pytest.mark.integration


def test_latency_gives_up_at_its_deadline_and_counts_the_unanswered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # An API with no worker behind it: every POST is accepted, no disposition ever comes.
    dep = pb.Deployment(kafka_bootstrap, tmp_path)
    dep.create_topics()
    api = api_bench.ApiServer(dep).start()
    said: list[str] = []
    try:
        docs = api_bench._renamed(pb.make_records(20, seed=7), "dl")
        result = asyncio.run(
            api_bench._latency(api.url, dep, docs, rate=100, warmup=0, drain_s=1.0, say=said.append)
        )
    finally:
        api.stop()
    assert result["sent"] == 20 and result["refused"] == {}
    assert result["answered"] == 0 and result["unanswered"] == result["measured_unanswered"] == 20
    # Unanswered events rank above every answer: no percentile to report.
    assert result["p50_ms"] is None and result["p99_ms"] is None
    (end,) = [line for line in said if "latency end" in line]
    assert "20/20 sent, 0 answered" in end
    assert "of 0 traced events" in said[said.index(end) + 1]


@pytest.mark.parametrize("topology", api_bench.TOPOLOGIES)
def test_latency_measures_post_to_disposition(
    kafka_bootstrap: str, tmp_path: Path, topology: str
) -> None:
    events = pb.make_records(100, seed=8)
    result = api_bench.run_latency(
        kafka_bootstrap,
        tmp_path,
        events,
        rate=50,
        seconds=2,
        warmup=0.5,
        say=lambda _: None,
        topology=topology,
    )
    assert result["sent"] == 100 and result["unanswered"] == 0 and result["answered"] == 100
    assert result["p99_ms"] is not None and result["p99_ms"] >= result["p50_ms"] > 0
    assert result["api_cpu_us_per_event"] > 0 and result["worker_cpu_us_per_event"] > 0
    # Every process the run started counts in the CPU, the projecting replica's too.
    assert result["topology"] == topology
    assert ("api_projector_cpu_us_per_event" in result) == (topology == "split")
    assert (
        result["total_cpu_us_per_event"]
        >= sum(
            v
            for k, v in result.items()
            if k.endswith("_cpu_us_per_event") and k != "total_cpu_us_per_event"
        )
        - 4
    )  # each figure is rounded on its own
    # Every measured event traced stage by stage, from its records and the worker's journal.
    stages = result["stages"]
    assert stages["traced"] == result["measured"]
    for name, _ in api_bench.STAGES:
        assert stages[name]["p99"] >= stages[name]["p50"] is not None, name
    assert stages["worker_batch_events"]["batches"] > 0


def test_query_seeds_explains_and_answers_over_http(kafka_bootstrap: str, tmp_path: Path) -> None:
    result = api_bench.run_query(kafka_bootstrap, tmp_path, cases=3000, queries=8, say=print)
    with sqlite3.connect(tmp_path / "query-3000.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone() == (3000,)
        open_cases = conn.execute("SELECT count(*) FROM cases WHERE NOT closed").fetchone()[0]
    assert 1200 < open_cases < 1800  # about half
    # Every tier's first page is one index range in deadline order, never a sort.
    assert set(result["plans"]) == {"village", "town", "county", "city"}
    assert "sorted_tiers" not in result, result["plans"]
    assert all("INDEX" in plan for plan in result["plans"].values()), result["plans"]
    assert result["queries"] == 8 and result["p99_ms"] >= result["p50_ms"] > 0


def test_the_summary_says_which_targets_are_met() -> None:
    from gridflow.commands.bench import _api_targets

    met = _api_targets(
        {
            "intake": {"eps": 6000.0},
            "latency": {"p99_ms": None, "unanswered": 900},
            "query": {"cases": 1_000_000, "p99_ms": 20.0},
        },
        rate=1000,
    )
    assert met == {
        "intake_eps_5000": True,
        "latency_p99_150ms_at_1000": False,  # too many unanswered for a p99
        "query_p99_50ms_at_1m": True,
    }
    # Not measured, or not at the target's load: neither met nor missed.
    assert _api_targets({"query": {"cases": 1000, "p99_ms": 1.0}}, rate=100) == dict.fromkeys(met)


@pytest.mark.parametrize(
    ("topology", "expected"),
    [
        # (log name, GRIDFLOW_API_PROJECTOR, GRIDFLOW_API_PROJECTION_INTERVAL_MS) per process
        ("single", [("api", None, None)]),
        ("split", [("api", "false", None), ("api-projector", None, "250")]),
    ],
)
def test_latency_topologies_name_their_processes(
    tmp_path: Path, topology: str, expected: list[tuple[str, str | None, str | None]]
) -> None:
    dep = pb.Deployment("127.0.0.1:9", tmp_path)  # nothing is started: no broker needed
    apis = api_bench.latency_apis(dep, topology, 250, GRIDFLOW_API_LINGER_MS="7")
    got = [
        (
            api.log_path.name.removeprefix(dep.prefix).removesuffix(".log"),
            api.env.get("GRIDFLOW_API_PROJECTOR"),
            api.env.get("GRIDFLOW_API_PROJECTION_INTERVAL_MS"),
        )
        for api in apis
    ]
    assert got == expected
    # The first takes the POSTs; all share one read model and take the extra settings.
    assert len({api.env["GRIDFLOW_DATA_DIR"] for api in apis}) == 1
    assert {api.env["GRIDFLOW_API_LINGER_MS"] for api in apis} == {"7"}
    assert len({api.port for api in apis}) == len(apis)


@pytest.mark.parametrize(
    ("environ", "gather_ms"),
    [
        ({}, str(api_bench.WORKER_GATHER_MS)),
        ({"GRIDFLOW_INPUT_GATHER_MS": "0"}, "0"),  # the product's default, for A/B runs
        ({"GRIDFLOW_INPUT_GATHER_MS": "35"}, "35"),
    ],
)
def test_the_latency_worker_gathers_its_inputs_unless_told_otherwise(
    tmp_path: Path, environ: dict[str, str], gather_ms: str
) -> None:
    dep = pb.Deployment("127.0.0.1:9", tmp_path)  # nothing is started: no broker needed
    worker = api_bench.latency_worker(dep, environ)
    assert worker.env["GRIDFLOW_INPUT_GATHER_MS"] == gather_ms


def test_an_unknown_topology_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="single, split"):
        api_bench.latency_apis(pb.Deployment("127.0.0.1:9", tmp_path), "mesh", 100)


@pytest.mark.parametrize(
    ("argv", "topology", "interval"),
    [
        ([], "single", 100.0),
        (["--api-topology", "split"], "split", 100.0),
        (["--api-topology", "split", "--api-projection-interval-ms", "250"], "split", 250.0),
    ],
)
def test_cli_takes_the_api_topology(argv: list[str], topology: str, interval: float) -> None:
    from gridflow.cli import build_parser

    args = build_parser().parse_args(["bench", "--api", *argv])
    assert (args.api_topology, args.api_projection_interval_ms) == (topology, interval)


def test_p99_by_window_follows_the_run_and_ranks_the_unanswered_last() -> None:
    from tools.bench import percentile

    start = 1_000_000.0
    # Window by window, 100 events each: latencies 1..100 ms, then 101..200 ms, then
    # 1..100 ms with two events never answered (2 % > 1 %: no p99 for that window).
    due: dict[str, float] = {}
    answered: dict[str, float] = {}
    for window, offset, unanswered in ((0, 0, 0), (1, 100, 0), (2, 0, 2)):
        for i in range(100):
            event_id = f"w{window}-{i}"
            due[event_id] = start + window * 5000 + i * 50
            if i >= unanswered:
                answered[event_id] = float(offset + i + 1)
    assert api_bench.p99_by_window(due, answered, start) == [
        percentile([float(v) for v in range(1, 101)], 0.99),
        percentile([float(v) for v in range(101, 201)], 0.99),
        None,
    ]
    assert api_bench.p99_by_window({}, {}, start) == []
