"""The Faust application: the case table, the input reader, one timer, the web endpoints.

Records flow: ``grid.events.in`` / ``grid.feedback`` / ``grid.cases.commands`` → the
:class:`gridflow.runtime.reader.InputReader` (plain aiokafka, batched, on the partitions
Faust assigned here) → :class:`gridflow.runtime.pipeline.Pipeline` → ``grid.dispositions``
and ``grid.events.dlq``; region rows and read positions in the ``cases`` table
(changelog-backed, :mod:`agents.faust_table`), by the protocol of
:mod:`gridflow.runtime.checkpoint`. Faust owns the group membership, the table's
assignment, recovery and standbys, the timers and the web server. The timer only emits
tick commands into every partition; the partition's owner does the SLA work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
from aiokafka import TopicPartition
from faust.types import StreamT

from agents import faust_patches
from agents.faust_table import CaseTable, aiokafka_producer, mute_partition
from agents.stall_report import watch_stop
from gridflow import __version__
from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.ingest import IngestLimits
from gridflow.core.silences import SILENCE_LEAD_S, SilenceBook
from gridflow.kafka_client import client_kwargs, kafka_security
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.rules_bundles import load_bundle_engine
from gridflow.runtime import consumer_stop
from gridflow.runtime.checkpoint import Rows
from gridflow.runtime.exactly_once import PartitionTransactions, UnsupportedGuarantee
from gridflow.runtime.fetch_holes import FetchHoles
from gridflow.runtime.heap import settle_startup_heap, sweep
from gridflow.runtime.kpi_publisher import KpiPublisher
from gridflow.runtime.pipeline import Pipeline
from gridflow.runtime.reader import InputReader
from gridflow.runtime.records import InRecord, OutRecord
from gridflow.runtime.rules_follower import RulesFollower
from gridflow.runtime.rules_timeline import RulesTimeline
from gridflow.runtime.sender import send_batched
from gridflow.runtime.silence_reader import SilenceReader
from gridflow.topics import RULES, SILENCES, TopicNames
from schemas import RulesBundle

log = logging.getLogger("gridflow.worker")

TICK = b'{"k":"tick"}'
#: Records per processed batch at most (one fetch).
BATCH_MAX = 2000


def _credentials(settings: Settings) -> Any:
    """Faust's form of the TLS context and SASL login (built in ``kafka_security``)."""
    security = kafka_security(settings)
    if security.sasl_mechanism is not None:
        return faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password,
            ssl_context=security.ssl_context,
            mechanism=security.sasl_mechanism,
        )
    if security.ssl_context is not None:
        return faust.SSLCredentials(security.ssl_context)
    return None


class _App(faust.App):
    """Faust's app, stopping the input reader before Faust stops its own consumer."""

    before_stop: Any = None

    async def on_stop(self) -> None:
        stalled = watch_stop()
        try:
            if self.before_stop is not None:
                # The batch in flight finishes and is delivered while producer and tables
                # work.
                await self.before_stop()
            await super().on_stop()
        finally:
            stalled.cancel()


