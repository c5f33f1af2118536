"""The Faust application: one stateful agent, one timer, the web endpoints.

Records flow: ``grid.events.in`` / ``grid.feedback`` / ``grid.cases.commands`` → the
``cases`` agent (batched) → :class:`agents.pipeline.Pipeline` → ``grid.dispositions`` and
``grid.events.dlq``; region rows in the ``cases`` table (changelog-backed). The timer only
emits tick commands into every partition; the partition's owner does the SLA work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
import weakref
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, cast

import faust
import orjson
from faust.streams import _current_event
from faust.types import EventT, StreamT

from agents import faust_patches
from agents.kpi import KpiPublisher
from agents.partitioning import partition_for
from agents.pipeline import BatchResult, Pipeline, TopicNames
from agents.records import InRecord
from gridflow import __version__
from gridflow.config import Settings
from gridflow.core.ingest import IngestLimits
from gridflow.kafka_client import COMMANDS_TOPIC, client_kwargs
from gridflow.metrics import Metrics
from gridflow.reference import load_engine

log = logging.getLogger("gridflow.worker")

TICK = b'{"k":"tick"}'
#: Records per processed batch at most, and how long a partial batch may wait (s).
BATCH_MAX = 500
BATCH_WITHIN = 0.005
#: A partition with a backlog and no commit for this long is reported and resumed.
STUCK_AFTER_S = 8.0
#: Exit status when outputs could not be delivered (EX_TEMPFAIL: restart me).
EXIT_UNDELIVERED = 75


def topic_names(settings: Settings) -> TopicNames:
    """The prefixed topic names of this deployment."""
    t = settings.topic
    return TopicNames(
        events_in=t("grid.events.in"),
        feedback=t("grid.feedback"),
        commands=t(COMMANDS_TOPIC),
        dispositions=t("grid.dispositions"),
        dlq=t("grid.events.dlq"),
        metrics=t("grid.metrics"),
    )


def _credentials(settings: Settings) -> Any:
    proto = settings.kafka_security_protocol
    if proto == "PLAINTEXT":
        return None
    ssl_context = None
    if proto in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        if settings.kafka_ssl_certfile:
            ssl_context.load_cert_chain(
                settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None
            )
    if proto == "SSL":
        return faust.SSLCredentials(ssl_context)
    mechanism = settings.kafka_sasl_mechanism
    if mechanism == "PLAIN":
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            ssl_context=ssl_context,
        )
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        ssl_context=ssl_context,
        mechanism=mechanism,
    )


class GridflowApp:
    """Builds the Faust app around a :class:`Pipeline`."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        if not settings.kafka_bootstrap:
            raise ValueError("GRIDFLOW_KAFKA_BOOTSTRAP is empty: start a broker or point at one")
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.topics = topic_names(settings)
        self.engine = load_engine(settings)
        self.metrics.set_build_info(__version__, self.engine.rules.version)
        faust_patches.install(settings.fetch_max_wait_ms, client_kwargs(settings))
        n = settings.partitions
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{b}" for b in settings.kafka_bootstrap.split(",")],
            broker_credentials=_credentials(settings),
            store=settings.store,
            datadir=str(settings.data_dir),
            topic_partitions=n,
            topic_replication_factor=settings.replication_factor,
            topic_allow_declare=True,
            table_standby_replicas=settings.standby_replicas,
            processing_guarantee=settings.processing_guarantee,
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
            # The embedded broker answers end offsets wrong across batches (PITFALLS.md),
            # which makes Faust's check refuse a correct persisted offset at restart.
            recovery_consistency_check=False,
        )
        self.table = self.app.Table(
            "cases",
            partitions=n,
            # key_type/value_type decide the changelog codec on recovery (the schema alone
            # does not): without them rows come back JSON-decoded, keys as int.
            key_type=bytes,
            value_type=bytes,
            schema=faust.Schema(
                key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            ),
        )
        self.source = self.app.topic(
            self.topics.events_in,
            self.topics.feedback,
            self.topics.commands,
            key_serializer="raw",
            value_serializer="raw",
            partitions=n,
        )
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
            ),
            metrics=self.metrics,
            read_state=self._read_state,
            scan_partition=self._scan_partition,
        )
        self.kpi = KpiPublisher(self.engine.regions, self.topics.metrics)
        self.batches = 0
        self._commit_seen: dict[Any, tuple[Any, float]] = {}
        self._committed_at: dict[Any, float] = {}
        self._register()
        self._clock_commits()

    # ------------------------------------------------------------ table glue
    def _read_state(self, region: str) -> bytes | None:
        value = self.table.get(region.encode())
        return _as_bytes(value) if value is not None else None

    def _scan_partition(self, partition: int) -> Mapping[str, bytes]:
        n = self.settings.partitions
        out: dict[str, bytes] = {}
        for key, value in self.table.items():
            region = key.decode() if isinstance(key, bytes) else str(key)
            if value is not None and partition_for(region, n) == partition:
                out[region] = _as_bytes(value)
        return out

    def _write(self, result: BatchResult, context: Mapping[int, EventT[Any]]) -> None:
        for partition, rows in result.writes.items():
            event = context.get(partition)
            if event is None:  # cannot happen: every write comes from a record of that partition
                log.error(
                    "no event context for partition %d; %d rows not written", partition, len(rows)
                )
                continue
            with _event_context(event):
                for region, value in rows.items():
                    key = region.encode()
                    if value is None:
                        if key in self.table:
                            del self.table[key]
                    else:
                        self.table[key] = value

    # ---------------------------------------------------------------- agents
    def _register(self) -> None:
        app = self.app

        @app.agent(self.source, name="cases", concurrency=1)
        async def cases(stream: StreamT[bytes]) -> None:
            batches = cast(Any, stream).take_events(BATCH_MAX, within=BATCH_WITHIN)
            async for events in batches:
                await self.handle(events)

        self.cases_agent = cases

        @app.timer(interval=self.settings.tick_interval, on_leader=True)
        async def tick() -> None:
            for partition in range(self.settings.partitions):
                await self.commands.send(value=TICK, partition=partition)

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
            self.pipeline.forget_partitions()
            self._commit_seen.clear()
            self.metrics.forget_partitions((tp.topic, tp.partition) for tp in revoked)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
            self.pipeline.forget_partitions()
            self.metrics.set_assigned_partitions(
                len({tp.partition for tp in assigned if tp.topic == self.topics.events_in})
            )

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

    async def _observe(self) -> None:
        self.metrics.set_open_cases(self.pipeline.open_cases_by_tier())  # type: ignore[arg-type]
        self.metrics.set_ready(self.is_ready())
        self.metrics.set_recovery_progress(self.recovery_progress())
        await self._kafka_gauges()
        # Every worker publishes its own partitions' share of the KPI windows.
        for out in self.kpi.flush(time.time()):
            await self.app.producer.send(out.topic, out.key, out.value, None, None, None)

    def _clock_commits(self) -> None:
        # Faust tells only its monitor when offsets are committed; wrap it to timestamp
        # each partition's last commit for the last-commit-age gauge.
        monitor = self.app.monitor
        original = monitor.on_tp_commit

        def on_tp_commit(tp_offsets: Any) -> None:
            original(tp_offsets)
            now = time.monotonic()
            for tp in tp_offsets:
                self._committed_at[tp] = now

        monitor.on_tp_commit = on_tp_commit  # type: ignore[method-assign]

    def recovery_progress(self) -> float:
        """Share of the changelog records to recover that are recovered (1.0 when done)."""
        recovery = cast(Any, self.app.tables).recovery
        if recovery.completed.is_set() and not recovery.in_recovery:
            return 1.0
        # Values are None for partitions whose offsets are not known yet.
        total = sum(v or 0 for v in recovery.active_highwaters.values())
        if not total:
            return 0.0
        done = sum(v or 0 for v in recovery.active_offsets.values())
        return float(min(1.0, done / total))

    async def _kafka_gauges(self) -> None:
        consumer = self.app.consumer
        sources = {self.topics.events_in, self.topics.feedback, self.topics.commands}
        committed = cast(Any, consumer)._committed_offset
        now = time.monotonic()
        try:
            assignment = consumer.assignment()
        except Exception:  # not started or mid-rebalance: try again next time
            return
        for tp in assignment:
            if tp.topic not in sources:
                continue
            try:
                # The fetch high watermark, not end_offsets(): the embedded broker answers
                # ListOffsets wrong across batches (PITFALLS.md).
                high = consumer.highwater(tp)
            except Exception:
                continue
            offset = committed.get(tp)
            seen = self._commit_seen.get(tp)
            if seen is None or seen[0] != offset:
                seen = (offset, now)
                self._commit_seen[tp] = seen
            lag = max(0, (high or 0) - (offset or 0))
            age = now - seen[1]
            last_commit = self._committed_at.get(tp, seen[1])
            self.metrics.set_partition_progress(tp.topic, tp.partition, lag, now - last_commit)
            if lag and age > STUCK_AFTER_S and not self.app.rebalancing:
                await self._unstick(tp, lag, age)

    async def _unstick(self, tp: Any, lag: int, age: float) -> None:
        """A partition with a backlog whose committed offset does not move: re-read it.

        Seen in the chaos drill: Faust's fetch loop advances its read offset past records
        whose delivery was interrupted by a rebalance's flow suspension, so they are never
        processed nor acknowledged; the acked list then starts above the committed offset
        and no commit happens again (and the records wait for the next restart). Seeking
        the partition back to its committed offset re-reads them; records already applied
        are recognised by id and change nothing.
        """
        consumer = cast(Any, self.app.consumer)
        acked = consumer._acked.get(tp)
        committed = consumer._committed_offset.get(tp)
        paused = tp in consumer._paused_partitions
        if paused:
            consumer.resume_partitions([tp])
        head_gap = bool(acked) and committed is not None and min(acked) > committed
        if head_gap:
            await consumer.seek(tp, committed)
        log.warning(
            "partition %s[%d]: %d records waiting, no commit for %.0f s "
            "(committed=%s first acked=%s paused=%s); %s",
            tp.topic,
            tp.partition,
            lag,
            age,
            committed,
            sorted(acked)[:3] if acked else [],
            paused,
            "re-reading from the committed offset" if head_gap else "watching",
        )
        self._commit_seen[tp] = (self._commit_seen[tp][0], time.monotonic())

    def is_ready(self) -> bool:
        """Assigned, recovered and processing: what ``/readyz`` answers."""
        app = self.app
        recovery = cast(Any, app.tables).recovery
        return bool(
            app.consumer is not None
            and not app.rebalancing
            and recovery.completed.is_set()
            and not recovery.in_recovery
        )

    async def handle(self, events: list[EventT[Any]]) -> None:
        """Process one batch of Faust events and publish what it produced."""
        started = time.perf_counter()
        records: list[InRecord] = []
        context: dict[int, EventT[Any]] = {}
        for event in events:
            msg = event.message
            records.append(
                InRecord(msg.topic, msg.partition, msg.offset, msg.timestamp, msg.key, msg.value)
            )
            context[msg.partition] = event
        result = self.pipeline.process(records, time.time())
        # Outputs are delivered before the state that remembers them is written: after a
        # crash in between, the replay finds no state and sends the same ids again (consumers
        # drop them), instead of finding state and sending nothing.
        producer = self.app.producer
        pending = [
            await producer.send(out.topic, out.key, out.value, out.partition, None, None)
            for out in result.outputs
        ]
        if pending:
            try:
                await asyncio.gather(*pending)
            except Exception:
                # Faust's take_events acknowledges a batch even when its handler raises, so
                # raising here would commit inputs whose outputs were never delivered. Dying
                # without a commit keeps at-least-once: the next owner reprocesses the batch.
                log.critical(
                    "could not deliver a batch's outputs; exiting without commit", exc_info=True
                )
                os._exit(EXIT_UNDELIVERED)
        self._write(result, context)
        self.kpi.observe(result.dispositions)
        self.batches += 1
        self.metrics.observe_batch(len(records))
        self.metrics.observe_handler("cases", time.perf_counter() - started)


def _as_bytes(value: Any) -> bytes:
    # Rows written in this process are bytes; rows recovered from the changelog come back
    # already JSON-decoded by Faust's changelog reader. All are the same document.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


@contextlib.contextmanager
def _event_context(event: EventT[Any]) -> Iterator[None]:
    # Table writes take their changelog partition from the current event; a batch mixes
    # partitions, so each region is written under an event of its own partition.
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
