"""How a case opens (立案): one report assessed, then planned to a tier, centre and deadlines.

The engine and ``gridflow rules test`` both call these, so what the CLI prints for an
event is what a worker does with it:

* :func:`assess_report`: the category (from the report's code, or classified from its
  text), the severity (category default, danger words, the reporter's hint) and whether
  the report is a hazard (隐患) or an incident (``danger.py``): an unplaced report with a
  danger cue goes to triage, a hazard never runs as a critical incident;
* :func:`plan_case`: the routing decision, the centre that gets the dispatch, the
  department, SLA policy, priority, the tiers informed, and the accept deadline and
  warning, all counted from one start instant (the worker's: the input record's time);
* :func:`stage_clock`: a stage's deadline and warning from a start instant, the one SLA
  function of the engine (remembered: cases opened by one input record, or records
  stamped in the same millisecond, share their walk through the calendar).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple, cast

from gridflow.core.bounded_cache import remember
from gridflow.core.catalogue import Catalogue, Category
from gridflow.core.classify import JointScan, KeywordMatcher, TextClassifier
from gridflow.core.danger import DangerLexicon, DangerReading
from gridflow.core.danger_patterns import PatternSet
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RouteDecision, RouteFacts, RuleSet
from gridflow.core.severity import SeverityRules, assess_severity, at_most, higher
from gridflow.core.sla import SlaPolicy, Stage, stage_timestamps
from gridflow.core.workcalendar import WorkCalendar
from schemas import GridEvent
from schemas.common import Severity, Tier

__all__ = ["Assessment", "CasePlan", "assess_report", "plan_case", "stage_clock"]


class Assessment(NamedTuple):
    """What a report is about, before it is merged into a case or opens one."""

    # Named tuples: one of each is built per report on the hot path, in one C call.

    category: Category
    severity: Severity
    #: the report's text: title and description, as the classifier read them.
    text: str
    #: the classifier's keywords when the category came from the text; ``None`` when it
    #: came from the report's own code.
    classified_by: tuple[str, ...] | None
    #: a hazard (隐患: may happen) rather than an incident in progress.
    hazard: bool = False
    #: the danger cue classes found in the text (``fire``, ``gas`` …), strongest first.
    danger: tuple[str, ...] = ()
    #: what the learned second opinion changed: ``"added"`` (flagged critical where the
    #: rules read nothing), ``"added over a hazard"``, ``"vetoed"`` (a hazard, not the
    #: rules' critical reading), ``"hazard"`` (a hazard where the rules read neither),
    #: ``"doubted"`` (the rules' critical reading, or an incident category's emergency
    #: clock, checked first: 险情待核实), ``"added to
    #: triage"`` and ``"added over a hazard to triage"`` (the model's own flag, not sure
    #: enough to run critical: checked first); ``None`` when it changed nothing.
    opinion: str | None = None


class CasePlan(NamedTuple):
    """Where a new case goes and when its first deadline falls. Times are epoch s (UTC)."""

    decision: RouteDecision
    #: the centre that gets the dispatch (the ancestor of the village at ``decision.tier``).
    centre: str
    department: str
    #: the route's priority override, else the assessed severity.
    priority: Severity
    #: the other tiers told about the case, with their centres, top down.
    informed: tuple[tuple[Tier, str], ...]
    #: the instant the case opens, from which the deadlines are counted.
    start: float
    accept_by: float
    accept_warn_at: float

    @property
    def tier(self) -> Tier:
        """The tier whose centre holds the case."""
        return self.decision.tier

    @property
    def policy(self) -> str:
        """The SLA policy's name."""
        return self.decision.policy


def report_text(event: GridEvent) -> str:
    """Title and description, as the classifier and the severity rules read them."""
    title, description = event.title, event.description
    # " ".join of the parts that are there (the schema requires at least one).
    return f"{title} {description}" if title and description else title or description or ""


