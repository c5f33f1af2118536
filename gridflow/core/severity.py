"""A report's severity: the category's default, the reporter's hint and alarming words.

Policy (the max of three, never lower than the category default):

* the category's default severity from the catalogue;
* keyword escalation: words that mean danger to life (火, 坍塌, 溺水, 燃气泄漏, 被困 …)
  make it ``critical``, words of violence or injury (受伤, 打架, 持刀 …) ``high``. The
  words are configurable in the ``severity:`` section of keywords.yaml. Negation is not
  parsed here (没有人受伤 still escalates): a false escalation costs a quick downgrade by
  the centre, a missed one costs lives. Assessment with the danger lexicon
  (``opening.py``) caps a word the lexicon reads as negated (未起火, 无人员被困) at
  ``high``: a look within hours, not the county's call-out;
* the reporter's hint. A trained or automatic reporter (``grid_worker``, ``sensor``) is
  trusted: the hint counts in full. Anyone else (``citizen``, ``video_ai``, or an unknown
  role) may raise the severity by at most one level above the category default, because
  citizens tick "特急" on most reports and camera analytics over-trigger; their true
  emergencies are caught by the keywords. A hint never lowers the severity.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Category
from gridflow.core.classify import (
    KEYWORDS_FIELDS,
    KeywordMatcher,
    dictionary_of,
    normalise,
)
from gridflow.core.tiers import SEVERITY_ORDER, SEVERITY_RANK
from gridflow.core.yaml_lines import YamlDocument
from schemas.common import ReporterRole, Severity

__all__ = ["SEVERITY_ORDER", "SeverityRules", "assess_severity", "at_most", "higher", "raise_by"]


_RANK = SEVERITY_RANK
#: Roles whose severity hint is taken in full.
TRUSTED_ROLES = frozenset({ReporterRole.GRID_WORKER, ReporterRole.SENSOR})
_CACHE_SIZE = 4096


def raise_by(severity: Severity, levels: int) -> Severity:
    """``severity`` moved up ``levels`` steps (down when negative), clamped to the scale."""
    rank = min(max(_RANK[severity] + levels, 0), len(SEVERITY_ORDER) - 1)
    return SEVERITY_ORDER[rank]


def higher(a: Severity, b: Severity) -> Severity:
    """The higher of two severities."""
    return a if _RANK[a] >= _RANK[b] else b


def at_most(severity: Severity, ceiling: Severity) -> Severity:
    """``severity``, lowered to ``ceiling`` when above it."""
    return severity if _RANK[severity] <= _RANK[ceiling] else ceiling


_higher = higher


class SeverityRules:
    """Escalation keywords per severity level; immutable, thread-safe."""

    __slots__ = ("_level", "_matcher", "_scan_cached", "_word_rank")

    def __init__(
        self,
        keywords: Mapping[Severity, Iterable[str]],
        *,
        dictionary: frozenset[str] | None = None,
    ) -> None:
        """Build from ``{level: keywords}``; a word listed under two levels takes the higher.

        ``dictionary``: what jieba segments with (:class:`KeywordMatcher`; :meth:`load`
        passes every word of the keywords file, as the classifier of the bundle does).
        """
        level: dict[str, Severity] = {}
        for severity, words in keywords.items():
            for word in words:
                key = normalise(word)
                level[key] = _higher(level.get(key, Severity.LOW), severity)
        self._level = level
        self._word_rank = {word: _RANK[severity] for word, severity in level.items()}
        self._matcher = KeywordMatcher(level, dictionary=dictionary)
        self._scan_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._scan)

    @classmethod
    def load(cls, keywords_path: str | Path) -> SeverityRules:
        """Load the ``severity:`` section of keywords.yaml (a list of words per level).

        Raises :class:`~gridflow.core.load_errors.ConfigLoadError` with file and line for an
        unknown level, a word that is not text, or a word listed twice.
        """
        doc = YamlDocument(keywords_path)
        top = doc.fields(doc.root, "keywords file", optional=KEYWORDS_FIELDS)
        keywords: dict[Severity, list[str]] = {}
        if "severity" not in top:
            return cls(keywords, dictionary=dictionary_of(doc))
        seen: dict[str, int] = {}
        for name, (key_node, words_node) in doc.mapping(top["severity"], "severity").items():
            try:
                severity = Severity(name)
            except ValueError:
                known = ", ".join(s.value for s in SEVERITY_ORDER)
                raise doc.error(
                    key_node, f"unknown severity level {name!r} (known: {known})"
                ) from None
            words = keywords.setdefault(severity, [])
            for word_node in doc.sequence(words_node, f"severity {name}"):
                word = doc.scalar(word_node, f"a word under severity {name}")
                key = normalise(word)
                if key in seen:
                    raise doc.error(
                        word_node, f"severity word {word!r} already listed at line {seen[key]}"
                    )
                seen[key] = doc.line(word_node)
                words.append(word)
        # After the checks above: a bad file is refused with their messages.
        return cls(keywords, dictionary=dictionary_of(doc))

    @classmethod
    def default(cls) -> SeverityRules:
        """The bundled rules' ``severity:`` section, loaded once per process."""
        return _default_rules()

    @property
    def matcher(self) -> KeywordMatcher:
        """The escalation words' matcher (for a :class:`JointScan` of a report's text)."""
        return self._matcher

    def escalation(self, text: str) -> tuple[Severity | None, tuple[str, ...]]:
        """The highest level any escalation word in ``text`` asks for, and those words."""
        return self._scan_cached(text)

    def _scan(self, text: str) -> tuple[Severity | None, tuple[str, ...]]:
        found: Severity | None = None
        words: list[str] = []
        for _, word in self._matcher.find_text(text):
            level = self._level[word]
            if found is None or _RANK[level] > _RANK[found]:
                found, words = level, [word]
            elif level is found and word not in words:
                words.append(word)
        return found, tuple(words)

    def level_of(self, found: Sequence[tuple[int, str]]) -> Severity | None:
        """The highest level the escalation words ``found`` (matches of :attr:`matcher`) ask."""
        rank = max((self._word_rank[word] for _, word in found), default=-1)
        return SEVERITY_ORDER[rank] if rank >= 0 else None

    def assess(
        self,
        category: Category,
        hint: Severity | None,
        text: str,
        *,
        reporter_role: ReporterRole | str | None = None,
        found: Sequence[tuple[int, str]] | None = None,
    ) -> Severity:
        """The severity of a report; see the module docstring for the policy.

        ``found``: what ``matcher.find_text(text)`` finds, when a joint scan has it.
        """
        severity = category.severity
        if hint is not None:
            if reporter_role in TRUSTED_ROLES:
                severity = _higher(severity, hint)
            else:
                severity = _higher(
                    severity, min(hint, raise_by(category.severity, 1), key=_RANK.__getitem__)
                )
        # Only the strongest escalation word matters here, not which words they were.
        if found is None:
            rank = self._matcher.highest(text, self._word_rank)
        else:
            ranks = self._word_rank
            rank = max((ranks[word] for _, word in found), default=-1)
        if rank >= 0:
            severity = _higher(severity, SEVERITY_ORDER[rank])
        return severity


def assess_severity(
    category: Category,
    hint: Severity | None,
    text: str,
    *,
    reporter_role: ReporterRole | str | None = None,
    rules: SeverityRules | None = None,
    found: Sequence[tuple[int, str]] | None = None,
) -> Severity:
    """The severity of a report of ``category`` with the reporter's ``hint`` and ``text``.

    The highest of: the category default; the escalation keywords found in ``text``; and
    the hint, in full from a ``grid_worker`` or ``sensor``, otherwise capped at one level
    above the category default. Uses the bundled rules unless ``rules`` is given;
    ``found``: the rules' matches in ``text`` when a joint scan has them.
    """
    active = rules if rules is not None else _default_rules()
    return active.assess(category, hint, text, reporter_role=reporter_role, found=found)


@functools.cache
def _default_rules() -> SeverityRules:
    return SeverityRules.load(BUNDLED_RULES / "keywords.yaml")
