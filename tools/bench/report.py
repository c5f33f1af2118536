"""The bench's output: a table (figure | gridflow | baseline | ratio) and one JSON line.

The JSON object is always the last line printed, so ``gridflow bench | tail -1 | jq`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

#: Keys every summary carries (None when that part did not run).
REQUIRED = ("raw_eps", "pipeline_eps", "single_eps", "ratio", "input", "p50_ms", "p99_ms", "cores")


def fmt(value: Any, unit: str = "") -> str:
    """A figure for the table: thousands separated, sensible precision, ``-`` when absent."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and abs(value) >= 100):
        text = f"{value:,.0f}"
    elif isinstance(value, float) and abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` or None."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """Table rows from a summary (see :func:`summary`)."""
    s = summary
    raw = s.get("raw_eps")
    out: list[tuple[str, str, str, str]] = []

    def add(
        figure: str,
        ours: Any,
        base: Any,
        unit: str = "",
        r: float | None = None,
        ratio_text: str | None = None,
    ) -> None:
        if ours is None and base is None:
            return  # a part that did not run (--skip) or failed: no row
        text = ratio_text if ratio_text is not None else (f"{r:.3f}" if r is not None else "-")
        out.append((figure, fmt(ours, unit), fmt(base, unit), text))

    best = s.get("input") or "?"
    add(f"throughput, best input ({best}), events/s", s.get("pipeline_eps"), raw, r=s.get("ratio"))
    add(
        "throughput, single-event records, events/s",
        s.get("single_eps"),
        raw,
        r=ratio(s.get("single_eps"), raw),
    )
    add(
        "throughput, batch records (100, unkeyed), events/s",
        s.get("batch_eps"),
        raw,
        r=ratio(s.get("batch_eps"), raw),
    )
    add(
        "throughput, batch records (100, by partition), events/s",
        s.get("batch_keyed_eps"),
        raw,
        r=ratio(s.get("batch_keyed_eps"), raw),
    )
    raw_cpu = s.get("raw_cpu_us_per_event")
    for form, label in (
        ("single", "single-event records"),
        ("batch", "batch records, unkeyed"),
        ("batch_keyed", "batch records, by partition"),
    ):
        ours = s.get(f"{form}_cpu_us_per_event")
        if ours is not None:
            add(
                f"worker CPU per event, {label}, µs (lower is better)",
                ours,
                raw_cpu,
                r=ratio(raw_cpu, ours),
            )
    add(
        "pipeline core alone (no Faust/broker), events/s",
        s.get("core_eps"),
        raw,
        r=ratio(s.get("core_eps"), raw),
    )
    core_cpu = s.get("core_cpu_us_per_event")
    if core_cpu is not None:
        add("pipeline core alone, CPU per event, µs", core_cpu, raw_cpu, r=ratio(raw_cpu, core_cpu))
    if s.get("two_workers_eps") is not None:
        add(
            "2 workers vs 1 (burst input), events/s",
            s.get("two_workers_eps"),
            s.get("one_worker_eps"),
            r=ratio(s.get("two_workers_eps"), s.get("one_worker_eps")),
        )
    rate = s.get("latency_rate")
    at = f" @ {rate:,.0f}/s" if rate else ""
    add(f"latency ingest→disposition p50{at}, steady, ms", s.get("p50_ms"), None)
    add(f"latency ingest→disposition p99{at}, steady, ms", s.get("p99_ms"), None)
    add(
        "latency, first 3 s of a fresh worker p50 / p99, ms",
        _pair(s.get("cold_p50_ms"), s.get("cold_p99_ms")),
        None,
    )
    add(
        "latency as received by a consumer p50 / p99, ms",
        _pair(s.get("recv_p50_ms"), s.get("recv_p99_ms")),
        None,
    )
    for size, st in (s.get("state") or {}).items():
        n = f"{int(size):,}"
        add(
            f"SLA tick, {st.get('due')} due of {n} open (vs O(open) scan), ms",
            st.get("tick_ms"),
            st.get("scan_ms"),
            r=ratio(st.get("tick_ms"), st.get("scan_ms")),
        )
        add(
            f"open-case gauge after 100 regions changed, {n} open (vs walking all), ms",
            st.get("gauge_ms"),
            st.get("gauge_walk_ms"),
            r=ratio(st.get("gauge_ms"), st.get("gauge_walk_ms")),
        )
        add(f"state bytes per open case, serialised ({n})", st.get("bytes_per_case"), None)
        add(f"memory per open case, recovered ({n}), bytes", st.get("mem_bytes_per_case"), None)
        add(f"rebuild all state from rows ({n}), s", st.get("rebuild_s"), None)
    if s.get("recovery_s") is not None:
        add(
            f"worker changelog recovery ({s.get('recovery_cases'):,} cases), s",
            s.get("recovery_s"),
            None,
        )
        add(
            "open cases held after recovery / written",
            s.get("recovered_cases"),
            s.get("recovery_cases"),
            r=ratio(s.get("recovered_cases"), s.get("recovery_cases")),
        )
    return out


def _pair(a: Any, b: Any) -> str | None:
    if a is None and b is None:
        return None
    return f"{fmt(a)} / {fmt(b)}"


def table(summary: Mapping[str, Any]) -> str:
    """The human table, fixed-width."""
    header = ("figure", "gridflow", "baseline", "ratio")
    body = rows(summary)
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in (header, tuple("-" * w for w in widths), *body)
    ]
    note = (
        f"medians of {summary.get('runs')} run(s); {summary.get('events'):,} events per run; "
        f"{summary.get('cores')} cores; baseline = raw aiokafka consume→orjson→produce loop "
        f"({summary.get('raw_events', 0):,} single-event records) on the same broker"
        if summary.get("raw_eps") is not None or summary.get("pipeline_eps") is not None
        else f"{summary.get('cores')} cores"
    )
    return "\n".join([*lines, note] if note else lines)


def summary_json(summary: Mapping[str, Any]) -> str:
    """The one-line JSON object (keys sorted; floats rounded for reading)."""
    return orjson.dumps(_rounded(dict(summary)), option=orjson.OPT_SORT_KEYS).decode()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3) if abs(value) < 100 else round(value, 1)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


__all__ = ["REQUIRED", "fmt", "ratio", "rows", "summary_json", "table"]