def assess_report(
    event: GridEvent,
    catalogue: Catalogue,
    classifier: TextClassifier,
    severity_rules: SeverityRules | None,
    danger: DangerLexicon | None = None,
) -> Assessment:
    """The category and severity of one report, as every worker assesses it.

    With a danger lexicon (the bundled one when ``danger`` is None and the catalogue has
    its triage category):

    * a hazard report (hazard marker, no incident marker) keeps the category default and
      the reporter's hint, at most ``high``: danger words do not raise it; a hazard the
      classifier put in an incident category (or nowhere) moves to its cue's hazard
      category (火灾隐患, 燃气安全隐患 …), which runs on rectification days;
    * otherwise a report whose text describes an urgent matter (``danger.yaml``
      ``urgent``: 电梯困人, fights, 肇事肇祸, people out of contact, open holes) moves to
      that matter's category unless it is in one already or in a critical one, so it runs
      on wall-clock hours; then the strongest danger cue raises the severity to its
      level, and a report the classifier could not place that carries a cue becomes the
      triage category;
    * with the lexicon's learned second opinion (``danger_model.jsonl``), asked about every
      report (hazards are often told with no danger word, in a category nobody would call
      dangerous: a rusted gas riser, a loose facade over a bus stop), the model's confident
      critical reading adds a critical flag the rules did not raise (over their hazard
      reading only when very sure), its confident "a hazard, not critical" vetoes their
      critical reading (one that names an event in the text's own words only when very
      sure: hazards are told with the event they fear), and it reads a hazard where they
      read neither (``Assessment.opinion`` says which);
    * and what runs as a critical incident (the county called out, the city told) is
      what both are sure of: a critical reading the model half takes for a hazard
      (P(hazard) >= ``doubt``) and is not ``sure`` of (P(critical)), or all but rules
      out in a report the classifier placed from its text (P(critical) < ``unsure``),
      unless its sender marked it critical, and the model's own flag below ``sure``, go
      to the duty room first (险情待核实, minutes on the wall clock); so does a report an
      incident category puts on the emergency clock without a critical reading (积水内涝
      is high by default) that the model half takes for a hazard (``doubt``).
    """
    text = report_text(event)
    category = catalogue.resolve(event.source_network, event.category)
    classified_by: tuple[str, ...] | None = None
    fallback = catalogue.get(catalogue.fallback)
    if fallback is None:  # the catalogue loader guarantees the fallback exists
        raise LookupError(f"catalogue has no fallback category {catalogue.fallback}")
    lexicon = danger if danger is not None else _default_danger(catalogue)
    active_rules = severity_rules if severity_rules is not None else SeverityRules.default()
    # One pass over the text for the three word lists (categories, severity, danger).
    scanned, patterns = _joint_scan(
        classifier.matcher,
        active_rules.matcher,
        lexicon.matcher if lexicon is not None else None,
        lexicon.patterns if lexicon is not None else None,
    ).scan_read(text)
    if category is None:
        classified = classifier.classify_found(scanned[0])
        category = catalogue.get(classified.code) or fallback
        classified_by = classified.matched
    reading = lexicon.read_found(text, scanned[2], patterns) if lexicon is not None else None
    role = event.reporter.role if event.reporter else None
    model = lexicon.model if lexicon is not None else None

    # The lexicon parses negation (未起火, 无人员被困): the severity words do not escalate
    # what it reads as negated, as its own cues do not.
    severity_found, negated = (
        lexicon.split_negated(scanned[1], scanned[2]) if lexicon is not None else (scanned[1], ())
    )

    def by_rules(read: DangerReading | None) -> Assessment:
        return _assess_by_rules(
            event,
            text,
            category,
            classified_by,
            fallback,
            catalogue,
            active_rules,
            lexicon,
            read,
            severity_found,
            negated,
            role,
        )

    if reading is None or lexicon is None or model is None:
        return by_rules(reading)
    # The learned second opinion (danger_model.py), gated by the file's thresholds.
    chance_critical, chance_hazard = model.chances(text)
    limits = model.thresholds
    found = by_rules(reading)
    if found.hazard:
        if chance_critical < limits.add_over_hazard:
            return found
        # The rules read a hazard; the model is very sure someone is in danger now.
        if reading.hazard:
            found = by_rules(replace(reading, hazard=False))
        if chance_critical < limits.sure:
            return _to_triage(found, catalogue, lexicon, "added over a hazard to triage")
        return _flag_critical(found, fallback, catalogue, lexicon, "added over a hazard")
    if found.severity is Severity.CRITICAL or found.category.code == lexicon.triage:
        # An event told in the text's own words is vetoed only on a surer word.
        veto = limits.veto_over_event if reading.names_an_event else limits.veto
        if (
            chance_hazard >= veto
            and chance_critical < limits.add
            and event.severity is not Severity.CRITICAL
        ):
            # The model's confident "a hazard, not an incident": rectification days. A
            # sender's own 特急 is a person's word and stands, as it does against the doubt
            # below and the rules' "tells no danger" (the set carries no sender's severity,
            # so the trainer's gate need not model it).
            vetoed = _as_hazard(
                event,
                text,
                category,
                classified_by,
                catalogue,
                lexicon,
                reading,
                role,
                active_rules,
            )
            return vetoed._replace(opinion="vetoed")
        if (
            (
                (chance_hazard >= limits.doubt and chance_critical < limits.sure)
                or (classified_by is not None and chance_critical < limits.unsure)
            )
            and found.severity is Severity.CRITICAL
            and event.severity is not Severity.CRITICAL
        ):
            # Half a hazard by the model's reading and not sure of danger now, or all but
            # sure there is none: the duty room looks before the county is called out and
            # the city told (an emergency waits minutes, not days). A sender's own 特急 (a
            # 12345 operator, a department) is a person's word: it stands. So is the
            # sender's own code (a camera's fire_smoke): the model reads only the text,
            # and "AI告警" says nothing either way.
            return _to_triage(found, catalogue, lexicon, "doubted")
        return found
    if chance_critical >= limits.add:
        if chance_critical < limits.sure:
            # The rules read no danger here: the duty room checks the model's word first.
            return _to_triage(found, catalogue, lexicon, "added to triage")
        return _flag_critical(found, fallback, catalogue, lexicon, "added")
    if chance_hazard >= limits.hazard:
        hazard = _as_hazard(
            event, text, category, classified_by, catalogue, lexicon, reading, role, active_rules
        )
        return hazard._replace(opinion="hazard")
    if (
        chance_hazard >= limits.doubt
        and on_the_clock_by_category(found, lexicon)
        and event.severity is not Severity.CRITICAL
    ):
        # An incident category runs on the emergency clock with no critical reading (积水
        # 内涝, 交通事故 are high by default): half a hazard by the model's reading (a ditch
        # half blocked, a flood gauge missing), the duty room looks first, as it does for
        # a critical reading it doubts.
        return _to_triage(found, catalogue, lexicon, "doubted")
    return found


