"""How simulated command centres handle the cases they are given (no Kafka here).

A centre that receives a case (``dispatch``, ``escalate`` or ``reroute``) draws its fate
from a generator seeded by the seed, the case and the centre, so a replay behaves the same
whatever order the cases arrive in:

* ignore it (no answer: the SLA timer puts it under the supervision (督办) of the tier
  above, and the centre draws a new fate under that pressure);
* ``return`` it (退回: not ours);
* ``escalate`` it (请求上级协调) instead of accepting;
* or work it: ``accept`` → sometimes ``extend`` → ``resolve`` (unless it stalls) →
  sometimes ``reject_resolution`` and ``resolve`` again (返工) → ``verify`` → ``close`` →
  sometimes ``revisit`` (回访: every 12345 case by default, other cases with
  ``revisit_p``), the reporter's answer drawn from :data:`SATISFACTION`.

Each step follows the previous one after a random delay. When a case moves to another
centre, the old holder's remaining steps are dropped. An ``escalate`` whose ``holder`` is
not its ``center_code`` is 督办: the holder keeps the case and draws its fate again.
Checks (核查, 返工, 结案) come from the case's ``verifier`` as the dispositions name it. Per-case state is a few fields, kept
for at most ``max_cases`` cases (oldest forgotten first), and what was sent is logged in a
bounded deque for checkers.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from gridflow.core.ids import region_of_case
from gridflow.core.regions import tier_of_code
from schemas import Disposition, DispositionAction, FeedbackAction, Tier

_CST = timezone(timedelta(hours=8))
#: Dispositions that hand a case to a centre.
_ASSIGNING = frozenset(
    {DispositionAction.DISPATCH, DispositionAction.ESCALATE, DispositionAction.REROUTE}
)
_FINAL_STATES = frozenset({"closed", "cancelled", "merged"})
#: Sent by the supervising side (the centre above the holder), not the holder.
_CHECKS = frozenset(
    {
        FeedbackAction.VERIFY,
        FeedbackAction.REJECT_RESOLUTION,
        FeedbackAction.CLOSE,
        FeedbackAction.REVISIT,
    }
)
#: 回访 answers and their shares (满意 / 基本满意 / 不满意): a city's published 12345
#: figures run at 85-95 % 满意率 counting 基本满意 in; project choice within that range.
SATISFACTION: tuple[tuple[str, float], ...] = (
    ("satisfied", 0.72),
    ("basically_satisfied", 0.18),
    ("unsatisfied", 0.10),
)
#: The network whose cases are revisited by rule (12345 hotlines call every caller back).
HOTLINE = "12345"
#: Steps a case in a given state has behind it (a holder does not repeat them).
_DONE_BY_STATE: dict[str, frozenset[FeedbackAction]] = {
    "accepted": frozenset({FeedbackAction.ACCEPT}),
    "resolved": frozenset(
        {
            FeedbackAction.ACCEPT,
            FeedbackAction.EXTEND,
            FeedbackAction.RESOLVE,
            FeedbackAction.REJECT_RESOLUTION,
        }
    ),
    "verified": frozenset(
        {
            FeedbackAction.ACCEPT,
            FeedbackAction.EXTEND,
            FeedbackAction.RESOLVE,
            FeedbackAction.REJECT_RESOLUTION,
            FeedbackAction.VERIFY,
        }
    ),
}
#: An ``extend`` waits (a few delays at most) until the resolve stage's deadline is known.
_EXTEND_RETRIES = 3

NOTES: dict[FeedbackAction, str] = {
    FeedbackAction.ACCEPT: "已受理，已安排网格员和责任部门处置",
    FeedbackAction.RESOLVE: "已处置完毕，现场已恢复，附处置照片",
    FeedbackAction.RETURN: "经核实不属于本单位职责范围，申请退回重新派遣",
    FeedbackAction.ESCALATE: "涉及多个部门，本级无法协调，请求上级协调处理",
    FeedbackAction.EXTEND: "需协调施工队和物资，申请延期办理",
    FeedbackAction.VERIFY: "现场核查，问题已整改到位，核查通过",
    FeedbackAction.REJECT_RESOLUTION: "现场核查发现未整改到位，退回返工",
    FeedbackAction.CLOSE: "核查通过，予以结案",
    FeedbackAction.REVISIT: "电话回访诉求人，记录满意度",
}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Probabilities and delays of the simulated centres.

    ``ignore_p`` and ``return_p`` are drawn first; a centre that does neither accepts with
    ``accept_p`` or else asks the tier above (``escalate``; the city centre always
    accepts). An accepted case is resolved with ``resolve_p`` (else it stalls until its
    SLA runs out), asks for an extension first with ``extend_p``, and fails verification
    once with ``rework_p``.
    """

    accept_p: float = 0.9
    resolve_p: float = 0.9
    ignore_p: float = 0.05
    return_p: float = 0.03
    extend_p: float = 0.05
    rework_p: float = 0.05
    #: 回访 after 结案: share of closed cases revisited; of closed 12345 cases.
    revisit_p: float = 0.0
    hotline_revisit_p: float = 1.0
    #: seconds between two steps of one case, drawn uniformly from this range.
    delay_s: tuple[float, float] = (0.5, 3.0)

    def __post_init__(self) -> None:
        for name in (
            "accept_p",
            "resolve_p",
            "ignore_p",
            "return_p",
            "extend_p",
            "rework_p",
            "revisit_p",
            "hotline_revisit_p",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], not {value}")
        if self.ignore_p + self.return_p > 1.0:
            raise ValueError("ignore_p + return_p must not exceed 1")
        low, high = self.delay_s
        if low < 0 or high < low:
            raise ValueError(
                f"delay_s must be (low, high) with 0 <= low <= high, not {self.delay_s}"
            )


