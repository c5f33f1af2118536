"""Verify a chaos run from what was produced and what the output topics hold.

Pure: lists of plain records in, a :class:`Verdict` out, so every rule is unit-tested on
hand-made lists (``tests/tools/chaos/test_checker.py``). What it checks, after dropping raw
duplicates by ``disposition_id`` (at-least-once delivery re-sends records; consumers drop
them by id, as the contract says):

* **lost / split events**: every valid event id (kinds ``valid``, ``duplicate``, ``resend``,
  ``boundary``) is in the ``events`` of exactly one case (the union over the case's
  dispositions); a case merged into another across a village line (its ``state``
  disposition names ``merged_into``) counts as the case that took it over;
* **split across villages**: a ``boundary`` report (an incident reported again under a
  neighbouring village) must end in the same case as the report it repeats, unless the
  documented rules put them apart (counted, not failed; :func:`explain_split`): one of
  the two reached its village after the case holding the other had been closed there (a
  finished case takes no more reports of its village, while a neighbour's report still
  joins it), or each was attached to a case it did not open and the two cases lie about
  equally near (nearest-match of two reports up to 40 m apart may pick either);
* **one disposition per logical transition**: one ``dispatch`` per case, one ``merge`` per
  merged event id, one ``escalate`` per (case, tier) — counted by *distinct* ids;
* **conflicting ids**: one ``disposition_id`` carrying two different transitions (a
  consumer dropping duplicates by id would lose one of them);
* **feedback**: every feedback sent (unique ``feedback_id`` on ``grid.feedback``) is
  reflected by a disposition of its case (``state`` / ``reroute`` / ``escalate``) or is in
  the DLQ with a reason; more reflections than feedback are duplicate transitions;
* **DLQ**: every malformed input record is rejected, counted by reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import orjson

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.crossvillage import MergeLinks
from gridflow.core.geo import haversine_m
from gridflow.core.ids import region_of_case
from gridflow.core.inhibition import INHIBIT_FILE, InhibitRules
from gridflow.simulator.events import DUPLICATE_MAX_M
from gridflow.topics import EVENTS_IN

VALID_KINDS = frozenset({"valid", "duplicate", "resend", "boundary"})
BOUNDARY = "boundary"
MALFORMED_PREFIX = "malformed:"
#: How many example ids each finding keeps for the report.
EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Sent:
    """One record produced to ``grid.events.in`` and what it was meant to be."""

    kind: str
    #: the GridEvent ids in the record (empty for malformed records).
    event_ids: tuple[str, ...] = ()
    #: ``duplicate`` / ``resend`` / ``boundary``: the event id of the report it repeats.
    original_id: str | None = None

    @property
    def reason(self) -> str | None:
        """The DLQ reason a malformed record must get."""
        return (
            self.kind[len(MALFORMED_PREFIX) :] if self.kind.startswith(MALFORMED_PREFIX) else None
        )


def reflected_kind(disp: Mapping[str, Any]) -> str | None:
    """The feedback action a disposition reflects, or ``None`` when no feedback drove it."""
    action = disp.get("action")
    reason = str(disp.get("reason") or "")
    if action == "reroute":
        return "take_over" if reason.startswith("taken over") else "return"
    if action == "escalate":
        return "escalate" if reason.startswith("asked up by") else None
    if action != "state" or reason.startswith("inform"):
        return None
    if reason == "accepted":
        return "accept"
    if reason == "resolved":
        return "resolve"
    if reason == "verified":
        return "verify"
    if reason.startswith("rework"):
        return "reject_resolution"
    if reason == "closed":
        return "close"
    if reason.startswith("cancelled"):
        return "cancel"
    if reason == "reopened":
        return "reopen"
    if reason.startswith("extended"):
        return "extend"
    if reason.startswith("回访"):
        return "revisit"
    return None


def merged_event(disp: Mapping[str, Any]) -> str | None:
    """The event id a ``merge`` disposition is about (from its id, else its last event)."""
    did = str(disp.get("disposition_id") or "")
    case = str(disp.get("case_id") or "")
    prefix = f"{case}/merge/"
    if case and did.startswith(prefix):
        return did[len(prefix) :]
    events = disp.get("events") or []
    return str(events[-1]) if events else None


def _keyed(did: str, disp: Mapping[str, Any]) -> bool:
    """True for ids named by what the step is (merge, escalate and its 督办 notice, inform,
    SLA timer steps).

    Counter-numbered ids (``<case>/<n>/<action>``) are the others."""
    rest = did[len(str(disp.get("case_id") or "")) :]
    return rest.startswith(
        (
            "/merge/",
            "/escalate/",
            "/supervised/",
            "/inform/",
            "/sla_warning/",
            "/sla_breach/",
            "/xmerge/",
            "/merged_into/",
        )
    )


def _signature(disp: Mapping[str, Any]) -> tuple[Any, ...]:
    # What one logical transition is: replays may differ in ``at``/``deadline`` (ticks use
    # the wall clock) and in how many events had merged by then, never in these.
    return (
        disp.get("case_id"),
        disp.get("action"),
        disp.get("tier"),
        disp.get("center_code"),
        disp.get("state"),
        reflected_kind(disp),
    )


@dataclass
class Verdict:
    """What the checker found. ``passed`` holds when every count of a defect is zero."""

    events_expected: int = 0
    events_seen: int = 0
    cases: int = 0
    dispositions_raw: int = 0
    dispositions_unique: int = 0
    raw_duplicate_dispositions: int = 0
    #: valid event ids in no case / in two or more cases / rejected to the DLQ.
    lost: int = 0
    split: int = 0
    #: reports of one incident under two villages (``boundary``), and those of them that
    #: ended in another case than the report they repeat (must be 0).
    boundary_reports: int = 0
    split_across_villages: int = 0
    #: boundary reports in another case than the report they repeat where the documented
    #: rules put them (:func:`explain_split`): ``after_close``, ``beyond_radius``,
    #: ``equidistant``, ``inhibited`` -> count.
    split_explained: dict[str, int] = field(default_factory=dict)
    #: cases absorbed into a neighbouring village's case (``merged_into``).
    cross_village_merges: int = 0
    rejected_valid: int = 0
    #: cases with more than one distinct dispatch id; event ids merged more than once.
    duplicate_dispatches: int = 0
    duplicate_merges: int = 0
    #: (case, tier) pairs with more than one distinct escalate id.
    duplicate_escalations: int = 0
    escalations: int = 0
    #: (case, tier) pairs whose escalation arrived more than once (same id: replays).
    raw_duplicate_escalations: int = 0
    #: SLA warnings/breaches sent under two ids for one deadline (the same stage run).
    duplicate_sla_steps: int = 0
    #: cases seen in dispositions without a dispatch.
    missing_dispatch: int = 0
    #: one counter-numbered id carrying two different transitions: a consumer dropping
    #: duplicates by id loses one of them.
    conflicting_ids: int = 0
    #: one keyed id (merge/escalate/inform) re-sent with other routing or cause: a replay
    #: that took another path (the SLA timer reads the wall clock); reported, not failed.
    divergent_ids: int = 0
    feedback_sent: int = 0
    feedback_reflected: int = 0
    feedback_dlq: int = 0
    lost_feedback: int = 0
    #: reflections beyond the feedback sent: the same transition under two ids.
    duplicate_transitions: int = 0
    dlq: int = 0
    dlq_raw: int = 0
    dlq_by_reason: dict[str, int] = field(default_factory=dict)
    malformed_expected: dict[str, int] = field(default_factory=dict)
    malformed_dlq: dict[str, int] = field(default_factory=dict)
    missing_dlq: int = 0
    unexpected_dlq: int = 0
    internal_errors: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    #: the counts that must be zero for the run to pass.
    DEFECTS = (
        "lost",
        "split",
        "split_across_villages",
        "rejected_valid",
        "duplicate_dispatches",
        "duplicate_merges",
        "duplicate_escalations",
        "duplicate_sla_steps",
        "missing_dispatch",
        "conflicting_ids",
        "lost_feedback",
        "duplicate_transitions",
        "missing_dlq",
        "internal_errors",
    )

    @property
    def passed(self) -> bool:
        """True when no defect was found."""
        return all(getattr(self, name) == 0 for name in self.DEFECTS)

    def failures(self) -> list[str]:
        """``name=count`` for every defect found."""
        return [f"{n}={getattr(self, n)}" for n in self.DEFECTS if getattr(self, n)]

    def example(self, what: str, item: object) -> None:
        """Keep a few examples of a finding for the report."""
        found = self.examples.setdefault(what, [])
        if len(found) < EXAMPLES:
            found.append(str(item))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        out = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("examples",)
        }
        out["examples"] = {k: v for k, v in self.examples.items() if v}
        out["passed"] = self.passed
        return out


def _dlq_key(rej: Mapping[str, Any]) -> tuple[Any, ...]:
    # The same input rejected twice (a replay) is one rejection.
    offset = rej.get("offset")
    located = isinstance(offset, int) and offset >= 0
    return (
        rej.get("source_topic"),
        rej.get("partition"),
        offset,
        rej.get("batch_index"),
        rej.get("reason"),
        None if located else rej.get("original"),
    )


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def check(
    sent: Iterable[Sent],
    dispositions: Sequence[Mapping[str, Any]],
    dlq: Sequence[Mapping[str, Any]],
    feedback: Sequence[Mapping[str, Any]],
    events_topic: str = EVENTS_IN,
) -> Verdict:
    """Verify one run; see the module docstring for the rules."""
    v = Verdict()
    expected_ids: set[str] = set()
    malformed: Counter[str] = Counter()
    #: (boundary report's event id, the event id it repeats)
    boundary: list[tuple[str, str]] = []
    for rec in sent:
        if rec.kind in VALID_KINDS:
            expected_ids.update(rec.event_ids)
            if rec.kind == BOUNDARY and rec.original_id is not None:
                boundary.extend((e, rec.original_id) for e in rec.event_ids)
        elif rec.reason is not None:
            malformed[rec.reason] += 1
    v.events_expected = len(expected_ids)
    v.malformed_expected = dict(sorted(malformed.items()))

    # ---- dispositions: drop raw duplicates by id, watch for ids reused for another step
    unique: dict[str, Mapping[str, Any]] = {}
    signature: dict[str, tuple[Any, ...]] = {}
    raw_count: Counter[str] = Counter()
    for disp in dispositions:
        did = str(disp.get("disposition_id"))
        raw_count[did] += 1
        if did in unique:
            if signature[did] != _signature(disp):
                what = "divergent_ids" if _keyed(did, disp) else "conflicting_ids"
                setattr(v, what, getattr(v, what) + 1)
                v.example(what, f"{did}: {signature[did]} vs {_signature(disp)}")
            continue
        unique[did] = disp
        signature[did] = _signature(disp)
    v.dispositions_raw = len(dispositions)
    v.dispositions_unique = len(unique)
    v.raw_duplicate_dispositions = v.dispositions_raw - v.dispositions_unique

    links = MergeLinks()
    for d in unique.values():
        links.add(d)
    v.cross_village_merges = len(links.merged_into)
    root = links.root

    case_events: dict[str, set[str]] = defaultdict(set)
    all_cases: set[str] = set()
    dispatches: dict[str, set[str]] = defaultdict(set)
    merges: dict[str, set[str]] = defaultdict(set)
    escalations: dict[tuple[str, str], set[str]] = defaultdict(set)
    reflected: dict[tuple[str, str], set[str]] = defaultdict(set)
    sla_steps: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for did, disp in unique.items():
        case = str(disp.get("case_id"))
        all_cases.add(case)
        case_events[root(case)].update(str(e) for e in disp.get("events") or ())
        action = disp.get("action")
        if action == "dispatch":
            dispatches[case].add(did)
        elif action == "merge" and not disp.get("merged_cases"):
            event = merged_event(disp)
            if event is not None:
                merges[event].add(did)
        elif action == "escalate":
            escalations[(case, str(disp.get("tier")))].add(did)
        elif action in ("sla_warning", "sla_breach"):
            # one warning and one breach per deadline and centre told (催办 reaches the
            # holder, its supervisor and a 核查's verifier): a new deadline (rework,
            # extension, escalation) may warn and breach again, the same one may not
            key = (
                case,
                action,
                disp.get("tier"),
                disp.get("center_code"),
                disp.get("stage"),
                disp.get("deadline"),
            )
            sla_steps[key].add(did)
        kind = reflected_kind(disp)
        if kind is not None:
            reflected[(case, kind)].add(did)
    v.cases = len(case_events)

    # ---- every valid event in exactly one case
    event_cases: dict[str, set[str]] = defaultdict(set)
    for case, events in case_events.items():
        for event in events:
            event_cases[event].add(case)
    v.events_seen = len(expected_ids & event_cases.keys())
    for event in sorted(expected_ids):
        cases = event_cases.get(event)
        if not cases:
            v.lost += 1
            v.example("lost", event)
        elif len(cases) > 1:
            v.split += 1
            v.example("split", f"{event} in {sorted(cases)}")
    v.boundary_reports = len(boundary)
    apart: list[tuple[str, str, str, str]] = []
    for event, original in boundary:
        here, there = event_cases.get(event), event_cases.get(original)
        if here and there and here != there:
            apart.append((event, min(here), original, min(there)))
    if apart:
        history = _History(apart, unique.values())
        explained: Counter[str] = Counter()
        for event, here_case, original, there_case in apart:
            found = f"{event} in {[here_case]}, {original} in {[there_case]}"
            why = explain_split(history, event, here_case, original, there_case)
            if why is None:
                v.split_across_villages += 1
                v.example("split_across_villages", found)
            else:
                explained[why] += 1
                v.example(f"split_{why}", found)
        v.split_explained = dict(sorted(explained.items()))

    # ---- one disposition per logical transition
    for case in sorted(all_cases):
        ids = dispatches.get(case, set())
        if not ids:
            v.missing_dispatch += 1
            v.example("missing_dispatch", case)
        elif len(ids) > 1:
            v.duplicate_dispatches += 1
            v.example("duplicate_dispatches", f"{case}: {sorted(ids)}")
    for event, ids in merges.items():
        if len(ids) > 1:
            v.duplicate_merges += 1
            v.example("duplicate_merges", f"{event}: {sorted(ids)}")
    v.escalations = len(escalations)
    for (case, tier), ids in escalations.items():
        if len(ids) > 1:
            v.duplicate_escalations += 1
            v.example("duplicate_escalations", f"{case} -> {tier}: {sorted(ids)}")
        if sum(raw_count[i] for i in ids) > 1:
            v.raw_duplicate_escalations += 1

    for (case, action, tier, centre, stage, deadline), ids in sla_steps.items():
        if len(ids) > 1:
            v.duplicate_sla_steps += len(ids) - 1
            v.example(
                "duplicate_sla_steps",
                f"{case} {action} {tier}/{stage} to {centre} deadline {deadline}: {len(ids)} ids",
            )

    # ---- DLQ: unique rejections; malformed inputs by reason; valid events rejected
    rejections: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for rej in dlq:
        rejections.setdefault(_dlq_key(rej), rej)
    v.dlq_raw = len(dlq)
    v.dlq = len(rejections)
    by_reason: Counter[str] = Counter()
    from_events: Counter[str] = Counter()
    dlq_feedback: set[str] = set()
    for rej in rejections.values():
        reason = str(rej.get("reason"))
        by_reason[reason] += 1
        if str(rej.get("detail") or "").startswith("internal error"):
            v.internal_errors += 1
            v.example("internal_errors", f"{reason}: {rej.get('detail')}")
        doc = _loads(rej.get("original")) if not rej.get("original_base64") else None
        if isinstance(doc, dict) and "feedback_id" in doc:
            dlq_feedback.add(str(doc["feedback_id"]))
            continue
        if rej.get("source_topic") == events_topic:
            from_events[reason] += 1
            if isinstance(doc, dict) and doc.get("event_id") in expected_ids:
                v.rejected_valid += 1
                v.example("rejected_valid", f"{doc.get('event_id')}: {reason} {rej.get('detail')}")
    v.dlq_by_reason = dict(sorted(by_reason.items()))
    v.malformed_dlq = dict(sorted(from_events.items()))
    for reason, n in malformed.items():
        short = n - from_events.get(reason, 0)
        if short > 0:
            v.missing_dlq += short
            v.example("missing_dlq", f"{reason}: {short} of {n} not in the DLQ")
    for reason, n in from_events.items():
        extra = n - malformed.get(reason, 0)
        if extra > 0:
            v.unexpected_dlq += extra
            v.example("unexpected_dlq", f"{reason}: {extra} more than produced")

    # ---- feedback: reflected by a disposition of its case, or in the DLQ
    by_case_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
    for fb in feedback:
        fid = fb.get("feedback_id")
        if fid is None:
            continue
        by_case_kind[(str(fb.get("case_id")), str(fb.get("action")))].add(str(fid))
    for (case, kind), fids in sorted(by_case_kind.items()):
        v.feedback_sent += len(fids)
        rejected = len(fids & dlq_feedback)
        v.feedback_dlq += rejected
        got = len(reflected.get((case, kind), ()))
        v.feedback_reflected += min(got, len(fids))
        missing = len(fids) - rejected - got
        if missing > 0:
            v.lost_feedback += missing
            v.example(
                "lost_feedback",
                f"{case} {kind}: {missing} of {len(fids)} not reflected nor in the DLQ",
            )
    for (case, kind), dids in reflected.items():
        extra = len(dids) - len(by_case_kind.get((case, kind), ()))
        if extra > 0:
            v.duplicate_transitions += extra
            v.example("duplicate_transitions", f"{case} {kind}: {sorted(dids)}")
    return v


#: Case states after which a case takes no more reports of its village.
_FINISHED = frozenset({"closed", "cancelled"})
#: (partition, offset) of a disposition in the dispositions topic, as the collector read
#: it (``_src``), when known.
Src = tuple[int, int] | None


def _src(doc: Mapping[str, Any]) -> Src:
    found = doc.get("_src")
    if isinstance(found, list) and len(found) == 2 and all(isinstance(x, int) for x in found):
        return (found[0], found[1])
    return None


def _decided_before(t: datetime, src: Src, at: datetime, srcs: tuple[Src, ...]) -> bool:
    """Was the disposition at ``t`` (read at ``src``) decided no later than those at
    ``at`` (read at ``srcs``)?

    A disposition's ``at`` is the clock of the record it answers: a report re-keyed to
    its village's partition keeps its first record's time, so it may be decided after
    dispositions with a later ``at``. Two dispositions of one partition of the
    dispositions topic were written in the order they were decided: for those the
    offsets tell, for the others the times.
    """
    if src is not None:
        for other in srcs:
            if other is not None and other[0] == src[0]:
                return src[1] < other[1]
    return t <= at


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


class _History:
    """What :func:`explain_split` reads, gathered in one pass for the few split pairs."""

    def __init__(
        self,
        apart: Sequence[tuple[str, str, str, str]],
        dispositions: Iterable[Mapping[str, Any]],
    ) -> None:
        events = {e for b, _, o, _ in apart for e in (b, o)}
        cases = {c for _, x, _, y in apart for c in (x, y)}
        #: event -> (time, case, where the collector read them) of the first dispositions
        #: listing it (the case's and its informs, one time): where it arrived.
        self.arrived: dict[str, tuple[datetime, str, tuple[Src, ...]]] = {}
        #: event -> (lat, lon, case) of the case it opened (its ``dispatch``).
        self.opened: dict[str, tuple[float, float, str]] = {}
        #: case -> [(time, state, where the collector read it)] of its own dispositions.
        self.states: dict[str, list[tuple[datetime, str, Src]]] = defaultdict(list)
        #: case -> (lat, lon) of its first report.
        self.place: dict[str, tuple[float, float]] = {}
        #: case -> when it opened and where the collector read its dispatch, for the
        #: cases above.
        self.opened_at: dict[str, tuple[datetime, Src]] = {}
        #: case -> its category when it opened, for the cases above and those the events
        #: opened.
        self.category: dict[str, str] = {}
        for d in dispositions:
            case = str(d.get("case_id"))
            listed = [e for e in d.get("events") or () if e in events]
            if not listed and case not in cases:
                continue
            at = _when(d.get("at"))
            src = _src(d)
            if at is not None:
                for e in listed:
                    known = self.arrived.get(e)
                    if known is None or at < known[0]:
                        self.arrived[e] = (at, case, (src,))
                    elif at == known[0] and case == known[1]:
                        self.arrived[e] = (at, case, (*known[2], src))
            lat, lon = d.get("lat"), d.get("lon")
            if (
                d.get("action") == "dispatch"
                and isinstance(lat, float | int)
                and isinstance(lon, float | int)
            ):
                first = (d.get("events") or [None])[0]
                if first in events:
                    self.opened[str(first)] = (float(lat), float(lon), case)
                if case in cases:
                    self.place[case] = (float(lat), float(lon))
                    if at is not None and case not in self.opened_at:
                        self.opened_at[case] = (at, src)
                if (first in events or case in cases) and isinstance(d.get("category"), str):
                    self.category[case] = str(d["category"])
            if case in cases and d.get("state") and at is not None:
                self.states[case].append((at, str(d["state"]), src))

    def state_at(self, case: str, at: datetime, srcs: tuple[Src, ...] = ()) -> str | None:
        """``case``'s state when dispositions at ``at`` (read at ``srcs``) were decided
        (:func:`_decided_before`)."""
        before = [
            (t, s) for t, s, src in self.states.get(case, ()) if _decided_before(t, src, at, srcs)
        ]
        return max(before)[1] if before else None


@cache
def _bundled_inhibit_rules() -> InhibitRules:
    # The drill's workers run the bundled rules.
    return InhibitRules.load(BUNDLED_RULES / INHIBIT_FILE, Catalogue.default())


def _inhibits(source: str, target: str) -> bool:
    """Does a bundled inhibit rule let a case of ``source`` take a report of ``target``?"""
    return any(rule.is_source(source) for rule in _bundled_inhibit_rules().for_target(target))


@cache
def _merge_radius(category: str) -> float | None:
    # The town stage measures a newly announced case with its own category's radius.
    found = Catalogue.default().get(category)
    return found.merge_radius_m if found is not None else None


def _beyond_radius(history: _History, here: str, there: str) -> bool:
    """Are the two cases farther apart than the merge radius of the one opened later
    (in the order the two dispatches were decided: :func:`_decided_before`)?"""
    x, y = history.place.get(here), history.place.get(there)
    first, second = history.opened_at.get(here), history.opened_at.get(there)
    if x is None or y is None or first is None or second is None:
        return False
    (at_here, src_here), (at_there, src_there) = first, second
    later = here if _decided_before(at_there, src_there, at_here, (src_here,)) else there
    category = history.category.get(later)
    radius = _merge_radius(category) if category is not None else None
    return radius is not None and haversine_m(*x, *y) > radius


def explain_split(
    history: _History, boundary: str, here: str, original: str, there: str
) -> str | None:
    """Why docs/cross-village.md puts ``boundary`` (in ``here``) apart from ``original``
    (in ``there``), or None when nothing does (a defect).

    ``after_close``: one of the two reached its village after the case holding the other,
    of that same village, had been closed or cancelled: the first stage opens a new case
    for it (a finished case takes no more reports of its village), while the town stage
    still links a neighbour's report to the finished case ("Cases that finished
    meanwhile"); or the case holding one of them was opened in the other's village by a
    repeat that came after the other's case had finished there. ``equidistant``: each
    was attached to a case it did not open, and the two cases' first reports lie within
    twice the simulator's spread of a boundary report (``DUPLICATE_MAX_M``) of the same
    distance from the boundary report: the nearest match of two points that far apart
    may pick either, as the docs' rule says.
    ``inhibited``: one of the two opened a case that the town stage attached to a case of
    another village under an inhibit rule (``routing_rules/inhibit.yaml``: the case holding
    it is of a source category, the case it opened of a target one), while the other,
    reported before that source opened or outside its radius, was not
    (docs/silences.md, "Across village lines"). ``beyond_radius``: the two cases lie
    farther apart than the merge radius of the category of the one opened later: the
    town stage measures a new case with its own radius (docs/cross-village.md), so it
    keeps the two apart, though one of the two reports, of a category with a wider
    radius, joined the other case in its own village.
    """
    for report, holder in ((boundary, here), (original, there)):
        opened = history.opened.get(report)
        if opened is None or opened[2] == holder:
            continue
        source, target = history.category.get(holder), history.category.get(opened[2])
        if source is not None and target is not None and _inhibits(source, target):
            return "inhibited"
    for closed, late in ((here, original), (there, boundary)):
        arrived = history.arrived.get(late)
        if arrived is None or region_of_case(arrived[1]) != region_of_case(closed):
            continue
        if history.state_at(closed, arrived[0], arrived[2]) in _FINISHED:
            return "after_close"
    for closed, later in ((there, here), (here, there)):
        # A repeat of the same incident reached the village after its case had finished
        # and opened a second case there, which the other report then joined (the chaos
        # drill, session 22: a 城管 repeat applied after the grid worker's case closed; the
        # boundary report matched the nearer of the two).
        started = history.opened_at.get(later)
        if started is None or region_of_case(later) != region_of_case(closed):
            continue
        if history.state_at(closed, started[0], (started[1],)) in _FINISHED:
            return "after_close"
    if _beyond_radius(history, here, there):
        return "beyond_radius"
    at = history.opened.get(boundary)
    if at is None:
        return None
    if at[2] == here:
        return None  # the boundary report stayed in its own case: no match was made
    if original in history.opened:
        return None  # the report it repeats opened a case: it matched nothing
    x, y = history.place.get(here), history.place.get(there)
    if x is None or y is None:
        return None
    gap = abs(haversine_m(at[0], at[1], *x) - haversine_m(at[0], at[1], *y))
    return "equidistant" if gap <= 2 * DUPLICATE_MAX_M else None


def summary_lines(v: Verdict) -> list[str]:
    """A human-readable summary of a verdict."""
    lines = [
        f"events: {v.events_seen}/{v.events_expected} valid ids in cases, {v.cases} cases",
        f"across villages: {v.boundary_reports} boundary reports, {v.split_across_villages} "
        f"split across villages, {v.cross_village_merges} cases merged into a neighbour's; "
        f"apart as the rules say: {v.split_explained or 'none'}",
        f"dispositions: {v.dispositions_raw} raw, {v.dispositions_unique} unique "
        f"({v.raw_duplicate_dispositions} raw duplicates dropped by id)",
        f"ids: {v.conflicting_ids} reused for another transition, {v.divergent_ids} keyed ids "
        "re-sent with other routing",
        f"escalations: {v.escalations} (case, tier) pairs, {v.duplicate_escalations} with two ids, "
        f"{v.raw_duplicate_escalations} re-sent under the same id; "
        f"{v.duplicate_sla_steps} extra SLA warnings/breaches for one deadline",
        f"feedback: {v.feedback_sent} sent, {v.feedback_reflected} reflected, {v.feedback_dlq} in the DLQ, "
        f"{v.lost_feedback} lost, {v.duplicate_transitions} duplicate transitions",
        f"dlq: {v.dlq} unique ({v.dlq_raw} raw) {v.dlq_by_reason}",
        f"malformed produced {v.malformed_expected} / rejected from the events topic {v.malformed_dlq}",
    ]
    for what, found in v.examples.items():
        for item in found:
            lines.append(f"  {what}: {item}")
    lines.append("PASSED" if v.passed else "FAILED: " + ", ".join(v.failures()))
    return lines