def _flag_critical(
    found: Assessment,
    fallback: Category,
    catalogue: Catalogue,
    lexicon: DangerLexicon,
    opinion: str,
) -> Assessment:
    """``found`` flagged critical on the model's word.

    An unplaced report, or one in a hazard category (火灾隐患 …), goes to the duty room
    (险情待核实: minutes; what it is is not known yet, and a hazard category has no
    emergency clock), a placed one runs critical.
    """
    code = found.category.code
    if (found.category is fallback or lexicon.is_hazard_category(code)) and (
        lexicon.triage in catalogue
    ):
        return _to_triage(found, catalogue, lexicon, opinion)
    if code == lexicon.triage:
        return found._replace(hazard=False, opinion=opinion)
    return found._replace(severity=Severity.CRITICAL, hazard=False, opinion=opinion)


def _to_triage(
    found: Assessment, catalogue: Catalogue, lexicon: DangerLexicon, opinion: str
) -> Assessment:
    """``found`` checked first (险情待核实): the triage category, ``high``, not a hazard.

    Flagged critical all the same (the duty room's wall clock is minutes); what it is
    the duty room says when it re-files the case.
    """
    triage = catalogue.get(lexicon.triage)
    if triage is None:  # no triage category: the reading stands (as without a model)
        return found._replace(opinion=opinion)
    severity = higher(at_most(found.severity, Severity.HIGH), Severity.HIGH)
    return found._replace(category=triage, severity=severity, hazard=False, opinion=opinion)


