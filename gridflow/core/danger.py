"""Danger cues and modality: is someone in danger now, or could they be (隐患)?

The keyword classifier (``classify.py``) answers *what* a report is about. This module
answers two questions around it, from the lexicon in ``routing_rules/danger.yaml``:

* **danger cues**: words of fire, smoke, gas, drowning, collapse, subsidence, landslide,
  trapped people, electricity, injuries, violence and weapons, each class with a severity
  level. A report the classifier cannot place that carries any cue goes to triage
  (险情待核实) instead of the village's working-day fallback; a cue raises the severity.
* **modality**: hazard markers ("存在…隐患", "有…风险", "万一", "防止", "未发生") make a
  report a hazard (隐患) unless an incident marker ("着火了", "正在", "救命") says it is
  happening. Negations right before a cue word (没有人受伤) cancel that cue.

* **compositional cues** (``compose``, :mod:`gridflow.core.danger_patterns`): a thing
  (燃气, 河, 墙, 刀, 人 …) and what is happening to it (味, 掉进, 倒了, 挥, 叫不醒 …) near
  each other in one clause raise a cue class like a listed word, so phrasings nobody
  listed (天然气的味道好重) are caught;
* **conditions** (``conditions``, :class:`Conditions`): a structure or device in a bad
  state (雨棚架子锈断, 堡坎鼓起来, 木楼梯朽了) is a hazard, whatever collapse word its state
  also completes, unless an event, a victim or an immediacy marker is told beside it;
  compose patterns marked ``incident`` (a person's state now, a failing dike) count as an
  incident marker; ``not_real`` words (演练, 讲座, 误会, 表扬, 开玩笑) clear the reading;
* **events now** (``events_now``): an event told as happening here (掉进, 砸中, 引燃,
  蔓延, 在往下, 倒地, 灼伤, 屋头还有) turns a hazard reading (a hazard marker, a
  condition) into an incident: an emergency read as a hazard is the worst error;
* **elsewhere** (``elsewhere``): an incident told as elsewhere or earlier (隔壁县上周,
  邻市, 去年) is not this report's: it names a hazard here;
* **a fire that did not catch or is out** (``not_caught``: 没烧起来, 没起火, 无明火,
  浇灭): when only fire or smoke is told, a hazard marker, and the fire and smoke told
  before it (昨晚电线冒烟) are no event now: the scorched wire is left to rectify;
* **a check's finding** (``checks``): 核实为, 复核为 and the clause after it, what an
  alert or a report turned out to be: a finding that names no danger (核实为村民熏腊肉)
  clears what was told before it, and with nothing told after it the report reads as
  not real;
* **urgent matters** (``urgent``): 电梯困人, 肇事肇祸, 独居人员失联, open holes, fights,
  people down, read from the text whichever 小类 the keywords chose; assessment
  (``opening.py``) moves such a report to the matter's category, which runs on
  wall-clock hours;
* **hazard twins** (``hazard_twins``): an incident category the keywords also choose for
  the thing itself (液化气瓶 → 燃气泄漏) has a twin hazard category (燃气安全隐患): a report
  in it that tells no danger at all (:meth:`DangerLexicon.tells_no_danger`) is the twin's
  hazard, and so is a hazard report without a cue filed under it.

Decisions are data (``DangerReading``), remembered per text: the classifier runs per
event and report texts repeat.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import (
    KeywordMatcher,
    bundled_dictionary,
    keyword_dictionary,
    normalise,
)
from gridflow.core.danger_model import MODEL_FILE, DangerModel
from gridflow.core.danger_patterns import PatternSet, ThingStatePattern
from gridflow.core.yaml_lines import YamlDocument
from schemas.common import Severity

__all__ = ["DangerCue", "DangerLexicon", "DangerReading", "UrgentMatter"]

_FIELDS = frozenset(
    {
        "version",
        "triage",
        "hazard_fallback",
        "hazard_twins",
        "negation_reach",
        "negations",
        "not_real",
        "below_alarm",
        "named_risks",
        "hazard_categories",
        "cues",
        "hazard_markers",
        "incident_markers",
        "conditionals",
        "compose",
        "conditions",
        "urgent",
        "elsewhere",
        "away",
        "events_now",
        "flight",
        "checks",
        "not_caught",
    }
)
_CUE_FIELDS = frozenset({"level", "hazard", "words", "not_in"})
_COMPOSE_FIELDS = frozenset({"window", "blockers", "ignore", "patterns"})
_PATTERN_FIELDS = frozenset({"cue", "things", "states", "window", "clause", "incident"})
_CONDITIONS_FIELDS = frozenset({"window", "overridden_by", "patterns", "events"})
_CONDITION_FIELDS = frozenset({"things", "states", "window"})
_EVENTS_FIELDS = frozenset({"words", "blockers"})
_BELOW_ALARM_FIELDS = frozenset({"cues", "words", "unless"})
_FLIGHT_FIELDS = frozenset({"fires", "words"})
_CHECKS_FIELDS = frozenset({"words", "confirm"})
_NOT_CAUGHT_FIELDS = frozenset({"words", "cues"})
_URGENT_FIELDS = frozenset({"category", "cues", "things", "states", "keep", "even_as_hazard"})
_CACHE_SIZE = 8192
_RANK = {Severity.LOW: 0, Severity.NORMAL: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
# What a matched word is: a cue of a class, a hazard or incident marker, or a negation.
_HAZARD = "\x00hazard"
_INCIDENT = "\x00incident"
_NEGATION = "\x00negation"
_CONDITIONAL = "\x00conditional"
_NOT_REAL_MARKER = "\x00not-real"
_BELOW_ALARM = "\x00below-alarm"
#: One-character negations right before a ``below_alarm`` ``unless`` word (未达到报警值).
_SHORT_NEGATIONS = frozenset("未没不无")
_ELSEWHERE = "\x00elsewhere"
_AWAY = "\x00away"
_FLIGHT = "\x00flight"
_CHECK = "\x00check"
_CONFIRM = "\x00confirm"
_NOT_CAUGHT = "\x00not-caught"
#: What right after a check word makes it a question (核查是否, 核实是不是).
_ASKS = frozenset("否不")
#: Marks that end a clause (a conditional's reach), after normalisation.
_CLAUSE_END = frozenset(",.;:!?，。；：！？、\n")
#: An incident told elsewhere or earlier ends at a space too: grid workers' notes use
#: spaces between clauses (隔壁县上周滑坡埋了人 我们村后山也有裂口).
_ELSEWHERE_END = _CLAUSE_END | {" "}
#: Words right before an event word (within this many characters) that say it did not
#: or may not happen (没有人受伤, 差点掉进去, 容易引燃).
_EVENT_BLOCK_REACH = 6


@dataclass(frozen=True, slots=True)
class DangerCue:
    """One class of danger words (``fire``, ``gas`` …), as configured."""

    name: str
    level: Severity
    #: the hazard category a hazard report of this class goes to (火灾隐患 for fire).
    hazard_category: str
    words: tuple[str, ...]
    #: categories whose own urgency covers this cue (电梯困人 for trapped).
    not_in: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UrgentMatter:
    """A matter that runs on wall-clock hours (电梯困人, 打架斗殴 …), read from the text."""

    name: str
    #: the category a report of this matter is filed under.
    category: str
    #: cue classes that make a report this matter on their own (violence → a fight).
    cues: frozenset[str] = frozenset()
    #: categories that already handle this matter (井盖 by owner for an open manhole).
    keep: frozenset[str] = frozenset()
    #: moves a hazard report too: the matter is there now (井盖没了，要出事).
    even_as_hazard: bool = False


@dataclass(frozen=True, slots=True)
class DangerReading:
    """What the lexicon found in one text."""

    #: cue classes found (not negated), strongest first, then in file order.
    cues: tuple[str, ...]
    #: the highest level of those cues; ``None`` without cues.
    level: Severity | None
    #: a hazard marker and no incident marker.
    hazard: bool
    #: an incident marker (happening now).
    incident: bool
    #: the cue and marker words found, in text order, for explaining a decision; then
    #: the compositional patterns found, in angle brackets (<gas-smell>).
    words: tuple[str, ...]
    #: the urgent matter the text describes (wall-clock hours), if any.
    urgent: UrgentMatter | None = None
    #: a drill, a talk or an alarm found false (``not_real``): no danger now, and the
    #: text's danger words must not raise the severity either.
    not_real: bool = False
    #: an event told as happening here (``events_now``) overrode a hazard reading: in a
    #: hazard category (危化品, 燃气隐患) the report is an incident to verify now.
    event_now: bool = False
    #: a gas or toxic reading short of an alarm (``below_alarm``: 8%LEL 间歇报警后回落,
    #: 低于报警阈值, 自检), with no other class's cue and no incident marker: at most high.
    below_alarm: bool = False

    @property
    def names_an_event(self) -> bool:
        """The text tells an event in its own words: an incident marker, an event told as
        happening, or an emergency pattern (``<gas-smell>``, ``<burst-vessel>``). The
        learned second opinion may add to such a reading but never turn it into a hazard:
        an emergency read as a hazard waits days, the worst error there is."""
        return self.incident or self.event_now or any(w[:1] == "<" for w in self.words)


_NOTHING = DangerReading((), None, False, False, ())
_NOT_REAL = DangerReading((), None, False, False, (), not_real=True)


@dataclass(frozen=True, slots=True)
class Conditions:
    """Hazards told as a condition: a structure or device in a bad state (锈断, 鼓出来, 朽了).

    A report holding one of ``patterns`` is a hazard, cue words or not (堡坎鼓起来要垮,
    木楼梯朽了往下陷), unless it also tells of an event now: an incident marker (正在, 刚刚,
    救命, a victim pattern), a cue of a class in ``overridden_by`` (a victim, a fire, a
    gas smell: 墙裂开了压到人 is an incident) or one of ``events`` (it fell: 倒下来).
    """

    patterns: tuple[ThingStatePattern, ...] = ()
    overridden_by: frozenset[str] = frozenset()
    #: normalised words saying the structure has already given way.
    events: tuple[str, ...] = ()


_NO_PATTERNS: tuple[frozenset[str], tuple[str, ...], frozenset[str]] = (
    frozenset(),
    (),
    frozenset(),
)


class DangerLexicon:
    """The danger cues, modality markers and hazard categories; immutable, thread-safe."""

    __slots__ = (
        "_condition_names",
        "_event_blockers",
        "_events_now",
        "_events_pattern",
        "_flight_fires",
        "_hazard_prefixes",
        "_incident_patterns",
        "_kind",
        "_matcher",
        "_named_risks",
        "_not_caught_cues",
        "_pattern_cue",
        "_pattern_order",
        "_patterns",
        "_quieted_events",
        "_read_cached",
        "below_alarm_cues",
        "below_alarm_unless",
        "conditions",
        "cues",
        "hazard_fallback",
        "hazard_twins",
        "model",
        "negation_reach",
        "triage",
        "urgent",
        "urgent_categories",
    )

    def __init__(
        self,
        cues: Iterable[DangerCue],
        *,
        hazard_markers: Iterable[str],
        incident_markers: Iterable[str],
        conditionals: Iterable[str] = (),
        negations: Iterable[str] = (),
        not_real: Iterable[str] = (),
        below_alarm: Iterable[str] = (),
        below_alarm_cues: Iterable[str] = (),
        below_alarm_unless: Iterable[str] = (),
        named_risks: Iterable[str] = (),
        negation_reach: int = 3,
        triage: str,
        hazard_categories: Iterable[str] = (),
        hazard_fallback: str | None = None,
        hazard_twins: Mapping[str, str] | None = None,
        composed: Iterable[tuple[ThingStatePattern, str]] = (),
        compose_ignore: Iterable[str] = (),
        compose_blockers: Iterable[str] = (),
        urgent: Iterable[tuple[UrgentMatter, ThingStatePattern | None]] = (),
        incident_patterns: Iterable[str] = (),
        conditions: Conditions = Conditions(),
        elsewhere: Iterable[str] = (),
        away: Iterable[str] = (),
        events_now: Iterable[str] = (),
        event_blockers: Iterable[str] = (),
        flight: Iterable[str] = (),
        flight_fires: Iterable[str] = (),
        checks: Iterable[str] = (),
        confirm: Iterable[str] = (),
        not_caught: Iterable[str] = (),
        not_caught_cues: Iterable[str] = (),
        model: DangerModel | None = None,
        dictionary: frozenset[str] | None = None,
    ) -> None:
        """Build from the configured classes and word lists; :meth:`load` reads the file.

        ``composed``: thing-and-state patterns, each with the cue class it stands for;
        ``urgent``: the urgent matters in order (the first one found wins), each with
        the pattern that finds it in a text (or only its cue classes);
        ``incident_patterns``: names of ``composed`` patterns that mark an incident (a
        person's state now, a dike giving way), like an incident marker;
        ``conditions``: hazards told as a structure's condition (:class:`Conditions`);
        ``below_alarm``: words of a gas or toxic reading short of an alarm (低于报警阈值,
        间歇报警, 回落, 自检): with cues of ``below_alarm_cues`` classes only and no
        incident marker and none of ``below_alarm_unless`` (past the threshold, someone
        feeling it: 头晕恶心 is a gas cue) anywhere in the text, the reading is
        :attr:`DangerReading.below_alarm`;
        ``named_risks``: hazard markers that name the risk (隐患, 风险): beside one, an
        incident pattern does not make the report an incident (有管涌的风险);
        ``elsewhere``: markers of an incident elsewhere or earlier (隔壁县, 去年): up to
        the end of their clause, what is told happened there, not here (an incident
        marker in it does not count), and a report telling one is a hazard unless the
        rest of it tells an incident;
        ``away``: someone away (来电人在外地), longer than the elsewhere words they hold,
        so that a call about a parent at home tells no incident elsewhere;
        ``events_now``: an event in progress or done (掉进, 砸中, 引燃, 蔓延, 在往下, 倒地,
        灼伤), a victim or a person in danger (屋头还有): outside a conditional or an
        elsewhere clause and not right after a negation or a compose blocker (没有人受伤,
        差点掉进去), one makes a hazard reading (a hazard marker, a structure's condition)
        an incident, unless a named risk (隐患, 风险) says the report is about a risk.
        ``flight``: what one would do if a fire broke out (都跑不出, 往哪跑, 咋办): after
        one of ``flight_fires`` in the same clause (着火了都跑不出去, 着火咋办), the
        clause up to it tells what might happen, like a conditional's.
        ``checks``: a check's finding (核实为, 复核为): what its clause says the alert or
        report turned out to be. A finding with no cue, no incident marker and none of
        ``confirm`` (真实, 属实) in its clause replaces what was told before it (the
        alert's 检测到烟雾 raises nothing); what is told after its clause still counts;
        with nothing after it, the reading is :attr:`DangerReading.not_real`.
        ``not_caught``: a fire that did not catch (没烧起来, 没起火): with no cue outside
        ``not_caught_cues`` (fire, smoke) in the report, a hazard marker; the events now of
        those classes (an event word holding one of their words: 冒烟, 着火) told before it
        are over, no event now; other events (流血, 掉进) and events after it still are.
        ``model``: the learned second opinion (``danger_model.jsonl``) assessment gates
        on, or ``None`` (the rules alone). ``dictionary``: what jieba segments the text
        with, the bundle's keywords (:func:`~gridflow.core.classify.keyword_dictionary`;
        default: the bundled rules'), as the classifier beside it does: the lexicon was
        tuned reading so (its own words in the dictionary would change how its
        one-character cues segment: 火很大 as a word hides 火).
        """
        self.cues: Mapping[str, DangerCue] = {cue.name: cue for cue in cues}
        pairs = list(composed)
        for pattern, cue_name in pairs:
            if cue_name not in self.cues:
                raise ValueError(f"pattern {pattern.name!r}: unknown cue class {cue_name!r}")
        self._pattern_cue: Mapping[str, str] = {p.name: cue_name for p, cue_name in pairs}
        ignore = [normalise(word) for word in compose_ignore]
        blockers = [normalise(word) for word in compose_blockers]
        matters = list(urgent)
        self.urgent: tuple[UrgentMatter, ...] = tuple(matter for matter, _ in matters)
        self.urgent_categories = frozenset(
            code for matter in self.urgent for code in (matter.category, *matter.keep)
        )
        # One set for both: one pass over each piece of a report's text.
        self.conditions = conditions
        flight = tuple(flight)
        checks, confirm = tuple(checks), tuple(confirm)
        if confirm and not checks:
            raise ValueError("confirm words need check words")
        self._flight_fires = tuple(normalise(word) for word in flight_fires)
        if flight and not self._flight_fires:
            raise ValueError("flight words need fires to follow")
        self.below_alarm_cues = frozenset(below_alarm_cues)
        self._not_caught_cues = frozenset(not_caught_cues)
        not_caught = tuple(not_caught)
        if not_caught and not self._not_caught_cues:
            raise ValueError("not_caught words need the cue classes they put out")
        self.below_alarm_unless = tuple(normalise(word) for word in below_alarm_unless)
        for section, named in (
            ("conditions", conditions.overridden_by),
            ("below_alarm", self.below_alarm_cues),
            ("not_caught", self._not_caught_cues),
        ):
            unknown = named - set(self.cues)
            if unknown:
                raise ValueError(f"{section}: unknown cue classes {sorted(unknown)}")
        self._condition_names = frozenset(p.name for p in conditions.patterns)
        self._incident_patterns = frozenset(incident_patterns)
        if not self._incident_patterns <= set(self._pattern_cue):
            raise ValueError("an incident pattern is not a compose pattern")
        patterns = (
            [p for p, _ in pairs]
            + [p for _, p in matters if p is not None]
            + list(conditions.patterns)
        )
        names = [p.name for p in patterns]
        if len(set(names)) != len(names):
            raise ValueError("a pattern name is used twice (compose, urgent, conditions)")
        self._patterns = PatternSet(patterns, ignore=ignore, blockers=blockers)
        self._pattern_order = tuple(p.name for p, _ in pairs)
        self.triage = triage
        self.hazard_fallback = hazard_fallback
        self.hazard_twins: Mapping[str, str] = dict(hazard_twins or {})
        self.negation_reach = negation_reach
        self._hazard_prefixes = tuple(hazard_categories)
        cue_of: dict[str, str] = {}
        for cue in self.cues.values():
            for word in cue.words:
                cue_of[normalise(word)] = cue.name
        # word -> (cue class or "", marker or ""). A marker that holds a cue word (着火了
        # holds 着火) counts as that cue too: the longest word wins the match, and the cue
        # must not be lost to it. Not a fire that did not catch (没起火 holds 起火).
        kind: dict[str, tuple[str, str]] = {word: (name, "") for word, name in cue_of.items()}
        markers = (
            (negations, _NEGATION),
            (hazard_markers, _HAZARD),
            (incident_markers, _INCIDENT),
            (conditionals, _CONDITIONAL),
            (not_real, _NOT_REAL_MARKER),
            (elsewhere, _ELSEWHERE),
            (away, _AWAY),
            (below_alarm, _BELOW_ALARM),
            (flight, _FLIGHT),
            (checks, _CHECK),
            (confirm, _CONFIRM),
            (not_caught, _NOT_CAUGHT),
        )
        for listed, marker in markers:
            for raw in listed:
                word = normalise(raw)
                held = (
                    ""
                    if marker
                    in (
                        _NEGATION,
                        _NOT_REAL_MARKER,
                        _ELSEWHERE,
                        _AWAY,
                        _FLIGHT,
                        _CHECK,
                        _CONFIRM,
                        _NOT_CAUGHT,
                    )
                    else cue_of.get(word)
                    or next((name for cue_word, name in cue_of.items() if cue_word in word), "")
                )
                kind[word] = (held, marker)
        self._kind: Mapping[str, tuple[str, str]] = kind
        self._named_risks = frozenset(normalise(word) for word in named_risks)
        if not self._named_risks <= {w for w, (_, m) in kind.items() if m == _HAZARD}:
            raise ValueError("a named risk is not a hazard marker")
        self._matcher = KeywordMatcher(
            kind, dictionary=dictionary if dictionary is not None else bundled_dictionary()
        )
        self._events_now = tuple(normalise(word) for word in events_now)
        # One search over the text for all of them (a fifth of readings are hazards).
        self._events_pattern = (
            re.compile(
                "|".join(re.escape(w) for w in sorted(self._events_now, key=len, reverse=True))
            )
            if self._events_now
            else None
        )
        quieting = [
            normalise(word) for name in self._not_caught_cues for word in self.cues[name].words
        ]
        # Event words of a fire or smoke (冒烟 holds the smoke word 冒烟): before a fire that
        # did not catch, no event now.
        self._quieted_events = frozenset(
            word for word in self._events_now if any(q in word for q in quieting)
        )
        self._event_blockers = tuple(
            dict.fromkeys(
                [
                    *blockers,
                    *(normalise(word) for word in negations),
                    *(normalise(word) for word in event_blockers),
                ]
            )
        )
        self._read_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._read)
        #: the learned second opinion, or ``None``: assessment (``opening.py``) gates on it.
        self.model = model

    def with_model(self, model: DangerModel | None) -> DangerLexicon:
        """This lexicon with another second opinion (``None``: the rules alone)."""
        # A shallow copy: the word tables are shared, and so is the reading memo (the
        # reading does not depend on the model).
        other = copy.copy(self)
        other.model = model
        return other

    @classmethod
    def load(
        cls, path: str | Path, catalogue: Catalogue, *, model: DangerModel | None = None
    ) -> DangerLexicon:
        """Load ``danger.yaml``; raises ``ConfigLoadError`` (file:line) for anything invalid.

        ``model``: the second opinion to gate on (:meth:`load_beside` reads the one of
        the lexicon's directory).

        Refused: unknown fields, a category that is not in ``catalogue``, an unknown
        level, a word listed twice (in any list), an empty list.
        """
        doc = YamlDocument(path)
        # The bundle's keywords beside it segment its texts (KeywordMatcher).
        keywords = Path(path).parent / "keywords.yaml"
        top = doc.fields(
            doc.root,
            "danger file",
            required=frozenset({"triage", "cues", "hazard_markers", "incident_markers"}),
            optional=_FIELDS,
        )
        if "version" in top and doc.scalar(top["version"], "version") != "1":
            raise doc.error(top["version"], "unsupported danger version (this code reads 1)")
        triage = doc.scalar(top["triage"], "triage")
        if triage not in catalogue:
            raise doc.error(top["triage"], f"triage category {triage!r} is not in the catalogue")
        # A word is listed once among the cues and once among the markers (a marker may
        # hold a cue word: 着火了 is an incident marker and a fire cue).
        seen_cue: dict[str, int] = {}
        seen_marker: dict[str, int] = {}

        def words(node_key: str, node: object, what: str) -> list[str]:
            seen = seen_cue if node_key == "words" else seen_marker
            items = doc.sequence(node, what)  # type: ignore[arg-type]
            if not items:
                raise doc.error(node, f"{what} must list at least one word")  # type: ignore[arg-type]
            found: list[str] = []
            for item in items:
                word = doc.scalar(item, f"a word of {what}")
                key = normalise(word)
                if key in seen:
                    raise doc.error(item, f"word {word!r} already listed at line {seen[key]}")
                seen[key] = doc.line(item)
                found.append(word)
            return found

        def section(
            key: str, required: frozenset[str], optional: frozenset[str]
        ) -> dict[str, Node] | None:
            # An optional section of the file: its fields, or None when it is left out.
            if key not in top:
                return None
            return doc.fields(top[key], key, required=required, optional=optional)

        def named_risks(node: Node) -> list[str]:
            listed = {normalise(word) for word in hazard_marker_words}
            found: list[str] = []
            for item in doc.sequence(node, "named_risks"):
                word = doc.scalar(item, "a named risk")
                if normalise(word) not in listed:
                    raise doc.error(item, f"named risk {word!r} is not a hazard marker")
                found.append(word)
            return found

        cues: list[DangerCue] = []
        for name, (_key, body) in doc.mapping(top["cues"], "cues").items():
            fields = doc.fields(
                body,
                f"cue {name}",
                required=frozenset({"level", "hazard", "words"}),
                optional=_CUE_FIELDS,
            )
            level_text = doc.scalar(fields["level"], f"level of cue {name}")
            try:
                level = Severity(level_text)
            except ValueError:
                known = ", ".join(s.value for s in _RANK)
                raise doc.error(
                    fields["level"], f"unknown level {level_text!r} (known: {known})"
                ) from None
            hazard = doc.scalar(fields["hazard"], f"hazard of cue {name}")
            if hazard not in catalogue:
                raise doc.error(
                    fields["hazard"], f"hazard category {hazard!r} is not in the catalogue"
                )
            exempt: set[str] = set()
            listed = fields.get("not_in")
            for item in doc.sequence(listed, f"not_in of cue {name}") if listed else ():
                code = doc.scalar(item, f"a category of cue {name}")
                if code not in catalogue:
                    raise doc.error(item, f"category {code!r} is not in the catalogue")
                exempt.add(code)
            cues.append(
                DangerCue(
                    name,
                    level,
                    hazard,
                    tuple(words("words", fields["words"], f"cue {name}")),
                    frozenset(exempt),
                )
            )
        prefixes: list[str] = []
        if "hazard_categories" in top:
            codes = {category.code for category in catalogue.categories}
            for item in doc.sequence(top["hazard_categories"], "hazard_categories"):
                prefix = doc.scalar(item, "a hazard category")
                if not any(code.startswith(prefix) for code in codes):
                    raise doc.error(item, f"hazard category {prefix!r} matches no category")
                prefixes.append(prefix)
        fallback: str | None = None
        if "hazard_fallback" in top:
            fallback = doc.scalar(top["hazard_fallback"], "hazard_fallback")
            if fallback not in catalogue:
                raise doc.error(
                    top["hazard_fallback"], f"hazard category {fallback!r} is not in the catalogue"
                )
        twins: dict[str, str] = {}
        if "hazard_twins" in top:
            for code, (key, value) in doc.mapping(top["hazard_twins"], "hazard_twins").items():
                twin = doc.scalar(value, f"hazard twin of {code}")
                if code not in catalogue:
                    raise doc.error(key, f"category {code!r} is not in the catalogue")
                if twin not in catalogue:
                    raise doc.error(value, f"hazard category {twin!r} is not in the catalogue")
                if not twin.startswith(tuple(prefixes)):
                    raise doc.error(value, f"{twin!r} is not a hazard category (hazard_categories)")
                twins[code] = twin
        reach = 3
        if "negation_reach" in top:
            reach = int(doc.number(top["negation_reach"], "negation_reach", minimum=0))
        cue_names = {cue.name for cue in cues}

        def word_list(node: Node, what: str) -> tuple[str, ...]:
            # Pattern words may recur across patterns (人 is a thing of several), not in one.
            items = doc.sequence(node, what)
            if not items:
                raise doc.error(node, f"{what} must list at least one word")
            listed: dict[str, int] = {}
            for item in items:
                key = normalise(doc.scalar(item, f"a word of {what}"))
                if key in listed:
                    raise doc.error(item, f"word {key!r} already listed at line {listed[key]}")
                listed[key] = doc.line(item)
            return tuple(listed)

        def flag(fields: dict[str, Node], key: str, name: str, default: bool) -> bool:
            if key not in fields:
                return default
            value = doc.scalar(fields[key], f"{key} of {name}")
            if value not in ("true", "false"):
                raise doc.error(fields[key], f"{key} of {name} must be true or false")
            return value == "true"

        def pattern(
            name: str, fields: dict[str, Node], window: int, clause: bool
        ) -> ThingStatePattern:
            if "window" in fields:
                window = int(doc.number(fields["window"], f"window of {name}", minimum=1))
            clause = flag(fields, "clause", name, clause)
            return ThingStatePattern(
                name,
                word_list(fields["things"], f"things of {name}"),
                word_list(fields["states"], f"states of {name}"),
                window,
                clause,
            )

        def cue_set(node: Node, what: str) -> frozenset[str]:
            names: set[str] = set()
            for item in doc.sequence(node, what):
                name = doc.scalar(item, f"a cue class of {what}")
                if name not in cue_names:
                    raise doc.error(
                        item, f"unknown cue class {name!r} (known: {', '.join(cue_names)})"
                    )
                names.add(name)
            return frozenset(names)

        composed: list[tuple[ThingStatePattern, str]] = []
        incident_patterns: list[str] = []
        ignore: tuple[str, ...] = ()
        blockers: tuple[str, ...] = ()
        window = 6
        compose = section("compose", frozenset({"patterns"}), _COMPOSE_FIELDS)
        if compose is not None:
            if "window" in compose:
                window = int(doc.number(compose["window"], "compose window", minimum=1))
            if "ignore" in compose:
                ignore = word_list(compose["ignore"], "compose ignore")
            if "blockers" in compose:
                blockers = word_list(compose["blockers"], "compose blockers")
            for name, (_key, body) in doc.mapping(compose["patterns"], "patterns").items():
                fields = doc.fields(
                    body,
                    f"pattern {name}",
                    required=frozenset({"cue", "things", "states"}),
                    optional=_PATTERN_FIELDS,
                )
                cue_name = doc.scalar(fields["cue"], f"cue of pattern {name}")
                if cue_name not in cue_names:
                    raise doc.error(fields["cue"], f"unknown cue class {cue_name!r}")
                composed.append((pattern(name, fields, window, True), cue_name))
                if flag(fields, "incident", name, False):
                    incident_patterns.append(name)
        conditions = Conditions()
        condition_fields = section(
            "conditions", frozenset({"patterns", "overridden_by"}), _CONDITIONS_FIELDS
        )
        if condition_fields is not None:
            condition_window = window
            if "window" in condition_fields:
                condition_window = int(
                    doc.number(condition_fields["window"], "conditions window", minimum=1)
                )
            taken = {p.name for p, _ in composed}
            found_conditions: list[ThingStatePattern] = []
            for name, (key, body) in doc.mapping(condition_fields["patterns"], "patterns").items():
                if name in taken:
                    raise doc.error(key, f"condition {name!r} has a compose pattern's name")
                fields = doc.fields(
                    body,
                    f"condition {name}",
                    required=frozenset({"things", "states"}),
                    optional=_CONDITION_FIELDS,
                )
                found_conditions.append(pattern(name, fields, condition_window, True))
            conditions = Conditions(
                tuple(found_conditions),
                cue_set(condition_fields["overridden_by"], "conditions overridden_by"),
                word_list(condition_fields["events"], "conditions events")
                if "events" in condition_fields
                else (),
            )
        matters: list[tuple[UrgentMatter, ThingStatePattern | None]] = []
        if "urgent" in top:
            composed_names = {p.name for p, _ in composed} | {p.name for p in conditions.patterns}
            for name, (key, body) in doc.mapping(top["urgent"], "urgent").items():
                if name in composed_names:
                    raise doc.error(key, f"urgent matter {name!r} has a compose pattern's name")
                fields = doc.fields(
                    body,
                    f"urgent matter {name}",
                    required=frozenset({"category"}),
                    optional=_URGENT_FIELDS,
                )
                code = doc.scalar(fields["category"], f"category of {name}")
                if code not in catalogue:
                    raise doc.error(
                        fields["category"], f"category {code!r} is not in the catalogue"
                    )
                keep: set[str] = set()
                for item in (
                    doc.sequence(fields["keep"], f"keep of {name}") if "keep" in fields else ()
                ):
                    kept = doc.scalar(item, f"a category of {name}")
                    if kept not in catalogue:
                        raise doc.error(item, f"category {kept!r} is not in the catalogue")
                    keep.add(kept)
                has_words = "things" in fields or "states" in fields
                if has_words and not ("things" in fields and "states" in fields):
                    raise doc.error(body, f"urgent matter {name} needs both things and states")
                if not has_words and "cues" not in fields:
                    raise doc.error(body, f"urgent matter {name} needs things and states, or cues")
                matters.append(
                    (
                        UrgentMatter(
                            name,
                            code,
                            cue_set(fields["cues"], f"cues of {name}")
                            if "cues" in fields
                            else frozenset(),
                            frozenset(keep),
                            flag(fields, "even_as_hazard", name, False),
                        ),
                        # Across clauses: anywhere in the report, so no window applies.
                        pattern(name, fields, window, False) if has_words else None,
                    )
                )
        hazard_marker_words = words("hazard_markers", top["hazard_markers"], "hazard_markers")
        below_alarm_words: list[str] = []
        below_alarm_cues: frozenset[str] = frozenset()
        below_alarm_unless: tuple[str, ...] = ()
        below = section("below_alarm", frozenset({"cues", "words"}), _BELOW_ALARM_FIELDS)
        if below is not None:
            below_alarm_cues = cue_set(below["cues"], "below_alarm cues")
            below_alarm_words = words("below_alarm", below["words"], "below_alarm words")
            if "unless" in below:
                below_alarm_unless = word_list(below["unless"], "below_alarm unless")
        event_words: tuple[str, ...] = ()
        event_blockers: tuple[str, ...] = ()
        events = section("events_now", frozenset({"words"}), _EVENTS_FIELDS)
        if events is not None:
            event_words = word_list(events["words"], "events_now words")
            if "blockers" in events:
                event_blockers = word_list(events["blockers"], "events_now blockers")
        flight_words: list[str] = []
        flight_fires: tuple[str, ...] = ()
        flight = section("flight", _FLIGHT_FIELDS, _FLIGHT_FIELDS)
        if flight is not None:
            flight_words = words("flight", flight["words"], "flight words")
            flight_fires = word_list(flight["fires"], "flight fires")
        check_words: list[str] = []
        confirm_words: list[str] = []
        checks = section("checks", frozenset({"words"}), _CHECKS_FIELDS)
        if checks is not None:
            check_words = words("checks", checks["words"], "checks words")
            if "confirm" in checks:
                confirm_words = words("checks", checks["confirm"], "checks confirm")
        not_caught_words: list[str] = []
        not_caught_cues: frozenset[str] = frozenset()
        caught = section("not_caught", _NOT_CAUGHT_FIELDS, _NOT_CAUGHT_FIELDS)
        if caught is not None:
            not_caught_words = words("not_caught", caught["words"], "not_caught words")
            not_caught_cues = cue_set(caught["cues"], "not_caught cues")
        return cls(
            cues,
            hazard_markers=hazard_marker_words,
            incident_markers=words("incident_markers", top["incident_markers"], "incident_markers"),
            conditionals=(
                words("conditionals", top["conditionals"], "conditionals")
                if "conditionals" in top
                else ()
            ),
            negations=words("negations", top["negations"], "negations")
            if "negations" in top
            else (),
            not_real=words("not_real", top["not_real"], "not_real") if "not_real" in top else (),
            below_alarm=below_alarm_words,
            below_alarm_cues=below_alarm_cues,
            below_alarm_unless=below_alarm_unless,
            named_risks=named_risks(top["named_risks"]) if "named_risks" in top else (),
            negation_reach=reach,
            triage=triage,
            hazard_categories=prefixes,
            hazard_fallback=fallback,
            hazard_twins=twins,
            composed=composed,
            compose_ignore=ignore,
            compose_blockers=blockers,
            urgent=matters,
            incident_patterns=incident_patterns,
            conditions=conditions,
            elsewhere=words("elsewhere", top["elsewhere"], "elsewhere")
            if "elsewhere" in top
            else (),
            away=words("away", top["away"], "away") if "away" in top else (),
            events_now=event_words,
            event_blockers=event_blockers,
            flight=flight_words,
            flight_fires=flight_fires,
            checks=check_words,
            confirm=confirm_words,
            not_caught=not_caught_words,
            not_caught_cues=not_caught_cues,
            model=model,
            dictionary=keyword_dictionary(keywords) if keywords.is_file() else None,
        )

    @classmethod
    def load_beside(cls, path: str | Path, catalogue: Catalogue) -> DangerLexicon:
        """:meth:`load` with the model of the same directory (``danger_model.jsonl``) when
        there is one; without it, the rules alone (as before the model existed)."""
        model_file = Path(path).parent / MODEL_FILE
        model = DangerModel.load(model_file) if model_file.is_file() else None
        return cls.load(path, catalogue, model=model)

    @classmethod
    def default(cls) -> DangerLexicon:
        """The bundled lexicon (``routing_rules/danger.yaml``), loaded once per process."""
        return _default_lexicon()

    def is_hazard_category(self, code: str) -> bool:
        """Is ``code`` a hazard category in itself (消防隐患, 危房 …)?"""
        return code.startswith(self._hazard_prefixes)

    def level_for(self, reading: DangerReading, category: str) -> Severity | None:
        """The highest level of the reading's cues that apply to ``category``."""
        for cue in reading.cues:  # strongest first
            if category not in self.cues[cue].not_in:
                return self.cues[cue].level
        return None

    def hazard_category(self, reading: DangerReading, category: str) -> str | None:
        """The hazard category for a hazard report: its strongest cue's, else the twin of
        the incident ``category`` it was filed under (燃气泄漏 → 燃气安全隐患), else the
        fallback.

        Without a cue (隧道渗水结冰，容易发生交通事故) a hazard the classifier filed as an
        incident still must not run on the incident's emergency clock.
        """
        if reading.cues:
            return self.cues[reading.cues[0]].hazard_category
        return self.hazard_twins.get(category, self.hazard_fallback)

    def tells_no_danger(self, reading: DangerReading, category: str, text: str) -> bool:
        """Is a report in a twinned incident category (``hazard_twins``: 燃气泄漏) about the
        thing rather than an incident: no cue, no incident marker, no event told?

        The keywords file a report under 燃气泄漏 for its 液化气瓶; the category's default
        makes it critical. Told with no danger at all (气瓶堆在楼道口, 钢瓶过期), it is the
        twin hazard (燃气安全隐患), rectified in days. The text alone decides here; the
        assessment (``opening.py``) asks only about a report the keywords placed, with no
        severity word and no sender's 特急: a camera's gas_leak alarm keeps its code.
        """
        return (
            category in self.hazard_twins
            and not reading.cues
            and not reading.names_an_event
            and reading.urgent is None
            and not reading.not_real
            and not self.tells_event(text)
        )

    @property
    def matcher(self) -> KeywordMatcher:
        """The cue and marker words' matcher (for a :class:`JointScan` of a report's text)."""
        return self._matcher

    def read(self, text: str) -> DangerReading:
        """Cues and modality of ``text`` (raw report text), remembered."""
        return self._read_cached(text)

    def _read(self, text: str) -> DangerReading:
        return self.read_found(text, self._matcher.find_text(text))

    @property
    def patterns(self) -> PatternSet:
        """The thing-and-state patterns (compose and urgent), for a :class:`JointScan`."""
        return self._patterns

    def split_negated(
        self, words: Sequence[tuple[int, str]], found: Sequence[tuple[int, str]]
    ) -> tuple[Sequence[tuple[int, str]], Sequence[tuple[int, str]]]:
        """``words`` (another word list's matches in the same text) split into those read as
        this lexicon reads its own cues and those right after a negation (未起火, 无人员被困).

        ``found``: what :attr:`matcher` found in the text (a joint scan: same positions).
        """
        if not words:
            return words, ()
        kind, reach = self._kind, self.negation_reach
        windows = [
            (position, position + len(word) + reach)
            for position, word in found
            if kind[word][1] == _NEGATION
        ]
        if not windows:
            return words, ()
        kept: list[tuple[int, str]] = []
        negated: list[tuple[int, str]] = []
        for position, word in words:
            if any(start < position <= until for start, until in windows):
                negated.append((position, word))
            else:
                kept.append((position, word))
        return kept, negated

    def read_found(
        self,
        text: str,
        found: Sequence[tuple[int, str]],
        patterns_found: frozenset[str] | None = None,
    ) -> DangerReading:
        """:meth:`read` from what ``matcher.find_text(text)`` found (a joint scan).

        ``patterns_found``: what :attr:`patterns` found in ``text``, when the joint scan
        read it too (``None``: read it here).
        """
        if patterns_found is not None and not patterns_found:
            composed, patterns, urgent_found = _NO_PATTERNS
        else:
            composed, patterns, urgent_found = self._compose(text, patterns_found)
        if not found and not patterns and not urgent_found:
            return _NOTHING
        kind = self._kind
        reach = self.negation_reach
        negated_until = negation_end = -1
        # Positions after a conditional up to the end of its clause (what might happen).
        conditional_until = -1
        normalised: str | None = None
        classes: set[str] = set()
        hazard = incident = named_risk = short_of_alarm = False
        # Where the incident marker that made ``incident`` stands (a flight clause after it
        # may take it back: 着火了都跑不出去).
        incident_from = -1
        # Clauses telling what might happen or what happened elsewhere or earlier.
        quiet: list[tuple[int, int]] = []
        elsewhere_until = -1
        words: list[str] = []
        # A check's finding (核实为…): its clause, whether it confirmed the danger, and
        # what was read before it (set aside until the finding says whether it stands).
        check_from = check_until = -1
        confirmed = False
        # Where the last fire that did not catch (没烧起来) was told: the fire and smoke
        # events before it are over.
        not_caught_at = -1
        before: tuple[set[str], bool, bool, bool, bool, list[str]] | None = None
        for position, word in found:
            cue, marker = kind[word]
            if marker == _CHECK:
                if normalised is None:
                    normalised = normalise(text)
                end = position + len(word)
                # 核查是否合规, 核实是不是: a question asked, not a finding.
                if before is None and normalised[end : end + 1] not in _ASKS:
                    check_from, check_until = position, _ends(normalised, end, _CLAUSE_END)
                    before = (classes, incident, hazard, named_risk, short_of_alarm, words)
                    classes, words = set(), [word]
                    incident = hazard = named_risk = short_of_alarm = False
                    incident_from = -1
                continue
            if marker == _CONFIRM:
                confirmed = confirmed or check_from <= position < check_until
                continue
            if marker == _NOT_CAUGHT:
                if normalised is None:
                    normalised = normalise(text)
                if _asks_whether(normalised, position):
                    continue  # 着没着火, 有没有着火: asked, not told
                not_caught_at = position
            if marker == _NOT_REAL_MARKER:
                if position == negation_end:
                    # 不是误报, 非误报: found real, the opposite of a false alarm. Only
                    # right after the negation: 非落水 误报 is a false alarm.
                    continue
                # A drill, a talk, a rumour found false: no danger now, whatever it names.
                return _NOT_REAL
            if marker == _NEGATION:
                negation_end = position + len(word)
                negated_until = negation_end + reach
                continue
            if marker == _AWAY:
                continue  # someone away (来电人在外地): it only keeps 外地 from matching
            if marker == _FLIGHT:
                if normalised is None:
                    normalised = normalise(text)
                start = self._flight_start(normalised, position)
                if start is not None:
                    # 着火了都跑不出去: the fire before it in its clause might happen.
                    hazard = True
                    quiet.append((start, position + len(word)))
                    if incident and incident_from >= start:
                        incident, incident_from = False, -1
                    words.append(word)
                continue
            if marker == _CONDITIONAL:
                hazard = True
                if normalised is None:
                    normalised = normalise(text)
                end = _ends(normalised, position + len(word), _CLAUSE_END)
                conditional_until = end
                quiet.append((position, end))
            elif marker == _ELSEWHERE:
                if normalised is None:
                    normalised = normalise(text)
                end = _ends(normalised, position + len(word), _ELSEWHERE_END)
                elsewhere_until = conditional_until = max(conditional_until, end)
                quiet.append((position, end))
                words.append(word)
                continue
            elif position < elsewhere_until and (cue or marker == _INCIDENT):
                # An incident there or then (隔壁县上周滑坡埋了人): this report tells a hazard.
                hazard = True
            if marker == _HAZARD:
                hazard = True
                named_risk = named_risk or word in self._named_risks
            elif marker == _BELOW_ALARM:
                short_of_alarm = short_of_alarm or position > negated_until
            elif (
                marker == _INCIDENT
                and position >= conditional_until
                and not incident
                # 没有人被困 says nobody is: a negated incident marker is no incident.
                and position > negated_until
            ):
                incident, incident_from = True, position
                confirmed = confirmed or check_from <= position < check_until
            if cue and position > negated_until:
                classes.add(cue)
                confirmed = confirmed or check_from <= position < check_until
            words.append(word)
        if before is not None:
            if confirmed:
                # 复核为真实火情, 核实为明火: the finding confirms what was told before it.
                classes.update(before[0])
                incident = incident or before[1]
                hazard = hazard or before[2]
                named_risk = named_risk or before[3]
                short_of_alarm = short_of_alarm or before[4]
                words = [*before[5], *words]
            elif not (classes or incident or hazard):
                # Checked and found no danger (核实为村民熏腊肉): like an alarm found false.
                return _NOT_REAL
            else:
                # What the alert told before the finding happened nowhere: no event in it.
                quiet.append((0, check_until))
                if hazard and not incident:
                    # … but it names what a hazard told after the finding is about (烟雾 …
                    # 核实为烧秸秆，柴草紧贴房屋: 消防隐患); a hazard's cues raise nothing.
                    classes.update(before[0])
        classes.update(composed)
        words.extend(f"<{name}>" for name in patterns)
        if not_caught_at >= 0 and classes <= self._not_caught_cues:
            # Only a fire or smoke told, and it did not catch: the cause is left (a
            # scorched wire), a hazard. Any other danger (卡在车里) still stands.
            hazard = True
        if elsewhere_until >= 0 and composed:
            # Patterns are not placed: beside an incident told elsewhere or earlier, what
            # they found is taken as that incident (外地塔吊倒了砸死人).
            hazard = True
        if not (incident or named_risk) and not self._incident_patterns.isdisjoint(patterns):
            incident = True  # a person's state now (趴在地上不动), a dike giving way
        condition = (
            not incident
            and bool(urgent_found)
            and not self._condition_names.isdisjoint(urgent_found)
            and self.conditions.overridden_by.isdisjoint(classes)
            and not self._gave_way(text)
        )
        event: str | None = None
        if (hazard or condition) and not incident and not named_risk:
            event = self._event_now(
                normalise(text) if normalised is None else normalised, quiet, not_caught_at
            )
            if event is not None:
                # Something is happening or has happened here: not a hazard to rectify.
                incident, condition = True, False
                words.append(f"[{event}]")
        if condition:
            # A structure's condition, no event, no victim: a hazard (锈断, 鼓出来, 朽了),
            # whatever collapse or subsidence word the state also completes.
            hazard = True
            words.extend(
                f"<{name}>" for name in sorted(self._condition_names.intersection(urgent_found))
            )
        order = list(self.cues)
        cues = tuple(sorted(classes, key=lambda c: (-_RANK[self.cues[c].level], order.index(c))))
        level = self.cues[cues[0]].level if cues else None
        urgent = next(
            (m for m in self.urgent if m.name in urgent_found or not m.cues.isdisjoint(classes)),
            None,
        )
        return DangerReading(
            cues,
            level,
            hazard and not incident,
            incident,
            tuple(words),
            urgent,
            event_now=event is not None,
            below_alarm=short_of_alarm
            and not incident
            and bool(classes)
            and classes <= self.below_alarm_cues
            and not self._past_alarm(normalise(text) if normalised is None else normalised),
        )

    def _past_alarm(self, normalised: str) -> bool:
        # Rare (a reading short of an alarm), so a plain search, not the matcher: the gas
        # class holds some of these (头晕恶心), and the longest matched word would hide
        # them. Right after 未, 没, 不 or 无 one says the opposite (未达到报警值).
        for word in self.below_alarm_unless:
            start = normalised.find(word)
            while start >= 0:
                if start == 0 or normalised[start - 1] not in _SHORT_NEGATIONS:
                    return True
                start = normalised.find(word, start + 1)
        return False

    def tells_event(self, text: str) -> bool:
        """Does ``text`` tell an event happening here (``events_now``), outside what might
        happen or happened elsewhere, and without naming a risk (隐患, 风险)?

        For a report in a hazard category that no hazard reading put there (储罐车油管脱落，
        汽油还在往下水道里淌 filed as 危化品): rare, so read here, not in every reading.
        """
        normalised = normalise(text)
        if self._events_pattern is None or self._events_pattern.search(normalised) is None:
            return False
        quiet: list[tuple[int, int]] = []
        not_caught_at = -1
        for position, word in self._matcher.find_text(text):
            _cue, marker = self._kind[word]
            if marker == _HAZARD and word in self._named_risks:
                return False
            if marker == _NOT_CAUGHT and not _asks_whether(normalised, position):
                not_caught_at = position
            if marker in (_CONDITIONAL, _ELSEWHERE):
                ends = _CLAUSE_END if marker == _CONDITIONAL else _ELSEWHERE_END
                end = position + len(word)
                while end < len(normalised) and normalised[end] not in ends:
                    end += 1
                quiet.append((position, end))
            elif marker == _FLIGHT:
                start = self._flight_start(normalised, position)
                if start is not None:
                    quiet.append((start, position + len(word)))
        return self._event_now(normalised, quiet, not_caught_at) is not None

    def _flight_start(self, normalised: str, position: int) -> int | None:
        # Rare (咋办, 往哪跑): where the flight word's clause starts, when a fire is told in
        # it before the word (着火了都跑不出去, 真烧起来往哪跑), else None. Spaces end a
        # clause too: 一家子都叫不醒 咋办 keeps its incident.
        start = position
        while start > 0 and normalised[start - 1] not in _ELSEWHERE_END:
            start -= 1
        clause = normalised[start:position]
        return start if any(fire in clause for fire in self._flight_fires) else None

    def _event_now(
        self, normalised: str, quiet: Sequence[tuple[int, int]], not_caught_at: int = -1
    ) -> str | None:
        # Read only for a hazard reading (few): the first event word told as happening.
        # ``not_caught_at``: where a fire that did not catch was told (-1: none).
        if self._events_pattern is None:
            return None
        blockers = self._event_blockers
        search = self._events_pattern.search
        found = search(normalised)
        while found is not None:
            start = found.start()
            before = normalised[max(0, start - _EVENT_BLOCK_REACH) : start]
            cut = max(before.rfind(mark) for mark in _ELSEWHERE_END)
            before = before[cut + 1 :]
            if (
                not any(a <= start < b for a, b in quiet)
                and not any(blocker in before for blocker in blockers)
                and not (start < not_caught_at and found.group() in self._quieted_events)
            ):
                return found.group()
            found = search(normalised, start + 1)
        return None

    def _gave_way(self, text: str) -> bool:
        # Read only for a report holding a condition (few): the structure has given way.
        events = self.conditions.events
        if not events:
            return False
        normalised = normalise(text)
        return any(word in normalised for word in events)

    def _compose(
        self, text: str, found: frozenset[str] | None = None
    ) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
        # (cue classes, compose pattern names, everything found) of the thing-and-state
        # patterns in ``text`` (urgent matters are found under their own names).
        if found is None:
            found = self._patterns.find_text(text)
        if not found:
            return _NO_PATTERNS
        cue_of = self._pattern_cue
        names = tuple(name for name in self._pattern_order if name in found)
        return frozenset(cue_of[name] for name in names), names, found


def _asks_whether(normalised: str, position: int) -> bool:
    """Is the 没 or 无 word at ``position`` the second half of a question (着没着火,
    有没有着火, 烧没烧起来: the character before it repeats the one after 没; 有无明火)?"""
    before = normalised[position - 1 : position] if position > 0 else ""
    return bool(before) and (
        before == normalised[position + 1 : position + 2]
        or (before == "有" and normalised[position : position + 1] == "无")
    )


@functools.cache
def _ends(normalised: str, start: int, marks: frozenset[str]) -> int:
    """Where the clause running from ``start`` ends: the next of ``marks``, or the end."""
    end = start
    while end < len(normalised) and normalised[end] not in marks:
        end += 1
    return end


def _default_lexicon() -> DangerLexicon:
    return DangerLexicon.load_beside(BUNDLED_RULES / "danger.yaml", Catalogue.default())
