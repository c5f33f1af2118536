"""The hot path: a batch of consumed records in, records to produce and state changes out.

No Faust here: the input reader hands over plain records and writes back what this returns,
so the whole path is testable without a broker and runs without an await per record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from pydantic import ValidationError

from gridflow.core.bounded_cache import remember
from gridflow.core.compact_json import dumps_compact
from gridflow.core.crossvillage import (
    REPLAY_HORIZON_S,
    Joined,
    OpenedCase,
    TownState,
    decide,
    is_town_key,
    town_key,
)
from gridflow.core.dlq_original import bounded_detail, quote_original
from gridflow.core.due_index import DueIndex
from gridflow.core.engine import Engine, Outcome
from gridflow.core.facts import StepFact, StepKind
from gridflow.core.ids import region_of_case
from gridflow.core.ingest import IngestLimits, Reject, decode_events, decode_feedback, schema_detail
from gridflow.core.region_state import RegionState, SlaState
from gridflow.metrics import Metrics
from gridflow.runtime.heap import batch_collector
from gridflow.runtime.partitioning import partition_for
from gridflow.runtime.records import InRecord, OutRecord
from gridflow.topics import TopicNames
from schemas import Disposition, DispositionAction, Feedback, GridEvent, Rejection, RejectReason
from schemas.common import Tier
from schemas.silence import Silence

log = logging.getLogger("gridflow.pipeline")

#: Steps that finish a case (counted in ``gridflow_cases_closed_total``).
_FINISHING = frozenset({StepKind.CLOSED, StepKind.CANCELLED})
_OPENED, _JOINED = StepKind.OPENED, StepKind.JOINED
#: Commands of the cross-village stage (跨村合并, gridflow/core/crossvillage.py): a case
#: opened (to its town's row), absorb it (to its village), join the survivor (to its village).
CMD_TOWN_CASE, CMD_ABSORB, CMD_JOIN = "xv.case", "xv.absorb", "xv.join"
#: A report under a silence held by a centre above its village, to the centre's row
#: (屏蔽, one known-matter case per silence: gridflow/core/silences.py).
CMD_SILENCED = "sl.report"
#: Steps of a silenced or inhibited report (counted per silence and per rule).
_QUIETED = frozenset({StepKind.SILENCED, StepKind.INHIBITED})
#: Town announcements remembered with their parse until read back (a few batches' worth).
_ANNOUNCED_KEPT = 8192
#: Category codes whose merge limits are remembered (the catalogue's, and a few unknown).
_LIMITS_KEPT = 4096


@dataclass(slots=True)
class BatchResult:
    """What one batch produced."""

    outputs: list[OutRecord] = field(default_factory=list)
    #: partition -> region -> serialised state (None: delete the row)
    writes: dict[int, dict[str, bytes | None]] = field(default_factory=dict)
    dispositions: list[Disposition] = field(default_factory=list)
    #: what each disposition's step did (``facts[i]`` belongs to ``dispositions[i]``).
    facts: list[StepFact] = field(default_factory=list)


StateReader = Callable[[str], bytes | None]
TableScan = Callable[[int], Mapping[str, bytes]]


class Pipeline:
    """Validates, re-keys and applies records; owns the per-partition caches and timers."""

    def __init__(
        self,
        engine: Engine,
        topics: TopicNames,
        partitions: int,
        limits: IngestLimits,
        metrics: Metrics,
        read_state: StateReader,
        scan_partition: TableScan,
        retire_survivors: bool = False,
        engine_at: Callable[[float], Engine] | None = None,
    ) -> None:
        """``engine_at``: the engine in force at a record's timestamp (hot reload,
        :class:`gridflow.runtime.rules_timeline.RulesTimeline`); without it ``engine``
        decides everything."""
        self.engine = engine
        self.engine_at: Callable[[float], Engine] = engine_at or (lambda ts: engine)
        #: id(engine) -> (engine, its villages, its networks), for validation
        self._known: dict[int, tuple[Engine, frozenset[str], Any]] = {}
        #: Freeze what each batch leaves alive (gridflow.runtime.heap): for a worker, which sweeps.
        self.retire_survivors = retire_survivors
        self.topics = topics
        self.partitions = partitions
        self.limits = limits
        self.metrics = metrics
        self._read_state = read_state
        self._scan_partition = scan_partition
        self._states: dict[int, dict[str, RegionState]] = {}
        self._towns: dict[int, dict[str, TownState]] = {}
        #: village -> the key of its town's row (cross-village merges happen within a town).
        self._town_of = {
            r.code: town_key(engine.regions.ancestor(r.code, Tier.TOWN))
            for r in engine.regions.by_tier(Tier.VILLAGE)
        }
        self._due: dict[int, DueIndex] = {}
        #: the value of each town announcement this pipeline wrote -> the command as
        #: reading it back parses it (see :meth:`_command`).
        self._announced: dict[bytes, dict[str, Any]] = {}
        self._category_limits: dict[str, tuple[float, float] | None] = {}
        self._clock_at = 0.0
        self._clock = datetime.fromtimestamp(0.0, UTC)
        # Per-batch tallies, handed to the metrics once per label set when the batch ends.
        self._events_by_network: dict[str, int] = {}
        #: (action, tier, closes a case) -> dispositions
        self._disposition_tally: dict[tuple[DispositionAction, Tier, bool], int] = {}
        #: (action, input record timestamp) -> dispositions with that ingest latency
        self._latency_tally: dict[tuple[DispositionAction, float], int] = {}

    # ------------------------------------------------------------ rebalances
    def forget_partitions(self) -> None:
        """Drop caches and timers after a rebalance; they are rebuilt from the table on use."""
        self._states.clear()
        self._towns.clear()
        self._due.clear()

    def open_cases_by_tier(self) -> dict[tuple[str, SlaState], int]:
        """(tier, sla_state) -> open cases, over the cached active partitions.

        Sums each region's remembered tally (recounted only for regions a batch changed):
        at a million open cases a walk over every case took ~0.5 s of the event loop
        every time the gauges were read.
        """
        counts: dict[tuple[str, SlaState], int] = {}
        for states in self._states.values():
            for state in states.values():
                for key, count in state.open_tally().items():
                    counts[key] = counts.get(key, 0) + count
        return counts

    # ------------------------------------------------------------------ state
    def _state(self, partition: int, region: str) -> RegionState:
        states = self._states.get(partition)
        if states is None:
            states = self._states[partition] = {}
        state = states.get(region)
        if state is None:
            raw = self._read_state(region)
            state = RegionState.from_bytes(raw) if raw else RegionState(region=region)
            states[region] = state
        return state

    def _town(self, partition: int, key: str) -> TownState:
        towns = self._towns.get(partition)
        if towns is None:
            towns = self._towns[partition] = {}
        town = towns.get(key)
        if town is None:
            raw = self._read_state(key)
            town = TownState.from_bytes(raw) if raw else TownState(town=key)
            towns[key] = town
        return town

    def _limits(self, code: str) -> tuple[float, float] | None:
        # Remembered per code: the town stage asks for every case it decides on and keeps
        # (``self.engine``, whose catalogue this reads, is the pipeline's for its life).
        try:
            return self._category_limits[code]
        except KeyError:
            pass
        category = self.engine.catalogue.get(code)
        limits = None if category is None else (category.merge_radius_m, category.merge_window_s)
        return remember(self._category_limits, _LIMITS_KEPT, code, limits)

    def _due_index(self, partition: int) -> DueIndex:
        index = self._due.get(partition)
        if index is None:
            # First use since assignment: the table is recovered by now (Faust resumes
            # streams only after recovery), so one scan rebuilds this partition's timers.
            index = DueIndex()
            states = self._states.setdefault(partition, {})
            for region, raw in self._scan_partition(partition).items():
                state = states.get(region) or RegionState.from_bytes(raw)
                states[region] = state
                for case in state.cases.values():
                    due = case.next_due()
                    if due is not None:
                        index.push(due, (region, case.id))
            self._due[partition] = index
        return index

    # ------------------------------------------------------------------ batch
    def process(self, records: list[InRecord], now: float) -> BatchResult:
        """Apply a batch. ``now`` is the wall clock, used only for ticks and validation."""
        result = BatchResult()
        dirty: dict[int, set[str]] = {}
        with batch_collector(self.retire_survivors), self.metrics.batched():
            self._events_by_network.clear()
            self._disposition_tally.clear()
            self._latency_tally.clear()
            for rec in records:
                try:
                    self._one(rec, now, result, dirty)
                except Exception as exc:  # a bug must not stop the stream: DLQ it with the reason
                    log.exception(
                        "unexpected error on %s[%d]@%d", rec.topic, rec.partition, rec.offset
                    )
                    self._dlq(
                        result,
                        rec,
                        Reject(
                            RejectReason.SCHEMA,
                            f"internal error: {type(exc).__name__}: {exc}",
                            rec.value or b"",
                        ),
                    )
            self._flush_tallies()
        for partition, regions in dirty.items():
            states = self._states.get(partition, {})
            writes = result.writes.setdefault(partition, {})
            for region in regions:
                if is_town_key(region):
                    town = self._towns[partition][region]
                    writes[region] = None if town.empty else town.to_bytes()
                    continue
                state = states[region]
                state.forget_tally()
                writes[region] = None if state.empty else state.to_bytes()
        return result

    def _one(
        self, rec: InRecord, now: float, result: BatchResult, dirty: dict[int, set[str]]
    ) -> None:
        topic = rec.topic
        if topic == self.topics.events_in:
            self._events_in(rec, now, result, dirty)
        elif topic == self.topics.feedback:
            self._feedback_in(rec, result, dirty)
        elif topic == self.topics.commands:
            self._command(rec, now, result, dirty)
        else:
            log.warning("record from unexpected topic %s", topic)

    def _events_in(
        self, rec: InRecord, now: float, result: BatchResult, dirty: dict[int, set[str]]
    ) -> None:
        if now != self._clock_at:  # one conversion per batch, not per record
            self._clock_at, self._clock = now, datetime.fromtimestamp(now, UTC)
        engine = self.engine_at(rec.timestamp)
        known = self._known.get(id(engine))
        if known is None:
            villages = frozenset(r.code for r in engine.regions.by_tier(Tier.VILLAGE))
            known = self._known[id(engine)] = (engine, villages, engine.catalogue.networks)
        events, rejects = decode_events(
            rec.value,
            known_region=known[1],
            known_network=known[2],
            now=self._clock,
            limits=self.limits,
        )
        for reject in rejects:
            self._dlq(result, rec, reject)
        counted = self._events_by_network
        for event in events:
            network = event.source_network
            counted[network] = counted.get(network, 0) + 1
            home = partition_for(event.region_code, self.partitions)
            if home != rec.partition:
                self._forward(
                    result,
                    event.region_code,
                    "event",
                    event.model_dump(mode="json", exclude_none=True),
                    rec,
                )
                continue
            outcome = engine.apply_event(self._state(home, event.region_code), event, rec.timestamp)
            self._apply(outcome, home, event.region_code, rec, result, dirty)

    def _feedback_in(self, rec: InRecord, result: BatchResult, dirty: dict[int, set[str]]) -> None:
        items, rejects = decode_feedback(
            rec.value,
            known_center=self.engine_at(rec.timestamp).knows_centre,
            limits=self.limits,
        )
        for reject in rejects:
            self._dlq(result, rec, reject)
        # A record of one feedback travels with its bytes when it is re-keyed, so a refusal
        # on the home partition can carry them; the items of a batch record do not (each
        # would carry the whole batch), their refusals carry the item as parsed.
        raw = rec.value if len(items) == 1 else None
        for fb in items:
            self._feedback(fb, rec, result, dirty, raw=raw, origin=rec)

    def _feedback(
        self,
        fb: Feedback,
        rec: InRecord,
        result: BatchResult,
        dirty: dict[int, set[str]],
        raw: bytes | None,
        origin: InRecord,
    ) -> None:
        """Apply ``fb`` read from ``rec``; ``origin``: the record as its producer sent it
        (``rec`` itself, or the grid.feedback record a re-keyed command came from), which a
        refusal names; ``raw``: that record's bytes, when known."""
        self.metrics.feedback_applied(fb.action.value)
        region = region_of_case(fb.case_id)
        if region is None:
            self._dlq(
                result,
                origin,
                Reject(
                    RejectReason.UNKNOWN_CASE,
                    f"case_id {fb.case_id!r} is not a gridflow case id",
                    raw or _dump(fb),
                ),
            )
            return
        home = partition_for(region, self.partitions)
        if home != rec.partition:
            self._forward(
                result,
                region,
                "feedback",
                fb.model_dump(mode="json", exclude_none=True),
                rec,
                origin=origin,
                raw=raw,
            )
            return
        engine = self.engine_at(rec.timestamp)
        outcome = engine.apply_feedback(self._state(home, region), fb, rec.timestamp)
        if outcome.reject is not None:
            reason, detail = outcome.reject
            self._dlq(result, origin, Reject(reason, detail, raw or origin.value or _dump(fb)))
            return
        self._apply(outcome, home, region, rec, result, dirty)

    def _command(
        self, rec: InRecord, now: float, result: BatchResult, dirty: dict[int, set[str]]
    ) -> None:
        # A town announcement this pipeline wrote comes back as the same bytes, whose
        # parse it kept: the command is the same either way (a pure function of the
        # bytes), and it is still decided here, in the order of the commands partition,
        # so a replay after a crash (which parses them) decides alike.
        known = self._announced.pop(rec.value, None) if rec.value else None
        try:
            doc = known if known is not None else orjson.loads(rec.value or b"")
            kind = doc["k"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self._dlq(
                result,
                rec,
                Reject(RejectReason.INVALID_JSON, f"bad command: {exc}", rec.value or b""),
            )
            return
        if kind == "tick":
            # A tick acts at the time it was emitted, not when it is read: replayed after a
            # crash, it sees the deadlines as they were then, not a backlog of misses.
            self._tick(rec.partition, min(rec.timestamp, now), result, dirty)
            return
        if kind == CMD_SILENCED:
            try:
                self._silenced(doc, rec, result, dirty)
            except (ValueError, KeyError, TypeError) as exc:  # ValidationError is a ValueError
                self._dlq(
                    result,
                    rec,
                    Reject(RejectReason.SCHEMA, f"bad {kind} command: {exc}", rec.value or b""),
                )
            return
        if kind in _CROSS_VILLAGE:
            try:
                self._cross_village(kind, doc, rec, result, dirty)
            except (ValueError, KeyError, TypeError) as exc:
                self._dlq(
                    result,
                    rec,
                    Reject(RejectReason.SCHEMA, f"bad {kind} command: {exc}", rec.value or b""),
                )
            return
        body = doc.get("v")
        origin, original = _origin(rec, doc)
        raw = original if original is not None else orjson.dumps(body)
        try:
            if kind == "event":
                event = GridEvent.model_validate(body)
                home = partition_for(event.region_code, self.partitions)
                if home != rec.partition:  # partition count changed under us: forward again
                    self._forward(result, event.region_code, "event", body, rec, origin=origin)
                    return
                ts = float(doc.get("ts", rec.timestamp))
                outcome = self.engine_at(ts).apply_event(
                    self._state(home, event.region_code), event, ts
                )
                self._apply(outcome, home, event.region_code, rec, result, dirty)
            elif kind == "feedback":
                fb = Feedback.model_validate(body)
                ts = float(doc.get("ts", rec.timestamp))
                self._feedback(fb, _retimed(rec, ts), result, dirty, raw=original, origin=origin)
            else:
                self._dlq(
                    result,
                    rec,
                    Reject(RejectReason.SCHEMA, f"unknown command kind {kind!r}", rec.value or b""),
                )
        except ValidationError as exc:
            self._dlq(result, origin, Reject(RejectReason.SCHEMA, schema_detail(exc), raw))

    # ------------------------------------------------------------- silences
    def _to_silence(self, silenced: tuple[Silence, GridEvent, float], result: BatchResult) -> None:
        """Send a silenced report to the row of its silence's centre (one case there)."""
        silence, event, at = silenced
        doc = {
            "k": CMD_SILENCED,
            "v": event.model_dump(mode="json", exclude_none=True),
            # The revision that decided, so the centre's row needs no look-up by time.
            "s": silence.model_dump(mode="json"),
            "ts": at,
        }
        key = silence.center_code.encode()
        result.outputs.append(OutRecord(self.topics.commands, key, orjson.dumps(doc)))

    def _silenced(
        self, doc: dict[str, Any], rec: InRecord, result: BatchResult, dirty: dict[int, set[str]]
    ) -> None:
        key = (rec.key or b"").decode()
        if not (len(key) == 12 and key.isdigit()):
            raise ValueError(f"keyed {key!r}, not a centre's region code")
        if partition_for(key, self.partitions) != rec.partition:
            # The partition count changed under us: send it on to its key's partition.
            result.outputs.append(OutRecord(self.topics.commands, key.encode(), rec.value or b""))
            return
        ts = float(doc["ts"])
        silence = Silence.model_validate(doc["s"])
        if silence.center_code != key:
            raise ValueError(f"silence {silence.silence_id} is held by {silence.center_code}")
        event = GridEvent.model_validate(doc["v"])
        state = self._state(rec.partition, key)
        outcome = self.engine_at(ts).apply_silenced(state, event, silence, ts)
        self._apply(outcome, rec.partition, key, rec, result, dirty)

    # ------------------------------------------------------- across villages
    def _announce(self, fact: StepFact, disp: Disposition, result: BatchResult) -> None:
        """Tell the town stage about a case opened with coordinates (跨村合并)."""
        town = self._town_of.get(fact.region)
        if town is None or disp.lat is None or disp.lon is None or disp.category is None:
            return
        reported = disp.reported_at.timestamp() if disp.reported_at else fact.at
        # OpenedCase(...).to_doc() written out: the list without the tuple made first.
        body: list[Any] = [
            fact.case_id,
            fact.region,
            disp.category,
            disp.lat,
            disp.lon,
            reported,
            fact.at,
        ]
        if disp.priority is not None:
            body.append(disp.priority.value)
        # Sized to its length: it is kept until it is read back.
        value = dumps_compact({"k": CMD_TOWN_CASE, "v": body, "ts": fact.at})
        result.outputs.append(OutRecord(self.topics.commands, town.encode(), value))
        # As _command and OpenedCase.from_doc parse these bytes (orjson writes and reads
        # a float back exactly).
        opened = OpenedCase(
            str(fact.case_id),
            str(fact.region),
            str(disp.category),
            float(disp.lat),
            float(disp.lon),
            float(reported),
            float(fact.at),
            disp.priority.value if disp.priority is not None else "",
        )
        parsed = {"k": CMD_TOWN_CASE, "v": opened, "ts": float(fact.at)}
        remember(self._announced, _ANNOUNCED_KEPT, value, parsed)

    def _cross_village(
        self,
        kind: str,
        doc: dict[str, Any],
        rec: InRecord,
        result: BatchResult,
        dirty: dict[int, set[str]],
    ) -> None:
        """One step of a merge across village lines, in the partition of its row's key."""
        key = (rec.key or b"").decode()
        ts = float(doc["ts"])
        if partition_for(key, self.partitions) != rec.partition:
            # The partition count changed under us: send it on to its key's partition.
            out = OutRecord(self.topics.commands, key.encode(), rec.value or b"")
            result.outputs.append(out)
            return
        body = doc["v"]
        if kind == CMD_TOWN_CASE:
            if not is_town_key(key):
                raise ValueError(f"{kind} keyed {key!r}, not a town row")
            town = self._town(rec.partition, key)
            decision = decide(
                town,
                # Parsed already when this pipeline announced it (_command).
                body if isinstance(body, OpenedCase) else OpenedCase.from_doc(body),
                ts,
                limits=self._limits,
                compatible=self.engine.catalogue.compatible,
                retention_s=REPLAY_HORIZON_S,
                # The bundle in force at the announcement's time: a replay decides alike.
                inhibit=self.engine_at(ts).inhibitions,
            )
            if decision.duplicate:
                return
            _mark(dirty, rec.partition, key)
            absorb = decision.absorb
            if absorb is not None:
                self.metrics.case_merged_across_villages()
                step: dict[str, Any] = {
                    "case": absorb.absorbed.case_id,
                    "into": absorb.survivor.case_id,
                }
                if absorb.rule is not None:
                    step["rule"] = absorb.rule
                cmd = {"k": CMD_ABSORB, "v": step, "ts": ts}
                result.outputs.append(
                    OutRecord(
                        self.topics.commands, absorb.absorbed.region.encode(), orjson.dumps(cmd)
                    )
                )
            return
        if not (len(key) == 12 and key.isdigit()):
            raise ValueError(f"{kind} keyed {key!r}, not a region")
        state = self._state(rec.partition, key)
        if kind == CMD_ABSORB:
            survivor = str(body["into"])
            rule = body.get("rule")
            rule = None if rule is None else str(rule)
            outcome, joined = self.engine.apply_absorb(
                state, str(body["case"]), survivor, ts, inhibit_rule=rule
            )
            self._apply(outcome, rec.partition, key, rec, result, dirty)
            home = region_of_case(survivor)
            if joined is not None and home is not None:
                join: dict[str, Any] = {"into": survivor, "joined": joined.to_doc()}
                if rule is not None:
                    join["rule"] = rule
                cmd = {"k": CMD_JOIN, "v": join, "ts": ts}
                result.outputs.append(
                    OutRecord(self.topics.commands, home.encode(), orjson.dumps(cmd))
                )
            return
        rule = body.get("rule")
        outcome = self.engine.apply_join(
            state,
            str(body["into"]),
            Joined.from_doc(body["joined"]),
            ts,
            inhibit_rule=None if rule is None else str(rule),
        )
        if outcome.reject is not None:
            reason, detail = outcome.reject
            self._dlq(result, rec, Reject(reason, detail, rec.value or b""))
            return
        self._apply(outcome, rec.partition, key, rec, result, dirty)

    def _tick(
        self, partition: int, now: float, result: BatchResult, dirty: dict[int, set[str]]
    ) -> None:
        index = self._due_index(partition)
        engine = self.engine_at(now)
        for key in index.pop_due(now):
            region, case_id = cast(tuple[str, str], key)
            state = self._state(partition, region)
            outcome = engine.apply_tick(state, case_id, now)
            tick_rec = InRecord(self.topics.commands, partition, -1, now, None, None)
            self._apply(outcome, partition, region, tick_rec, result, dirty)

    # ---------------------------------------------------------------- outputs
    def _apply(
        self,
        outcome: Outcome,
        partition: int,
        region: str,
        rec: InRecord,
        result: BatchResult,
        dirty: dict[int, set[str]],
    ) -> None:
        if outcome.duplicate:
            self.metrics.duplicate(outcome.duplicate)  # type: ignore[arg-type]
        if outcome.changed:
            _mark(dirty, partition, region)
        if outcome.silenced is not None:
            self._to_silence(outcome.silenced, result)
        index = self._due.get(partition)
        if index is not None:
            for due, case_id in outcome.due:
                index.push(due, (region, case_id))
        if not outcome.dispositions:
            return
        tally = self._disposition_tally
        latencies = self._latency_tally
        # Timer-driven steps have no input record: they stay out of the latency histogram.
        timed = rec.offset >= 0
        timestamp = rec.timestamp
        topic = self.topics.dispositions
        outputs = result.outputs
        result.facts += outcome.facts
        for disp, fact in zip(outcome.dispositions, outcome.facts, strict=True):
            result.dispositions.append(disp)
            if fact.kind is _OPENED:
                self._announce(fact, disp, result)
            action = disp.action
            kind = fact.kind
            closes = kind in _FINISHING
            if kind in _QUIETED or (kind is _JOINED and fact.inhibit_rule is not None):
                self._count_quieted(fact)
            key = (action, disp.tier, closes)
            tally[key] = tally.get(key, 0) + 1
            if timed:
                at = (action, timestamp)
                latencies[at] = latencies.get(at, 0) + 1
            outputs.append(
                OutRecord(topic, disp.center_code.encode(), dumps_compact(_disposition_doc(disp)))
            )

    def _count_quieted(self, fact: StepFact) -> None:
        if fact.silence is not None:
            self.metrics.report_silenced(fact.silence)
        elif fact.inhibit_rule is not None:
            self.metrics.report_inhibited(fact.inhibit_rule)

    def _flush_tallies(self) -> None:
        metrics = self.metrics
        for network, count in self._events_by_network.items():
            metrics.event_in(network, count)
        for (action, tier_enum, closes), count in self._disposition_tally.items():
            tier = tier_enum.value
            metrics.dispositions_published(action.value, tier, count)
            if action is DispositionAction.DISPATCH:
                metrics.case_opened(tier, count)
            elif action is DispositionAction.MERGE:
                metrics.case_merged(tier, count)
            elif action is DispositionAction.ESCALATE:
                metrics.escalated(tier, count)
            elif action is DispositionAction.SLA_WARNING:
                metrics.sla_warning(tier, count)
            elif action is DispositionAction.SLA_BREACH:
                metrics.sla_breach(count)
            elif closes:
                metrics.case_closed(tier, count)
        # The dispositions go out when the batch is done: that is when their latency ends.
        wall = _wall()
        for (action, timestamp), count in self._latency_tally.items():
            metrics.observe_latency(action.value, wall - timestamp, count)

    def _forward(
        self,
        result: BatchResult,
        region: str,
        kind: str,
        body: Any,
        rec: InRecord,
        *,
        origin: InRecord | None = None,
        raw: bytes | None = None,
    ) -> None:
        """Re-key ``body`` to ``region``'s partition through the commands topic.

        The command names the record as its producer sent it (``src``: topic, partition,
        offset of ``origin``) and, given ``raw``, carries its bytes (``raw``, UTF-8 text:
        they parsed as JSON), so a refusal on the home partition reads as on any other.
        """
        source = origin or rec
        doc: dict[str, Any] = {
            "k": kind,
            "v": body,
            "ts": rec.timestamp,
            "src": [source.topic, source.partition, source.offset],
        }
        if raw is not None:
            # It parsed as JSON, so it is UTF-8; were it not, the parsed body would stand.
            with contextlib.suppress(UnicodeDecodeError):
                doc["raw"] = raw.decode("utf-8")
        result.outputs.append(OutRecord(self.topics.commands, region.encode(), orjson.dumps(doc)))

    def _dlq(self, result: BatchResult, rec: InRecord, reject: Reject) -> None:
        self.metrics.rejected(reject.reason.value)
        quote = quote_original(reject.original, self.limits.max_quote_bytes)
        rejection = Rejection(
            reason=reject.reason,
            detail=bounded_detail(reject.detail),
            source_topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            original=quote.text,
            at=datetime.now(UTC),
            original_base64=quote.base64,
            batch_index=reject.batch_index,
            original_truncated=quote.truncated,
        )
        result.outputs.append(
            OutRecord(self.topics.dlq, rec.key, orjson.dumps(rejection.model_dump(mode="json")))
        )


_CROSS_VILLAGE = frozenset({CMD_TOWN_CASE, CMD_ABSORB, CMD_JOIN})


def _mark(dirty: dict[int, set[str]], partition: int, key: str) -> None:
    """``key``'s row in ``partition`` is written when the batch ends."""
    keys = dirty.get(partition)
    if keys is None:
        dirty[partition] = {key}
    else:
        keys.add(key)


def _wall() -> float:
    return time.time()


def _origin(rec: InRecord, doc: dict[str, Any]) -> tuple[InRecord, bytes | None]:
    """The record a command was re-keyed from, and its bytes when the command carries them.

    Commands written before ``src``/``raw`` were carried name themselves.
    """
    src = doc.get("src")
    raw = doc.get("raw")
    original = raw.encode("utf-8") if isinstance(raw, str) else None
    try:
        topic, partition, offset = src  # type: ignore[misc]
        origin = InRecord(str(topic), int(partition), int(offset), rec.timestamp, rec.key, original)
    except (TypeError, ValueError):
        return rec, original
    return origin, original


def _retimed(rec: InRecord, ts: float) -> InRecord:
    return InRecord(rec.topic, rec.partition, rec.offset, ts, rec.key, rec.value)


def _dump(model: Feedback) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))


#: The fields a disposition leaves out when they are None (every other one is always set).
_NULLABLE = tuple(name for name, info in Disposition.model_fields.items() if info.default is None)


def _disposition_doc(disp: Disposition) -> dict[str, Any]:
    # model_construct skipped validation on the hot path; orjson writes the same JSON as
    # model_dump(mode="json") would (enums as values, aware datetimes as RFC 3339).
    # A copy with the None fields deleted keeps the field order and costs half of a
    # comprehension over every field.
    values = disp.__dict__
    doc = values.copy()
    for name in _NULLABLE:
        if values.get(name, doc) is None:
            del doc[name]
    return doc


__all__ = ["BatchResult", "Pipeline"]