def _as_hazard(
    event: GridEvent,
    text: str,
    category: Category,
    classified_by: tuple[str, ...] | None,
    catalogue: Catalogue,
    lexicon: DangerLexicon,
    reading: DangerReading,
    role: str | None,
    rules: SeverityRules,
) -> Assessment:
    """The report as a hazard (隐患): a hazard category on rectification days, at most high.

    ``category``: as placed by the report's code or the classifier, before any urgent
    matter or triage moved it.
    """
    urgent = _urgent_category(reading, lexicon, category, catalogue, hazard=True)
    if urgent is not None:
        # An open hole is there now, whatever the report fears next: wall-clock hours.
        category = urgent
    elif (
        category.code == catalogue.fallback
        or category.severity is Severity.CRITICAL
        or (category.code.startswith(_INCIDENTS) or category.code == lexicon.triage)
    ):
        moved = catalogue.get(lexicon.hazard_category(reading, category.code) or "")
        category = moved or category
    # No danger words: a hazard is what may happen. Capped at high, never critical.
    severity = assess_severity(category, event.severity, "", reporter_role=role, rules=rules)
    severity = at_most(severity, Severity.HIGH)
    return Assessment(category, severity, text, classified_by, True, reading.cues)


def _assess_by_rules(
    event: GridEvent,
    text: str,
    category: Category,
    classified_by: tuple[str, ...] | None,
    fallback: Category,
    catalogue: Catalogue,
    active_rules: SeverityRules,
    lexicon: DangerLexicon | None,
    reading: DangerReading | None,
    severity_found: Sequence[tuple[int, str]],
    negated: Sequence[tuple[int, str]],
    role: str | None,
) -> Assessment:
    """The rules' assessment (the lexicon's reading, no second opinion)."""
    if (
        reading is not None
        and lexicon is not None
        and (
            reading.hazard
            or (
                # 燃气泄漏 filed by the keywords for a 液化气瓶 and nothing said of a leak,
                # a smell or anyone hurt (气瓶堆在楼道口): the twin hazard, not the county's
                # call-out. A sender's own code (a camera's gas_leak), its 特急 and severity
                # words (紧急) are a person's or a sensor's word: they stand.
                classified_by is not None
                and not severity_found
                and event.severity is not Severity.CRITICAL
                and lexicon.tells_no_danger(reading, category.code, text)
            )
        )
    ):
        return _as_hazard(
            event, text, category, classified_by, catalogue, lexicon, reading, role, active_rules
        )
    if reading is not None and reading.urgent is not None and lexicon is not None:
        # An urgent matter (电梯困人, a fight, 肇事肇祸, someone out of contact, an open
        # hole) runs on wall-clock hours whichever sibling the keywords chose (电梯故障,
        # 严重精神障碍患者, 其他事件): the text says what is happening, not the 小类.
        category = _urgent_category(reading, lexicon, category, catalogue) or category
    # A drill or an alarm found false (消防演练, 是误会): its danger words raise nothing.
    not_real = reading is not None and reading.not_real
    severity = assess_severity(
        category,
        event.severity,
        "" if not_real else text,
        reporter_role=role,
        rules=active_rules,
        found=() if not_real else severity_found,
    )
    if negated and not not_real:
        # A danger word right after a negation (未起火, 无人员被困) is no emergency, but a
        # look within hours all the same: a false escalation to high costs a quick
        # downgrade by the centre (severity.py), a false critical the county's call-out.
        asked = active_rules.level_of(negated)
        if asked is not None:
            severity = higher(severity, at_most(asked, Severity.HIGH))
    if not_real:
        # Nor does the category's default (溺水, 火灾 are critical by category): a safety
        # talk or a camera alert checked as normal work is no emergency.
        severity = at_most(severity, Severity.NORMAL)
    if reading is None or lexicon is None:
        return Assessment(category, severity, text, classified_by)
    level = lexicon.level_for(reading, category.code) if reading.level is not None else None
    if level is not None:
        triage = catalogue.get(lexicon.triage) if category is fallback else None
        if triage is not None:
            # Unplaced: the town's duty room looks first, within minutes, and re-files it;
            # not yet a critical incident at the county (nobody knows what it is).
            category = triage
            severity = higher(severity, at_most(level, Severity.HIGH))
        else:
            severity = higher(severity, level)
    if (
        reading.below_alarm
        and severity is Severity.CRITICAL
        and event.severity is not Severity.CRITICAL
    ):
        # A gas reading short of an alarm (8%LEL 间歇报警后回落, 低于报警阈值, a self-test)
        # and nothing else: the gas company within hours, not the county's call-out,
        # whatever the gas words or the category (燃气泄漏 is critical by default) ask.
        # A sender's own 特急 is a person's word: it stands.
        severity = Severity.HIGH
        triage = catalogue.get(lexicon.triage)
        if lexicon.is_hazard_category(category.code) and triage is not None:
            # In a hazard category (燃气设施) it would wait rectification days: the duty
            # room looks within minutes instead.
            category = triage
    hazard = (
        lexicon.is_hazard_category(category.code)
        and severity is not Severity.CRITICAL
        and not not_real
    )
    if hazard and (reading.event_now or lexicon.tells_event(text)):
        # A hazard category (危化品, 燃气隐患) and an event told as happening here (两名工人
        # 皮肤灼伤): the duty room verifies within minutes, not a rectification in days.
        triage = catalogue.get(lexicon.triage)
        if triage is not None:
            category, hazard = triage, False
            severity = higher(severity, Severity.HIGH)
    return Assessment(category, severity, text, classified_by, hazard, reading.cues)


