"""Prometheus metrics of a worker, on an injected registry.

Every worker (and every test) builds its own :class:`Metrics`; nothing registers on the
process-global ``REGISTRY``, so two workers in one process, or two tests, never collide
("Duplicated timeseries in CollectorRegistry").

The agents call the small helper methods rather than the metric objects, so label names
and orders live in this file only. Series whose label values are known in advance (tiers,
SLA states, disposition and feedback actions, duplicate kinds) are created at zero on
construction: ``rate()``/``increase()`` then see the first increment, and dashboards show
a flat zero instead of "No data".

Label values for ``network`` and ``reason`` come from the processor's own validated
vocabulary (configured source networks, rejection codes), never from raw input text:
an unbounded label set would grow the registry without limit.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.context_managers import Timer

from gridflow.core.region_state import SlaState
from gridflow.core.tiers import TIERS_DOWN

#: The four tiers of command centres, top to bottom (city 市 → village 村/社区).
TIERS: Final = tuple(tier.value for tier in TIERS_DOWN)
#: Where an open case stands against its current SLA stage.
SLA_STATES: Final = ("on_time", "warned", "overdue")
#: Disposition actions of the wire contract.
DISPOSITION_ACTIONS: Final = (
    "dispatch",
    "merge",
    "escalate",
    "sla_warning",
    "sla_breach",
    "state",
    "reroute",
)
#: Feedback actions of the wire contract (the closed loop 上报 → … → 结案).
FEEDBACK_ACTIONS: Final = (
    "accept",
    "resolve",
    "return",
    "escalate",
    "extend",
    "verify",
    "reject_resolution",
    "close",
    "cancel",
    "reopen",
)
#: What an idempotent no-op was a replay of.
DUPLICATE_KINDS: Final = ("event", "feedback", "disposition", "absorb", "join")

#: ``absorb`` / ``join``: a replayed step of a merge across village lines (跨村合并).
DuplicateKind = Literal["event", "feedback", "disposition", "absorb", "join"]

#: Ingest → disposition latency: 5 ms (hot path) up to 10 min (a backlog after recovery).
LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
#: Records per processed batch: 1 (trickle) up to the largest batch a fetch can return.
BATCH_SIZE_BUCKETS: Final = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
#: One handler call: sub-millisecond for a merge, seconds only when something is wrong.
HANDLER_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: ``Content-Type`` of :meth:`Metrics.render` output, for the ``/metrics`` handler.
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


class Metrics:
    """All metrics of one worker, registered on ``registry`` (a new one when ``None``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        # labels() costs a lock and a tuple build per call; the hot path reuses children.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._rules_in_force_labels: tuple[str, str] | None = None
        #: counter increments held back while a batch runs (see ``batched``)
        self._pending: dict[tuple[Any, tuple[str, ...]], float] | None = None
        r = self.registry

        # Intake
        self.events_in = Counter(
            "gridflow_events_in_total",
            "Grid events read from the input topic, per reporting network.",
            ["network"],
            registry=r,
        )
        self.dlq = Counter(
            "gridflow_dlq_total",
            "Records sent to the dead-letter topic, per rejection reason.",
            ["reason"],
            registry=r,
        )
        self.outputs_refused = Counter(
            "gridflow_outputs_refused_total",
            "Output records the broker refused as too large and the worker skipped, per topic.",
            ["topic"],
            registry=r,
        )
        self.fetch_holes = Counter(
            "gridflow_input_fetch_holes_total",
            "Fetches of the inputs that skipped offsets (embedded broker only), per outcome: "
            "refetched (cut at the hole and fetched again), given_up (the hole was still "
            "there after the patience and was read past: records may be lost).",
            ["outcome"],
            registry=r,
        )
        self.duplicates = Counter(
            "gridflow_duplicates_total",
            "Replays recognised and skipped (idempotent no-ops), per kind.",
            ["kind"],
            registry=r,
        )
        self.feedback = Counter(
            "gridflow_feedback_total",
            "Command-centre feedback applied, per action.",
            ["action"],
            registry=r,
        )

        # Cases and merges
        self.cases_opened = Counter(
            "gridflow_cases_opened_total",
            "New cases opened, per tier of the centre they were dispatched to.",
            ["tier"],
            registry=r,
        )
        self.cases_merged = Counter(
            "gridflow_cases_merged_total",
            "Reports merged into an existing case, per tier holding the case.",
            ["tier"],
            registry=r,
        )
        self.cases_merged_across_villages = Counter(
            "gridflow_cases_merged_across_villages_total",
            "Cases absorbed into a neighbouring village's case of the same incident (跨村合并).",
            registry=r,
        )
        self.cases_closed = Counter(
            "gridflow_cases_closed_total",
            "Cases closed (结案) or cancelled, per tier holding the case.",
            ["tier"],
            registry=r,
        )
        self.dispositions = Counter(
            "gridflow_dispositions_total",
            "Dispositions published, per action and target tier.",
            ["action", "tier"],
            registry=r,
        )

        # SLA and escalations
        self.escalations = Counter(
            "gridflow_escalations_total",
            "Cases escalated, per tier they escalated TO.",
            ["tier"],
            registry=r,
        )
        self.sla_warnings = Counter(
            "gridflow_sla_warnings_total",
            "SLA warnings issued, per tier holding the case.",
            ["tier"],
            registry=r,
        )
        self.sla_breaches = Counter(
            "gridflow_sla_breaches_total",
            "SLA breaches: the top tier ran out of time too.",
            registry=r,
        )
        self.open_cases = Gauge(
            "gridflow_open_cases",
            "Open cases held by this worker's active partitions, per tier and SLA state.",
            ["tier", "sla_state"],
            registry=r,
        )

        # Latency
        self.ingest_to_disposition = Histogram(
            "gridflow_ingest_to_disposition_seconds",
            "Seconds from reading the input record to publishing its disposition.",
            ["action"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "gridflow_batch_size",
            "Records per processed batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.handler_seconds = Histogram(
            "gridflow_handler_seconds",
            "Seconds one agent handler call took.",
            ["agent"],
            buckets=HANDLER_BUCKETS,
            registry=r,
        )

        # Kafka health and lifecycle
        self.consumer_lag = Gauge(
            "gridflow_consumer_lag",
            "Records between the next offset to read and the high watermark, per input partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.last_commit_age = Gauge(
            "gridflow_last_commit_age_seconds",
            "Seconds since this worker last stored the read position, per input partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.recovery_progress = Gauge(
            "gridflow_recovery_progress_ratio",
            "Share of changelog recovery done (0..1); 1 when recovered.",
            registry=r,
        )
        self.ready = Gauge(
            "gridflow_ready",
            "1 when the worker is recovered and processing, else 0.",
            registry=r,
        )
        self.assigned_partitions = Gauge(
            "gridflow_assigned_partitions",
            "Partitions actively assigned to this worker.",
            registry=r,
        )
        self.tick_leader = Gauge(
            "gridflow_sla_tick_leader",
            "1 on the worker that sends the SLA ticks (Faust's leader), else 0. Summed over "
            "the workers it should be 1; 0 means no SLA deadline is checked anywhere.",
            registry=r,
        )
        self.ticks_sent = Counter(
            "gridflow_sla_ticks_sent_total",
            "SLA tick rounds this worker sent (a tick into every partition of the commands "
            "topic), one per tick interval in which it was the leader.",
            registry=r,
        )
        self.calendar_covered_until = Gauge(
            "gridflow_calendar_covered_until_timestamp_seconds",
            "End (Unix time) of the days whose official holidays and make-up workdays are "
            "known; SLA deadlines past it count the statutory holidays only.",
            registry=r,
        )
        self.build_info = Gauge(
            "gridflow_build_info",
            "Always 1; the labels name the running code and routing rules.",
            ["version", "rules_version"],
            registry=r,
        )
        self.rules_in_force = Gauge(
            "gridflow_rules_in_force_info",
            "Always 1; the labels name the rules version (and its label) in force now on "
            "this worker, by the wall clock (hot reload: grid.rules).",
            ["version", "label"],
            registry=r,
        )
        self.rules_reload_failures = Counter(
            "gridflow_rules_reload_failures_total",
            "Published rules bundles this worker refused (did not load, did not match "
            "their version, dropped a policy); the worker kept the rules it had.",
            registry=r,
        )
        self.rules_loaded = Gauge(
            "gridflow_rules_versions_loaded",
            "Rules versions this worker holds in memory (its own and those read from "
            "grid.rules), each deciding the events of its time.",
            registry=r,
        )
        # Silences and inhibition (gridflow/core/silences.py, inhibition.py)
        self.silenced = Counter(
            "gridflow_silenced_reports_total",
            "Reports that joined a silence's known-matter case (屏蔽), per silence.",
            ["silence"],
            registry=r,
        )
        self.inhibited = Counter(
            "gridflow_inhibited_reports_total",
            "Reports attached to an open critical case by an inhibit rule (抑制), per rule.",
            ["rule"],
            registry=r,
        )
        self.silences_in_force = Gauge(
            "gridflow_silences_known",
            "Silences this worker has read from grid.silences (every revision's latest).",
            registry=r,
        )
        self._zero_known_series()

    def _zero_known_series(self) -> None:
        """Create every series whose label values are known, at zero (see module doc)."""
        for kind in DUPLICATE_KINDS:
            self.duplicates.labels(kind=kind)
        for outcome in ("refetched", "given_up"):
            self.fetch_holes.labels(outcome=outcome)
        for action in FEEDBACK_ACTIONS:
            self.feedback.labels(action=action)
        for tier in TIERS:
            self.cases_opened.labels(tier=tier)
            self.cases_merged.labels(tier=tier)
            self.cases_closed.labels(tier=tier)
            self.escalations.labels(tier=tier)
            self.sla_warnings.labels(tier=tier)
            for state in SLA_STATES:
                self.open_cases.labels(tier=tier, sla_state=state)
            for action in DISPOSITION_ACTIONS:
                self.dispositions.labels(action=action, tier=tier)
        # 0 until the worker says otherwise: a fresh worker is neither ready nor recovered,
        # nor the tick leader.
        self.ready.set(0)
        self.recovery_progress.set(0)
        self.tick_leader.set(0)

    # -- intake ---------------------------------------------------------------------------

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def _inc(self, metric: Any, labels: tuple[str, ...], amount: float = 1) -> None:
        pending = self._pending
        if pending is None:
            (self._child(metric, *labels) if labels else metric).inc(amount)
        else:
            key = (metric, labels)
            pending[key] = pending.get(key, 0) + amount

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Hold counter increments back until the block ends, then add each total at once.

        A batch of a thousand records would otherwise take a lock per increment. Nothing
        reads the registry while a batch is processed (the scrape runs on the same event
        loop), so the figures it sees are the same. Histograms are observed at once.
        """
        if self._pending is not None:  # nested: the outer block adds them up
            yield
            return
        pending: dict[tuple[Any, tuple[str, ...]], float] = {}
        self._pending = pending
        try:
            yield
        finally:
            self._pending = None
            for (metric, labels), amount in pending.items():
                self._inc(metric, labels, amount)

    def event_in(self, network: str, count: int = 1) -> None:
        """Count ``count`` events read from ``network`` (a batch counts at once)."""
        self._inc(self.events_in, (network,), count)

    def rejected(self, reason: str) -> None:
        """Count one record sent to the DLQ with the machine-readable ``reason``."""
        self._inc(self.dlq, (reason,))

    def output_refused(self, topic: str, count: int = 1) -> None:
        """Count output records the broker refused (too large) and the worker skipped."""
        self._inc(self.outputs_refused, (topic,), count)

    def fetch_hole(self, outcome: str) -> None:
        """Count a fetch cut at a skipped offset, or a hole given up (``gridflow.runtime.fetch_holes``)."""
        self._inc(self.fetch_holes, (outcome,))

    def duplicate(self, kind: DuplicateKind) -> None:
        """Count one replay skipped as an idempotent no-op."""
        self._inc(self.duplicates, (kind,))

    def feedback_applied(self, action: str) -> None:
        """Count one piece of command-centre feedback that was applied."""
        self._inc(self.feedback, (action,))

    # -- cases ----------------------------------------------------------------------------

    def case_opened(self, tier: str, count: int = 1) -> None:
        """Count ``count`` new cases dispatched to a centre of ``tier``."""
        self._inc(self.cases_opened, (tier,), count)

    def case_merged_across_villages(self) -> None:
        """Count one case the town stage decided to absorb into another village's case."""
        self._inc(self.cases_merged_across_villages, ())

    def case_merged(self, tier: str, count: int = 1) -> None:
        """Count ``count`` reports merged into cases held at ``tier``."""
        self._inc(self.cases_merged, (tier,), count)

    def case_closed(self, tier: str, count: int = 1) -> None:
        """Count ``count`` cases closed (or cancelled) at ``tier``."""
        self._inc(self.cases_closed, (tier,), count)

    def dispositions_published(self, action: str, tier: str, count: int) -> None:
        """Count ``count`` published dispositions; their latencies go to ``observe_latency``.

        Timer-driven steps (SLA warnings, escalations, breaches from a tick) have no input
        record to measure from: the pipeline observes no latency for them, so SLA
        durations do not skew the histogram.
        """
        self._inc(self.dispositions, (action, tier), count)

    def observe_latency(self, action: str, latency_s: float, count: int = 1) -> None:
        """Observe ``count`` ingest→disposition latencies of ``latency_s`` each.

        The dispositions of one input record share its latency: one bucket search and
        one lock per bucket stand for all of them.
        """
        child = self._child(self.ingest_to_disposition, action)
        amount = max(latency_s, 0.0)
        buckets = getattr(child, "_buckets", None)
        bounds = getattr(child, "_upper_bounds", None)
        total = getattr(child, "_sum", None)
        if buckets is None or bounds is None or total is None:
            # Unknown client internals: the public call per sample.
            for _ in range(count):
                child.observe(amount)
            return
        # What ``Histogram.observe`` does per sample: the first bucket whose bound holds it
        # (the last bound is +Inf, so there always is one), and the sum.
        total.inc(amount * count)
        buckets[bisect_left(bounds, amount)].inc(count)

    # -- SLA ------------------------------------------------------------------------------

    def escalated(self, to_tier: str, count: int = 1) -> None:
        """Count ``count`` escalations to a centre of ``to_tier``."""
        self._inc(self.escalations, (to_tier,), count)

    def sla_warning(self, tier: str, count: int = 1) -> None:
        """Count ``count`` SLA warnings for cases held at ``tier``."""
        self._inc(self.sla_warnings, (tier,), count)

    def sla_breach(self, count: int = 1) -> None:
        """Count ``count`` SLA breaches (the top tier ran out of time)."""
        self._inc(self.sla_breaches, (), count)

    def tick_sent(self) -> None:
        """Count one round of SLA ticks sent into every partition of the commands topic.

        Deadlines move only when ticks arrive: a leader whose timer stalls still reports
        ``gridflow_sla_tick_leader`` 1, and only this counter standing still shows it.
        """
        self._inc(self.ticks_sent, ())

    def report_silenced(self, silence: str) -> None:
        """Count one report that joined the known-matter case of ``silence``."""
        self._inc(self.silenced, (silence,))

    def report_inhibited(self, rule: str) -> None:
        """Count one report attached to an open case by the inhibit rule ``rule``."""
        self._inc(self.inhibited, (rule,))

    def set_open_cases(self, counts: Mapping[tuple[str, SlaState], int]) -> None:
        """Replace the open-case gauge with ``counts`` keyed by ``(tier, sla_state)``.

        Known combinations missing from ``counts`` are set to 0, so a tier whose last
        case closed drops to zero instead of keeping its old value.
        """
        for tier in TIERS:
            for state in SLA_STATES:
                self.open_cases.labels(tier=tier, sla_state=state).set(counts.get((tier, state), 0))
        for (tier, state), value in counts.items():
            if tier not in TIERS:
                self.open_cases.labels(tier=tier, sla_state=state).set(value)

    # -- latency and work -----------------------------------------------------------------

    def observe_batch(self, size: int) -> None:
        """Observe the number of records in one processed batch."""
        self.batch_size.observe(size)

    def observe_handler(self, agent: str, seconds: float) -> None:
        """Observe how long one handler call of ``agent`` took."""
        self.handler_seconds.labels(agent=agent).observe(seconds)

    def time_handler(self, agent: str) -> Timer:
        """Context manager (or decorator) timing one handler call of ``agent``."""
        return self.handler_seconds.labels(agent=agent).time()

    # -- Kafka health ---------------------------------------------------------------------

    def set_partition_progress(
        self, topic: str, partition: int, lag: int, commit_age_s: float
    ) -> None:
        """Set lag and last-commit age of one actively assigned partition."""
        self.consumer_lag.labels(topic=topic, partition=str(partition)).set(max(lag, 0))
        self.last_commit_age.labels(topic=topic, partition=str(partition)).set(
            max(commit_age_s, 0.0)
        )

    def forget_partitions(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop the per-partition series of revoked partitions.

        Without this a revoked partition keeps its last lag and a growing commit age on
        this worker while its new owner reports it too: the stuck-commit alert would fire
        on a partition nobody here is responsible for.
        """
        for topic, partition in partitions:
            # remove() is a no-op for a series never reported here.
            self.consumer_lag.remove(topic, str(partition))
            self.last_commit_age.remove(topic, str(partition))

    def set_assigned_partitions(self, count: int) -> None:
        """Set the number of partitions actively assigned to this worker."""
        self.assigned_partitions.set(count)

    def set_recovery_progress(self, ratio: float) -> None:
        """Set changelog recovery progress, clamped to 0..1."""
        self.recovery_progress.set(min(max(ratio, 0.0), 1.0))

    def set_ready(self, ready: bool) -> None:
        """Say whether the worker is recovered and processing (the ``/readyz`` answer)."""
        self.ready.set(1 if ready else 0)

    def set_tick_leader(self, leader: bool) -> None:
        """Say whether this worker is Faust's leader, the one worker that sends SLA ticks.

        The tick timer runs on the leader only: when no worker is the leader, no case
        escalates or is warned anywhere and nothing else says so. Every worker reports,
        so the sum over the workers is the number of tick senders (it should be 1).
        """
        self.tick_leader.set(1 if leader else 0)

    def set_calendar_covered_until(self, timestamp: float) -> None:
        """The end of the holiday calendar's known days (alerted on 30 days ahead)."""
        self.calendar_covered_until.set(timestamp)

    def set_build_info(self, version: str, rules_version: str) -> None:
        """Name the running code and rules; replaces any earlier pair (rules reload)."""
        self.build_info.clear()
        self.build_info.labels(version=version, rules_version=rules_version).set(1)

    def set_rules_in_force(self, version: str, label: str, loaded: int) -> None:
        """The rules version in force now and how many versions are held."""
        current = self._rules_in_force_labels
        if current != (version, label):
            self.rules_in_force.clear()
            self.rules_in_force.labels(version=version, label=label).set(1)
            self._rules_in_force_labels = (version, label)
        self.rules_loaded.set(loaded)

    def rules_reload_failed(self) -> None:
        """A published bundle was refused."""
        self.rules_reload_failures.inc()

    # -- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        """The registry in Prometheus text format, for ``GET /metrics``."""
        return generate_latest(self.registry)