@dataclass(frozen=True, slots=True)
class SentFeedback:
    """One feedback message a simulated centre sent."""

    feedback_id: str
    case_id: str
    center_code: str
    action: str
    at: str


@dataclass
class CentreStats:
    """What the simulated centres saw and answered."""

    dispositions: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    invalid: int = 0
    #: one per case handed to a centre: ignore / return / escalate / resolve / stall.
    fates: Counter[str] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)
    #: 回访 sent, by the answer given (satisfied, basically_satisfied, unsatisfied).
    revisits: Counter[str] = field(default_factory=Counter)
    #: feedback the broker did not acknowledge.
    failed: int = 0
    #: the most recent feedback sent, oldest first (bounded).
    log: deque[SentFeedback] = field(default_factory=lambda: deque(maxlen=100_000))

    @property
    def sent(self) -> int:
        """Feedback messages sent in all."""
        return sum(self.feedback.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the log of sent feedback)."""
        return {
            "dispositions": dict(sorted(self.dispositions.items())),
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "fates": dict(sorted(self.fates.items())),
            "feedback": dict(sorted(self.feedback.items())),
            "revisits": dict(sorted(self.revisits.items())),
            "sent": self.sent,
            "failed": self.failed,
        }


@dataclass(slots=True)
class _Assignment:
    """A case as the centre holding it sees it."""

    case_id: str
    center: str
    key: bytes
    #: bumped on every reassignment, so steps scheduled for an old holder are dropped.
    generation: int
    plan: list[FeedbackAction]
    rng: random.Random
    deadline: datetime | None = None
    stage: str | None = None
    stage_started: datetime | None = None
    #: the centre that checks the case (核查), as the dispositions name it.
    verifier: str | None = None
    #: why the centre holds it this time ("" or "督办 <supervisor>"): a holder drawing its
    #: fate again under supervision numbers its feedback ids afresh.
    round: str = ""
    retries: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    #: the reporter's 回访 answer, when the plan ends with a revisit.
    satisfaction: str | None = None


def _tier_of(centre: str) -> Tier:
    try:
        return tier_of_code(centre)
    except ValueError:
        return Tier.VILLAGE


def feedback_id(case_id: str, center: str, action: str, n: int) -> str:
    """The deterministic id of the ``n``-th ``action`` a centre sends about a case."""
    return hashlib.sha1(f"{case_id}|{center}|{action}|{n}".encode()).hexdigest()


def feedback_key(disposition: Disposition) -> bytes:
    """The ``grid.feedback`` key for a case: its region, from the disposition or the id."""
    region = disposition.region_code or region_of_case(disposition.case_id)
    return (region or disposition.center_code).encode()


def _cst_now() -> datetime:
    return datetime.now(_CST)


class Casework:
    """The simulated centres' memory and schedule; feed dispositions, collect feedback."""

    def __init__(
        self,
        seed: int,
        behaviour: Behaviour,
        *,
        clock: Callable[[], datetime] = _cst_now,
        max_cases: int = 50_000,
        stats: CentreStats | None = None,
        supervisor_of: Callable[[str], str] | None = None,
    ) -> None:
        """``clock`` stamps feedback ``at``; scheduling uses the ``now`` passed to each call.

        ``supervisor_of`` names the centre above a holder: verification, rework and closing
        (核查, 返工, 结案) are sent by it, never by the centre that resolved the case
        (监管分离). ``None``: the holder sends them (rules without that separation).
        """
        self.seed = seed
        self._supervisor_of = supervisor_of
        self.behaviour = behaviour
        self.stats = stats if stats is not None else CentreStats()
        self._clock = clock
        self._max_cases = max_cases
        self._cases: OrderedDict[str, _Assignment] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._due: list[tuple[float, int, str, int]] = []
        self._tick = 0
        self._generation = 0

    def __len__(self) -> int:
        """Cases currently tracked."""
        return len(self._cases)

    def next_due(self) -> float | None:
        """When the earliest scheduled step is due (same clock as ``now``), or ``None``."""
        return self._due[0][0] if self._due else None

    # ---- input ----

    def on_disposition(self, disposition: Disposition, now: float) -> None:
        """Take one disposition into account (duplicates by id are ignored)."""
        if disposition.disposition_id in self._seen:
            self.stats.duplicates += 1
            return
        self._seen[disposition.disposition_id] = None
        if len(self._seen) > 4 * self._max_cases:
            self._seen.popitem(last=False)
        self.stats.dispositions[disposition.action.value] += 1
        supervised = (
            disposition.action is DispositionAction.ESCALATE
            and disposition.holder is not None
            and disposition.holder != disposition.center_code
        )
        if supervised:
            # 督办: the supervisor only watches; the holder, pushed, decides again.
            assert disposition.holder is not None
            self._assign(disposition, now, disposition.holder, f"督办 {disposition.center_code}")
            return
        if disposition.action in _ASSIGNING:
            self._assign(disposition, now)
            return
        case = self._cases.get(disposition.case_id)
        if case is None or case.center != disposition.center_code:
            return
        if disposition.state in _FINAL_STATES:
            if case.plan[:1] != [FeedbackAction.REVISIT]:  # a closed case is still revisited
                del self._cases[disposition.case_id]
            return
        self._learn_deadline(case, disposition)

    def _assign(
        self, disposition: Disposition, now: float, holder: str | None = None, why: str = ""
    ) -> None:
        case_id, center = disposition.case_id, holder or disposition.center_code
        self._cases.pop(case_id, None)
        rng = random.Random(f"{self.seed}|{case_id}|{center}{why}")
        tier = disposition.tier if holder is None else _tier_of(holder)
        plan, fate = self._plan(rng, tier)
        self.stats.fates[fate] += 1
        # A case escalated for a missed resolve deadline arrives already accepted (or
        # further on): the new holder picks it up where it stands.
        done = _DONE_BY_STATE.get(disposition.state or "", frozenset())
        plan = [action for action in plan if action not in done]
        if not plan:
            return  # ignored: the SLA timer will move it on
        satisfaction = self._revisit(disposition, plan)
        self._generation += 1
        case = _Assignment(
            case_id, center, feedback_key(disposition), self._generation, plan, rng, round=why
        )
        case.satisfaction = satisfaction
        self._learn_deadline(case, disposition)
        self._cases[case_id] = case
        while len(self._cases) > self._max_cases:
            self._cases.popitem(last=False)
        self._schedule(case, now)

    def _plan(self, rng: random.Random, tier: Tier) -> tuple[list[FeedbackAction], str]:
        b = self.behaviour
        top = tier is Tier.CITY
        u = rng.random()
        if u < b.ignore_p:
            return [], "ignore"
        if u < b.ignore_p + b.return_p and not top:
            return [FeedbackAction.RETURN], "return"
        if rng.random() >= b.accept_p and not top:
            return [FeedbackAction.ESCALATE], "escalate"
        plan = [FeedbackAction.ACCEPT]
        if rng.random() < b.extend_p:
            plan.append(FeedbackAction.EXTEND)
        if rng.random() >= b.resolve_p:
            return plan, "stall"
        plan.append(FeedbackAction.RESOLVE)
        if rng.random() < b.rework_p:
            plan += [FeedbackAction.REJECT_RESOLUTION, FeedbackAction.RESOLVE]
        plan += [FeedbackAction.VERIFY, FeedbackAction.CLOSE]
        return plan, "resolve"

    def _revisit(self, disposition: Disposition, plan: list[FeedbackAction]) -> str | None:
        """Append a 回访 to a plan that ends in 结案, when drawn; the answer it will give.

        Its own generator, so the plan's other draws and delays stay as they were.
        """
        b = self.behaviour
        p = b.hotline_revisit_p if HOTLINE in disposition.networks else b.revisit_p
        if p <= 0.0 or plan[-1:] != [FeedbackAction.CLOSE]:
            return None
        rng = random.Random(f"{self.seed}|{disposition.case_id}|{disposition.center_code}|回访")
        if rng.random() >= p:
            return None
        plan.append(FeedbackAction.REVISIT)
        answers, weights = zip(*SATISFACTION, strict=True)
        answer: str = rng.choices(answers, weights)[0]
        return answer

    @staticmethod
    def _learn_deadline(case: _Assignment, disposition: Disposition) -> None:
        if disposition.verifier is not None:
            case.verifier = disposition.verifier
        if disposition.deadline is not None and disposition.stage != case.stage:
            case.stage_started = disposition.at
        case.deadline = disposition.deadline
        case.stage = disposition.stage

    def _schedule(self, case: _Assignment, now: float) -> None:
        low, high = self.behaviour.delay_s
        self._tick += 1
        heapq.heappush(
            self._due,
            (now + case.rng.uniform(low, high), self._tick, case.case_id, case.generation),
        )

    # ---- output ----

    def due(self, now: float) -> list[tuple[bytes, bytes]]:
        """Feedback records (key, value) whose time has come, in order."""
        out: list[tuple[bytes, bytes]] = []
        while self._due and self._due[0][0] <= now:
            _, _, case_id, generation = heapq.heappop(self._due)
            case = self._cases.get(case_id)
            if case is None or case.generation != generation or not case.plan:
                continue  # closed, forgotten or handed to another centre meanwhile
            record = self._step(case, now)
            if record is not None:
                out.append(record)
            if case.plan:
                self._schedule(case, now)
            else:
                # Nothing more to do here: stop tracking once the last step went out.
                del self._cases[case_id]
        return out

    def _step(self, case: _Assignment, now: float) -> tuple[bytes, bytes] | None:
        action = case.plan[0]
        at = self._clock()
        doc: dict[str, Any] = {}
        if action is FeedbackAction.EXTEND:
            until = self._extension(case, at)
            if until is None:
                if case.retries < _EXTEND_RETRIES:
                    case.retries += 1
                    return None  # try again after the next delay
                case.plan.pop(0)  # never learnt a deadline: go on without extending
                return None
            doc["until"] = until.isoformat(timespec="milliseconds")
        elif action is FeedbackAction.REVISIT and case.satisfaction is not None:
            doc["satisfaction"] = case.satisfaction
            self.stats.revisits[case.satisfaction] += 1
        case.plan.pop(0)
        case.counts[action.value] += 1
        fid = feedback_id(
            case.case_id, case.center + case.round, action.value, case.counts[action.value]
        )
        sender = case.center
        if action in _CHECKS and case.verifier is not None:
            sender = case.verifier
        elif action in _CHECKS and self._supervisor_of is not None:
            sender = self._supervisor_of(case.center)
        stamp = at.astimezone(_CST).isoformat(timespec="milliseconds")
        doc = {
            "feedback_id": fid,
            "case_id": case.case_id,
            "center_code": sender,
            "action": action.value,
            "at": stamp,
            "note": NOTES.get(action),
            **doc,
        }
        self.stats.feedback[action.value] += 1
        self.stats.log.append(SentFeedback(fid, case.case_id, sender, action.value, stamp))
        return case.key, orjson.dumps(doc)

    @staticmethod
    def _extension(case: _Assignment, at: datetime) -> datetime | None:
        """Half the current stage again past its deadline, once the resolve deadline is known."""
        if case.deadline is None or case.stage != "resolve":
            return None
        started = case.stage_started or at
        length = max(case.deadline - started, timedelta(seconds=1))
        return (case.deadline + length / 2).astimezone(_CST)