def _urgent_category(
    reading: DangerReading,
    lexicon: DangerLexicon,
    category: Category,
    catalogue: Catalogue,
    *,
    hazard: bool = False,
) -> Category | None:
    """The urgent matter's category the report moves to, or ``None`` to stay.

    Not from a critical category (the emergency clock is faster), nor for an unplaced
    report with a critical cue: the duty room triages it (险情待核实) within minutes.
    """
    urgent = reading.urgent
    if (
        urgent is None
        or (hazard and not urgent.even_as_hazard)
        or category.code in lexicon.urgent_categories
        or category.severity is Severity.CRITICAL
        or (category.code == catalogue.fallback and reading.level is Severity.CRITICAL)
    ):
        return None
    return catalogue.get(urgent.category)


#: Incident categories (突发事件): a hazard report classified here moves to a hazard one.
_INCIDENTS = ("SJ04",)


def on_the_clock_by_category(found: Assessment, lexicon: DangerLexicon) -> bool:
    """``found`` is read high in an incident category that is high by default and not an
    urgent matter's (积水内涝, 交通事故, 供水管爆裂, 树木倒伏): routes.yaml's ``emergencies``
    runs it on the emergency clock with the county informed, without a critical reading.

    The trainer's simulation (tools/danger_model.py) asks the same question.
    """
    category = found.category
    return (
        found.severity is Severity.HIGH
        and category.code.startswith(_INCIDENTS)
        and category.severity is Severity.HIGH
        and category.code not in lexicon.urgent_categories
    )