class GridflowApp:
    """Builds the Faust app around a :class:`Pipeline`."""

    def __init__(
        self, settings: Settings, metrics: Metrics | None = None, *, tansu: bool = False
    ) -> None:
        """``tansu``: the brokers are the embedded Tansu (its workarounds are turned on)."""
        if not settings.kafka_bootstrap:
            raise ValueError("GRIDFLOW_KAFKA_BOOTSTRAP is empty: start a broker or point at one")
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.topics = TopicNames.prefixed(settings.topic_prefix)
        self.engine = load_engine(settings)
        # Silences: read from grid.silences into the engine's book, in place.
        self.engine.silences = SilenceBook()
        self.silence_reader = SilenceReader(
            client_kwargs(settings),
            settings.topic(SILENCES),
            self.engine.silences,
            client_id=f"{settings.app_id}-silences",
            on_change=lambda book: self.metrics.silences_in_force.set(len(book)),
        )
        self.metrics.set_build_info(__version__, self.engine.rules.version)
        # Hot reload: bundles published to grid.rules switch at their effective_from by
        # event time (gridflow/runtime/rules_timeline.py); GRIDFLOW_RULES decides before.
        self.rules = RulesTimeline(self.engine, self._load_bundle)
        self.rules_follower = RulesFollower(
            client=client_kwargs(settings),
            topic=settings.topic(RULES),
            timeline=self.rules,
            on_refused=lambda version, reason: self.metrics.rules_reload_failed(),
            client_id=f"{settings.app_id}-rules",
            keep_s=settings.retention_s,
        )
        self._observe_rules()
        exactly_once = settings.processing_guarantee == "exactly_once"
        if exactly_once and tansu:
            raise UnsupportedGuarantee(
                "GRIDFLOW_PROCESSING_GUARANTEE=exactly_once needs Apache Kafka's transactions; "
                f"the broker at {settings.kafka_bootstrap} is the embedded broker, whose "
                "transactions are unusable: use at_least_once"
            )
        # A stop right after a rebalance's revoke must not wait for ever on aiokafka.
        consumer_stop.install()
        # The end-offset probe is for Tansu's wrong ListOffsets answers only.
        faust_patches.install(
            settings.fetch_max_wait_ms,
            client_kwargs(settings) if tansu else None,
            read_committed=client_kwargs(settings) if exactly_once else None,
        )
        n = settings.partitions
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.app = _App(
            settings.app_id,
            broker=[f"kafka://{b}" for b in settings.kafka_bootstrap.split(",")],
            broker_credentials=_credentials(settings),
            store=settings.store,
            datadir=str(settings.data_dir),
            topic_partitions=n,
            topic_replication_factor=settings.replication_factor,
            topic_allow_declare=True,
            table_standby_replicas=settings.standby_replicas,
            # Faust's own exactly-once wraps its stream processing, which gridflow does not
            # use: the input reader makes the transactions (gridflow/runtime/exactly_once.py).
            processing_guarantee="at_least_once",
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
            broker_commit_interval=1.0,
            producer_linger=settings.producer_linger_ms / 1000.0,
            producer_max_batch_size=256 * 1024,
            stream_buffer_maxsize=8192,
            web_enabled=True,
            web_bind=settings.web_host,
            web_port=settings.web_port,
            web_host=settings.web_host,
            consumer_auto_offset_reset="earliest",
            # The embedded broker answers end offsets wrong across batches (docs/PITFALLS.md),
            # which makes Faust's check refuse a correct persisted offset at restart; on any
            # other cluster the check stays on.
            recovery_consistency_check=not tansu,
        )
        self.cases = CaseTable(self.app, n)
        self.table = self.cases.table
        self.commands = self.app.topic(
            self.topics.commands, key_serializer="raw", value_serializer="raw", partitions=n
        )
        self.pipeline = Pipeline(
            engine=self.engine,
            topics=self.topics,
            partitions=n,
            limits=IngestLimits(
                max_record_bytes=settings.max_record_bytes,
                max_batch=settings.max_batch_events,
                max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
                max_quote_bytes=settings.max_message_bytes // 4,
            ),
            metrics=self.metrics,
            read_state=self.cases.read_state,
            scan_partition=self.cases.scan_partition,
            retire_survivors=True,
            engine_at=self.rules.at,
        )
        self.kpi = KpiPublisher(self.engine.regions, self.topics.metrics)
        self.batches = 0
        self.transactions = (
            PartitionTransactions(
                client_kwargs(settings), settings.app_id, settings.producer_linger_ms
            )
            if exactly_once
            else None
        )
        self._fencing: Any = None
        self.reader = InputReader(
            client=client_kwargs(settings),
            topics=(self.topics.events_in, self.topics.feedback, self.topics.commands),
            handle=self.handle,
            store=self.cases.store,
            read_row=self.cases.get,
            may_read=self.cases.recovered,
            batch_max=BATCH_MAX,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            gather_ms=settings.input_gather_ms,
            client_id=f"{settings.app_id}-inputs",
            transactions=self.transactions,
            max_skew_s=settings.max_clock_skew_s,
            rules=self.rules_follower,
            # The embedded broker's fetches can skip offsets (docs/PITFALLS.md).
            holes=FetchHoles(enabled=tansu, name="inputs ", on_hole=self.metrics.fetch_hole),
        )
        cast(Any, self.app).before_stop = self._before_stop
        self._register()
        settle_startup_heap()

    def _load_bundle(self, bundle: RulesBundle) -> Engine:
        """A published bundle's engine, sharing the worker's one book of silences."""
        engine = load_bundle_engine(self.settings, bundle)
        engine.silences = self.engine.silences
        return engine

    # ------------------------------------------------------------- stopping
    async def _before_stop(self) -> None:
        """Finish the batch in flight, then publish the open KPI windows as partial records.

        Whoever takes the partitions over publishes the rest of those windows; consumers
        sum the partial records (docs/kpis.md). Without this a clean stop lost them.
        """
        await self.reader.stop()
        await self.rules_follower.stop()
        await self.silence_reader.stop()
        records = self.kpi.drain()
        try:
            await asyncio.wait_for(self._send(records), timeout=5.0)
        except Exception:
            # Stopping must not hang or crash on a KPI record: they are a dip, not a loss
            # of cases.
            log.warning(
                "could not publish %d open KPI windows at stop", len(records), exc_info=True
            )

    async def _send(self, records: Sequence[OutRecord]) -> None:
        """Produce output records in per-partition batches and await their delivery."""
        if records:
            # An OutRecord is the (topic, key, value, partition) tuple the sender reads.
            await send_batched(aiokafka_producer(self.app), records, on_refused=self._refused)

    def _refused(self, tp: TopicPartition, count: int, error: BaseException) -> None:
        # Outputs are bounded (a Rejection quotes a prefix), so this means a topic whose
        # max.message.bytes is below GRIDFLOW_MAX_MESSAGE_BYTES: an operator must know.
        self.metrics.output_refused(tp.topic, count)
        log.error(
            "the broker refused %d record(s) for %s[%d] as too large (%s); skipped. Check the "
            "topic's max.message.bytes against GRIDFLOW_MAX_MESSAGE_BYTES",
            count,
            tp.topic,
            tp.partition,
            error,
        )

    # ---------------------------------------------------------------- agents
    def _register(self) -> None:
        app = self.app

        @app.agent(self.commands, name="cases", concurrency=1)
        async def cases(stream: StreamT[bytes]) -> None:
            # Subscribing gives Faust the topic whose partitions decide where the case
            # table's partitions are active; the records are read by the input reader.
            # Faust's consumer would fetch and stream every one of them too (a town
            # announcement for each case opened: ~100 µs of worker CPU per event at
            # 1,000 events/s, docs/api.md "Speed") for this loop to drop: the first it
            # delivers of a partition stops it fetching that partition until the next
            # rebalance resumes it.
            async for event in stream.events():
                mute_partition(app, event.message.tp)

        self.cases_agent = cases

        @app.task
        async def read_inputs() -> None:
            await self.reader.run()

        @app.task
        async def read_silences() -> None:
            await self.silence_reader.run()

        @app.timer(interval=self.settings.tick_interval, on_leader=True)
        async def tick() -> None:
            try:
                for partition in range(self.settings.partitions):
                    await self.commands.send(value=TICK, partition=partition)
            except Exception as exc:
                # Faust crashes the whole worker on an exception in a timer (the gauges
                # timer did, in the chaos drill), and then no tick is sent at all; a tick
                # lost here is only a second late: deadlines live in the rows and the next
                # interval's tick checks them.
                log.warning("SLA ticks not sent (%s); the next interval sends them", exc)
                return
            # A leader whose timer stalls still reports itself the leader: only this
            # count standing still shows that no deadline is being checked.
            self.metrics.tick_sent()

        if self.settings.heap_sweep_s > 0:

            @app.timer(interval=self.settings.heap_sweep_s)
            async def heap_sweep() -> None:
                # Reference cycles among retired batch survivors are reclaimed only here.
                sweep()

        @app.timer(interval=2.0)
        async def gauges() -> None:
            # Observability must never take the worker down: Faust crashes the whole app
            # on an exception in a timer (seen in the chaos drill).
            try:
                await self._observe()
            except Exception:
                log.exception("metrics timer failed; continuing")

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
            await self.reader.revoke()
            self.pipeline.forget_partitions()
            # Faust revokes the commands topic's partitions; the reader reported lag and
            # position age for the same partitions of every input topic.
            gone = {tp.partition for tp in revoked if tp.topic == self.topics.commands}
            self.metrics.forget_partitions((t, p) for t in self.reader.topics for p in gone)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
            self.pipeline.forget_partitions()
            owned = {tp.partition for tp in assigned if tp.topic == self.topics.commands}
            if self.transactions is not None:
                # While recovery reads the changelog: starting the partitions' producers
                # fences their last owners and aborts a transaction a killed one left
                # open, which would hold read_committed readers back for a minute. On
                # the app's loop (this signal may run on the consumer thread's), and
                # not awaited: the rebalance must not wait for it.
                self._fencing = asyncio.run_coroutine_threadsafe(
                    self.transactions.own(frozenset(owned)), self.app.loop
                )
            self.reader.assign(owned, self.app.consumer_generation_id)
            self.metrics.set_assigned_partitions(len(owned))

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            return web.bytes(self.metrics.render(), content_type="text/plain; version=0.0.4")

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "ok", "version": __version__})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            ready = self.is_ready()
            return web.json({"ready": ready}, status=200 if ready else 503)

    def _observe_rules(self) -> None:
        version, label = self.rules.in_force(time.time())
        self.metrics.set_rules_in_force(version, label, len(self.rules.loaded_versions))

    async def _observe(self) -> None:
        self._observe_rules()
        self.metrics.set_open_cases(self.pipeline.open_cases_by_tier())
        self.metrics.set_ready(self.is_ready())
        # The tick timer runs on Faust's leader only; a group without one escalates
        # nothing and logs nothing, so every worker says whether it is the one.
        self.metrics.set_tick_leader(self.app.is_leader())
        self.metrics.set_recovery_progress(self.recovery_progress())
        ends = self.engine.rules.coverage_ends(datetime.now(UTC))
        self.metrics.set_calendar_covered_until(ends.timestamp())
        await self._kafka_gauges()
        # Every worker publishes its own partitions' share of the KPI windows.
        # Queued, not awaited: a broker outage must not stall the gauges behind a KPI send.
        for out in self.kpi.flush(time.time()):
            await self.app.producer.send(out.topic, out.key, out.value, None, None, None)

    def recovery_progress(self) -> float:
        """Share of the changelog records to recover that are recovered (1.0 when done)."""
        return self.cases.recovery_progress()

    async def _kafka_gauges(self) -> None:
        for p in self.reader.progress():
            self.metrics.set_partition_progress(p.topic, p.partition, p.lag, p.stored_age_s)

    def is_ready(self) -> bool:
        """Assigned, recovered and processing: what ``/readyz`` answers."""
        app = self.app
        return bool(
            app.consumer is not None
            and not app.rebalancing
            and self.cases.recovery_done()
            and self.reader.owned is not None
        )

    async def handle(self, records: list[InRecord], now: float) -> Rows:
        """Process one batch; deliver its outputs; return the state rows to store."""
        started = time.perf_counter()
        if records:
            # Every silence revision in force for these records must be in the book, on
            # the first run as on a replay (gridflow/runtime/silence_reader.py). A record
            # stamped ahead of this clock (CreateTime within GRIDFLOW_MAX_CLOCK_SKEW_S; never
            # with LogAppendTime) waits only for what exists now, or it would stall the
            # partition until the clock caught up (docs/silences.md, limits).
            newest = min(max(record.timestamp for record in records), time.time())
            await self.silence_reader.wait_complete(newest - SILENCE_LEAD_S)
        result = self.pipeline.process(records, now)
        await self._send(result.outputs)
        self.kpi.observe(result.facts)
        self.batches += 1
        self.metrics.observe_batch(len(records))
        self.metrics.observe_handler("cases", time.perf_counter() - started)
        return {
            partition: [(region.encode(), value) for region, value in regions.items()]
            for partition, regions in result.writes.items()
        }
