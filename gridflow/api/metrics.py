"""Prometheus metrics of the API, on their own registry (see gridflow/metrics.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "gridflow_api_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gridflow_api_request_seconds",
            "HTTP request latency by route template.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.events_accepted = Counter(
            "gridflow_api_events_accepted_total",
            "Events produced to grid.events.in.",
            registry=self.registry,
        )
        self.events_refused = Counter(
            "gridflow_api_events_refused_total",
            "Events refused by the API, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "gridflow_api_projection_lag_records",
            "Records on the output topics not yet in the read model.",
            registry=self.registry,
        )
        self.projected = Gauge(
            "gridflow_api_projected_records",
            "Records the projector applied since start.",
            registry=self.registry,
        )