@functools.lru_cache(maxsize=4)
def _joint_scan(
    categories: KeywordMatcher,
    severity: KeywordMatcher,
    danger: KeywordMatcher | None,
    patterns: PatternSet | None,
) -> JointScan:
    # A few, not one: tests and a rules reload bring other word lists.
    if danger is None:
        return JointScan((categories, severity))
    return JointScan((categories, severity, danger), patterns)


def _default_danger(catalogue: Catalogue) -> DangerLexicon | None:
    # The bundled lexicon names bundled categories: only for a catalogue that has them.
    lexicon = DangerLexicon.default()
    return lexicon if lexicon.triage in catalogue else None


def plan_case(
    event: GridEvent,
    assessment: Assessment,
    rules: RuleSet,
    regions: RegionGraph,
    start: float,
    sla_scale: float = 1.0,
) -> CasePlan:
    """Route a new case and count its accept deadline from ``start`` (epoch s)."""
    category = assessment.category
    # Time-of-day rules are about when the incident was seen, not when it was processed.
    local = event.reported_at.astimezone(rules.calendar.tzinfo).time()
    decision = rules.route(
        RouteFacts(
            category=category.code,
            kind=category.kind,
            network=event.source_network,
            severity=assessment.severity,
            region_code=event.region_code,
            local_time=local,
            request_type=event.request_type,
        )
    )
    tier = decision.tier
    region = event.region_code
    accept_by, warn_at = stage_clock(rules, decision.policy, "accept", start, sla_scale)
    return CasePlan(
        decision=decision,
        centre=regions.ancestor(region, tier),
        department=decision.department or category.department,
        priority=decision.priority or assessment.severity,
        informed=tuple(
            (informed, regions.ancestor(region, informed))
            for informed in decision.inform
            if informed != tier
        )
        if decision.inform
        else (),
        start=start,
        accept_by=accept_by,
        accept_warn_at=warn_at,
    )


def stage_clock(
    rules: RuleSet, policy_name: str, stage: str, start: float, scale: float = 1.0
) -> tuple[float, float]:
    """``(deadline, warning)`` of ``stage`` under the named policy, started at ``start``.

    ``stage`` is a case's ``stage`` (``accept`` or ``resolve``, stored as text).
    """
    policy = rules.policies[policy_name]
    # The policy's own calendar (office hours, or every day for 环卫).
    calendar = rules.calendar_for(policy)
    # Entries hold the policy and calendar they were computed with, so a rules reload
    # that reuses a policy name recomputes instead of trusting the name.
    key = (policy_name, stage, start, scale)
    known = _STAGE_TIMES.get(key)
    if known is not None and known[0] is policy and known[1] is calendar:
        return known[2], known[3]
    deadline, warn = stage_timestamps(calendar, policy, cast(Stage, stage), utc(start), scale)
    remember(_STAGE_TIMES, _STAGE_TIMES_KEPT, key, (policy, calendar, deadline, warn))
    return deadline, warn


def utc(ts: float) -> datetime:
    """``ts`` (epoch s) as an aware UTC datetime, remembered.

    Steps of one input share its time, and cases their deadlines (close of business) and
    report times: most conversions were made a moment ago. Datetimes are immutable.
    """
    found = _DATETIMES.get(ts)
    if found is None:
        found = remember(_DATETIMES, _DATETIMES_KEPT, ts, datetime.fromtimestamp(ts, UTC))
    return found


_DATETIMES: dict[float, datetime] = {}
_DATETIMES_KEPT = 4096
#: (policy name, stage, start epoch, scale) -> (policy, calendar, deadline, warning)
_STAGE_TIMES: dict[tuple[str, str, float, float], tuple[SlaPolicy, WorkCalendar, float, float]] = {}
_STAGE_TIMES_KEPT = 4096
