"""Keyword classification of a report's free text into a unified category.

Reports that arrive without a usable category code (citizens, most grid-worker apps) are
classified from their title and description. The method is deliberately simple and
explainable: configured keyword weights per category (``routing_rules/keywords.yaml``),
jieba word segmentation so one-character keywords only match whole words, and substring
matching for longer keywords. docs/classification.md has the method and its measured
precision and recall.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import ahocorasick
import jieba

from gridflow.core.bounded_cache import remember
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.catalogue import Catalogue
from gridflow.core.tiers import SEVERITY_RANK
from gridflow.core.yaml_lines import YamlDocument

__all__ = [
    "KEYWORDS_FIELDS",
    "NO_MASKS",
    "PIECE_CUT",
    "Classification",
    "JointScan",
    "KeywordMatcher",
    "PieceMasks",
    "PieceReader",
    "TextClassifier",
    "normalise",
]

#: Top-level fields of keywords.yaml; each loader reads its own and tolerates the others.
KEYWORDS_FIELDS = frozenset({"version", "min_score", "categories", "severity"})
_CACHE_SIZE = 4096
# jieba's dictionary frequency for added keywords: high enough that a keyword is kept
# whole rather than split into dictionary words.
_KEYWORD_FREQ = 100_000
#: Characters each side of a one-character keyword that jieba segments to decide whether
#: it stands alone as a word.
_WINDOW = 8
#: Distinct pieces of raw text (see ``KeywordMatcher.find_text``) remembered per matcher.
_PIECE_CACHE_SIZE = 65_536
#: A run of characters jieba segments as one block (its ``re_han_default``).
_JIEBA_BLOCK: re.Pattern[str] = jieba.re_han_default
#: Candidate marks that end a piece of raw text (see ``_piece_pattern``).
_PIECE_MARKS = " \t\r\n，。：；、！？,;:!?【】（）()《》〈〉「」『』“”\"'‘’…—·～/／"

jieba.setLogLevel(logging.WARNING)
#: Tokenizers kept, one per keyword list (a worker holds one rules bundle, two after a
#: hot reload until the old one is dropped; the test suite loads a few more).
_TOKENIZERS_KEPT = 8


@functools.cache
def _base_tokenizer() -> Any:
    # jieba's own dictionary, loaded once per process (it takes most of a second); never
    # given keywords itself.
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@functools.lru_cache(maxsize=_TOKENIZERS_KEPT)
def _tokenizer(words: frozenset[str]) -> Any:
    """jieba's dictionary with ``words`` added, private to one keyword list, never changed.

    How a text segments depends on every word in the dictionary, so one tokenizer shared
    by every matcher of the process (as before session 11) made a reading depend on the
    rules loaded before: a worker that had hot-reloaded rules kept the keywords the new
    rules dropped, and segmented a report otherwise than a worker started on the new
    rules (a replay on another worker could decide differently); in the test suite, a
    report read differently after another test had loaded other keywords. The matchers
    of one rules bundle share one: every word of its keywords.yaml
    (:func:`keyword_dictionary`), as the shared one held once a worker had loaded its
    bundle, so a fresh worker reads exactly as before. A copy of the base dictionary
    costs ~12 ms and ~15 MB.
    """
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in sorted(words):
        tokenizer.add_word(word, _KEYWORD_FREQ)
    return tokenizer


def keyword_dictionary(keywords_path: str | Path) -> frozenset[str]:
    """Every word of a keywords.yaml (categories and severity), normalised.

    What jieba segments a bundle's texts with, for all of its matchers (the classifier,
    the severity words and the danger lexicon beside them: :func:`_tokenizer`). Read each
    time, not remembered by path: a rules directory's file may change between loads
    (the tokenizer is remembered by the words themselves).
    """
    return dictionary_of(YamlDocument(keywords_path))


def dictionary_of(doc: YamlDocument) -> frozenset[str]:
    """:func:`keyword_dictionary` of an already parsed keywords file (a loader's own).

    Only read here, not checked: :meth:`TextClassifier.load` and ``SeverityRules.load``
    refuse a bad file with its line.
    """
    top = doc.fields(doc.root, "keywords file", optional=KEYWORDS_FIELDS)
    words: set[str] = set()
    if "categories" in top:
        for _, entries in doc.mapping(top["categories"], "categories").values():
            words.update(normalise(word) for word in doc.mapping(entries, "keywords"))
    if "severity" in top:
        for _, listed in doc.mapping(top["severity"], "severity").values():
            words.update(
                normalise(doc.scalar(node, "a severity word"))
                for node in doc.sequence(listed, "severity words")
            )
    return frozenset(words)


@functools.cache
def bundled_dictionary() -> frozenset[str]:
    """:func:`keyword_dictionary` of the bundled rules (``routing_rules/keywords.yaml``),
    read once per process like the bundled classifier."""
    return keyword_dictionary(BUNDLED_RULES / "keywords.yaml")


def normalise(text: str) -> str:
    """Text as matched: NFKC (full-width letters and digits to ASCII), lower case."""
    if not _is_normalized("NFKC", text):
        # Chinese report text is NFKC already but for its full-width punctuation (，：
        # in almost every report), and CPython's NFKC of such a text walks every
        # character (~2 µs a clause). Each mark replaced by its own NFKC leaves a text
        # compatibility-equivalent to ``text``, which has one NFKC form: when the result
        # is normalised, it is that form; when not (a full-width letter, a combining
        # mark), normalising it gives that form too.
        for mark, plain in _FULL_WIDTH_MARKS:
            if mark in text:
                text = text.replace(mark, plain)
        if not _is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.lower()


_is_normalized = unicodedata.is_normalized
#: Full-width punctuation of Chinese text, each with its NFKC form (one ASCII character).
_FULL_WIDTH_MARKS: tuple[tuple[str, str], ...] = tuple(
    (mark, unicodedata.normalize("NFKC", mark)) for mark in "，：；！？（）"
)


def _piece_pattern() -> re.Pattern[str]:
    # Marks that end a piece: those that normalise to something jieba does not segment
    # with letters or Han characters (not "." or "-", which it does).
    marks = "".join(
        mark
        for mark in _PIECE_MARKS
        if (normal := normalise(mark)) and not any(_JIEBA_BLOCK.match(char) for char in normal)
    )
    # Only before an ideograph of the original URO block (no decomposition, combining
    # class 0, uncased): normalisation and lower-casing act on either side of it alone.
    return re.compile("(?<=[" + re.escape(marks) + "])(?=[\u4e00-\u9fa5])")


#: Where ``KeywordMatcher.find_text`` cuts a raw text into pieces.
_PIECE = _piece_pattern()
#: The same cut, for other readers of report text that remember pieces (danger patterns).
PIECE_CUT = _PIECE


class KeywordMatcher:
    """Finds which of a fixed set of keywords occur in a text.

    Keywords of two or more characters match as substrings; one-character keywords match
    only as whole jieba words (火 in 火很大, not in 火锅). Where matches overlap the
    longest wins, so a character counts for one keyword only (消防栓 does not also count
    as 消防; in 公交站牌 only 公交站 counts).
    """

    __slots__ = (
        "_automaton",
        "_piece_cache",
        "_pieces",
        "_rank_cache",
        "_ranks",
        "_tokenizer",
        "_word_cache",
        "words",
    )

    def __init__(
        self, keywords: Iterable[str], *, dictionary: frozenset[str] | None = None
    ) -> None:
        """Index ``keywords`` (already normalised).

        ``dictionary``: the words added to jieba's for segmenting (one-character keywords
        match whole words only): a rules bundle's :func:`keyword_dictionary`, shared by
        its matchers (a danger lexicon passes its bundle's, not its own words: 火很大 as a
        word would hide the classifier's 火). Default: ``keywords`` and the bundled
        rules' dictionary (what a process that had loaded the bundled rules segmented
        with before each bundle had its own).
        """
        words = sorted(set(keywords), key=len, reverse=True)
        self.words: frozenset[str] = frozenset(words)
        self._automaton = _automaton({word: (word, len(word)) for word in words})
        # Raw texts are matched piece by piece (see ``find_text``), which needs keywords made
        # of the characters jieba segments together; any other keyword turns that off.
        self._pieces: re.Pattern[str] | None = _PIECE
        if not all(_JIEBA_BLOCK.fullmatch(word) for word in words):
            self._pieces = None
        self._piece_cache: dict[str, tuple[int, tuple[tuple[int, str], ...]]] = {}
        self._word_cache: dict[tuple[str, int], bool] = {}
        self._rank_cache: dict[str, int] = {}
        self._ranks: Mapping[str, int] | None = None
        if dictionary is None:
            dictionary = self.words | bundled_dictionary()
        self._tokenizer = _tokenizer(dictionary)

    def find_text(self, text: str) -> list[tuple[int, str]]:
        """``find(normalise(text))`` for raw ``text``, remembering the pieces it has seen.

        Report texts are written from templates and place names, so their clauses repeat
        while whole texts rarely do. A piece ends where a punctuation mark or a space is
        followed by a CJK ideograph. At such a point normalisation (NFKC, lower case)
        neither joins nor reorders characters across it, and jieba segments the text on
        each side on its own (the mark is none of the characters it segments together,
        and no keyword holds one), so a piece normalises and matches as it would inside
        the whole text. What differs is only that a one-character keyword counts once
        per text, not once per piece.
        """
        pieces = self._pieces
        if pieces is None:
            return self.find(normalise(text))
        found: list[tuple[int, str]] = []
        singles_found: set[str] | None = None
        cache = self._piece_cache
        offset = 0
        for piece in pieces.split(text):
            known = cache.get(piece)
            if known is None:
                normalised = normalise(piece)
                known = remember(
                    cache, _PIECE_CACHE_SIZE, piece, (len(normalised), tuple(self.find(normalised)))
                )
            length, matches = known
            for position, word in matches:
                if len(word) == 1:
                    if singles_found is None:
                        singles_found = set()
                    elif word in singles_found:
                        continue
                    singles_found.add(word)
                found.append((offset + position, word))
            offset += length
        return found

    def highest(self, text: str, ranks: Mapping[str, int]) -> int:
        """The highest ``ranks[word]`` over the keywords ``find_text(text)`` finds; -1: none.

        For callers that need only the strongest match (a severity level), not the words
        or where they are: each piece's highest rank is remembered, so a text costs a
        split and a lookup per piece. The first ``ranks`` mapping given is the one
        remembered against; pass the same mapping every time.
        """
        pieces = self._pieces
        if pieces is None:
            return max((ranks[word] for _, word in self.find(normalise(text))), default=-1)
        if ranks is not self._ranks:
            self._rank_cache.clear()
            self._ranks = ranks
        cache = self._rank_cache
        best = -1
        for piece in pieces.split(text):
            rank = cache.get(piece)
            if rank is None:
                # A piece holds no cut point of its own, so find_text sees it as one piece.
                found = self.find_text(piece)
                rank = remember(
                    cache, _PIECE_CACHE_SIZE, piece, max((ranks[w] for _, w in found), default=-1)
                )
            if rank > best:
                best = rank
        return best

    def find(self, text: str) -> list[tuple[int, str]]:
        """``(position, keyword)`` of every keyword match in normalised ``text``, in text order."""
        spans: list[tuple[int, int, str]] = []
        singles_at: list[int] = []
        if self._automaton is not None:
            # Every occurrence of every keyword, overlapping ones included, in one C pass.
            for end, (word, length) in self._automaton.iter(text):
                if length == 1:
                    singles_at.append(end)
                else:
                    spans.append((end + 1 - length, end + 1, word))
        return self.resolve(text, spans, singles_at)

    def resolve(
        self, text: str, spans: list[tuple[int, int, str]], singles_at: Sequence[int]
    ) -> list[tuple[int, str]]:
        """What :meth:`find` keeps of the occurrences of this matcher's keywords in ``text``.

        ``spans``: ``(start, end, keyword)`` of every occurrence of a keyword of two or
        more characters (sorted here); ``singles_at``: the positions of one-character
        keywords, ascending. Shared with :class:`JointScan`, which finds the occurrences
        of several matchers' keywords in one pass.
        """
        if not singles_at:
            # Most pieces of report text hold no keyword of a list, or one.
            if not spans:
                return []
            if len(spans) == 1:
                return [(spans[0][0], spans[0][2])]
        kept: list[tuple[int, int, str]] = []
        taken = bytearray(len(text))
        # Longest first, then leftmost: a character belongs to one keyword.
        spans.sort(key=lambda span: (span[0] - span[1], span[0]))
        for start, end, word in spans:
            if not any(taken[start:end]):
                taken[start:end] = b"\x01" * (end - start)
                kept.append((start, end, word))
        # One-character keywords come last in that order, so only free characters can
        # match them. Segmenting costs more than the scan above (~1.5 µs a character):
        # segment only a window around each candidate, and stop looking for a keyword once
        # it has matched (a keyword counts once).
        if singles_at:
            found: set[str] = set()
            for position in singles_at:
                char = text[position]
                if not taken[position] and char not in found and self._is_word(text, position):
                    found.add(char)
                    kept.append((position, position + 1, char))
        kept.sort()
        return [(start, word) for start, _, word in kept]

    def _is_word(self, text: str, position: int) -> bool:
        # jieba's choice for the middle of a window does not depend on characters this
        # far away, so a window answers as segmenting the whole text would.
        start = max(0, position - _WINDOW)
        window = text[start : position + _WINDOW + 1]
        offset = position - start
        key = (window, offset)
        cached = self._word_cache.get(key)
        if cached is None:
            cached = remember(
                self._word_cache,
                _CACHE_SIZE,
                key,
                any(
                    begin == offset and end == offset + 1
                    for _, begin, end in self._tokenizer.tokenize(window, HMM=False)
                ),
            )
        return cached


def _automaton(words: Mapping[str, object]) -> Any:
    """An Aho-Corasick automaton over ``words`` (``None`` for no words), values attached.

    pyahocorasick reports every occurrence of every word, overlapping ones too, in one
    C pass; a Python loop over the text's characters cost more than the rest of a match.
    """
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in words.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton


#: What a :class:`PieceReader` reads from one piece: three bit masks.
PieceMasks = tuple[int, int, int]
_NOTHING_READ: frozenset[str] = frozenset()
#: A piece in which a reader found nothing (readers return this very object).
NO_MASKS: PieceMasks = (0, 0, 0)


class PieceReader(Protocol):
    """Something else read from each piece of a report's text (the danger patterns).

    :class:`JointScan` remembers it with the piece, so a text costs one cut and one
    lookup per piece for the keyword lists and the reader together.
    """

    def read_piece(self, normalised: str) -> PieceMasks:
        """The masks of one normalised piece (``(0, 0, 0)``: nothing)."""
        ...

    def names_of(self, found: int, things: int, states: int) -> frozenset[str]:
        """What a whole text holds, from its pieces' masks OR-ed together."""
        ...

    def find_text(self, text: str) -> frozenset[str]:
        """What raw ``text`` holds, read on its own."""
        ...


#: One piece of text as :class:`JointScan` remembers it: its normalised length, what
#: each matcher's ``KeywordMatcher.find`` finds in it as ``(matcher index, position,
#: keyword, one character?)`` in matcher order (one flat walk per piece), and its
#: reader's masks.
_JointPiece = tuple[int, tuple[tuple[int, int, str, bool], ...], PieceMasks]


class JointScan:
    """Several matchers' :meth:`KeywordMatcher.find_text` from one pass over a text.

    A report's text is read by the classifier (categories), the severity words and the
    danger lexicon, each with its own keywords and its own "longest match wins" (a word
    of one list must not hide a word of another). One automaton over all their keywords
    finds every occurrence once; each matcher then keeps what it would have kept alone
    (:meth:`KeywordMatcher.resolve`). Pieces are cut and remembered as ``find_text``
    does, so ``scan(text)[i]`` equals ``matchers[i].find_text(text)``.
    """

    __slots__ = (
        "_automaton",
        "_matchers",
        "_nothing",
        "_piece_cache",
        "_pieces",
        "_reader",
    )

    def __init__(
        self, matchers: Sequence[KeywordMatcher], reader: PieceReader | None = None
    ) -> None:
        """Scan for the keywords of ``matchers``; results come back in that order.

        ``reader``: read each piece with it too (:meth:`scan_read`).
        """
        self._matchers = tuple(matchers)
        self._reader = reader
        self._nothing: tuple[tuple[tuple[int, str], ...], ...] = tuple(() for _ in matchers)
        members: dict[str, list[int]] = {}
        for index, matcher in enumerate(self._matchers):
            for word in matcher.words:
                members.setdefault(word, []).append(index)
        self._automaton = _automaton(
            {word: (word, len(word), tuple(indices)) for word, indices in members.items()}
        )
        # Piece by piece only where every matcher would cut its text so.
        self._pieces = _PIECE if all(m._pieces is not None for m in self._matchers) else None
        self._piece_cache: dict[str, _JointPiece] = {}

    @property
    def matchers(self) -> tuple[KeywordMatcher, ...]:
        """The matchers scanned for, in the order :meth:`scan` returns their matches."""
        return self._matchers

    def scan(self, text: str) -> tuple[list[tuple[int, str]], ...]:
        """``matcher.find_text(text)`` of every matcher, in the order they were given."""
        return self.scan_read(text)[0]

    def scan_read(self, text: str) -> tuple[tuple[list[tuple[int, str]], ...], frozenset[str]]:
        """:meth:`scan`, and what the reader finds in ``text`` (empty without a reader)."""
        pieces = self._pieces
        reader = self._reader
        if pieces is None:
            read = reader.find_text(text) if reader is not None else _NOTHING_READ
            return tuple(list(matches) for matches in self._find(normalise(text))), read
        found: tuple[list[tuple[int, str]], ...] = tuple([] for _ in self._matchers)
        # A one-character keyword counts once per text (per matcher): its first match.
        singles_found: set[tuple[int, str]] | None = None
        cache = self._piece_cache
        offset = 0
        masks: PieceMasks | None = None
        for piece in pieces.split(text):
            known = cache.get(piece)
            if known is None:
                normalised = normalise(piece)
                known = remember(
                    cache,
                    _PIECE_CACHE_SIZE,
                    piece,
                    (
                        len(normalised),
                        tuple(
                            (index, position, word, len(word) == 1)
                            for index, matches in enumerate(self._find(normalised))
                            for position, word in matches
                        ),
                        reader.read_piece(normalised) if reader is not None else NO_MASKS,
                    ),
                )
            length, matched, piece_masks = known
            if piece_masks is not NO_MASKS:
                if masks is None:
                    masks = piece_masks
                else:
                    masks = (
                        masks[0] | piece_masks[0],
                        masks[1] | piece_masks[1],
                        masks[2] | piece_masks[2],
                    )
            for index, position, word, single in matched:
                if single:
                    if singles_found is None:
                        singles_found = set()
                    elif (index, word) in singles_found:
                        continue
                    singles_found.add((index, word))
                found[index].append((offset + position, word))
            offset += length
        if masks is None or reader is None:
            return found, _NOTHING_READ
        return found, reader.names_of(*masks)

    def _find(self, text: str) -> tuple[tuple[tuple[int, str], ...], ...]:
        matchers = self._matchers
        spans: list[list[tuple[int, int, str]]] = [[] for _ in matchers]
        singles_at: list[list[int]] = [[] for _ in matchers]
        hit = False
        if self._automaton is not None:
            for end, (word, length, indices) in self._automaton.iter(text):
                hit = True
                if length == 1:
                    for index in indices:
                        singles_at[index].append(end)
                else:
                    span = (end + 1 - length, end + 1, word)
                    for index in indices:
                        spans[index].append(span)
        if not hit:
            return self._nothing
        return tuple(
            tuple(matcher.resolve(text, spans[index], singles_at[index]))
            if spans[index] or singles_at[index]
            else ()
            for index, matcher in enumerate(matchers)
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """The category chosen for a text.

    ``score`` is the sum of the configured weights of the matched keywords (0 for the
    fallback); ``matched`` lists those keywords in text order, for explaining a decision.
    """

    code: str
    score: float
    matched: tuple[str, ...]


class TextClassifier:
    """Classifies report text with per-category keyword weights; immutable, thread-safe."""

    __slots__ = ("_classify_cached", "_fallback", "_matcher", "_order", "_weights", "min_score")

    def __init__(
        self,
        weights: dict[str, dict[str, float]],
        catalogue: Catalogue,
        *,
        min_score: float = 2.0,
        dictionary: frozenset[str] | None = None,
    ) -> None:
        """Build from ``{category code: {keyword: weight}}``; use :meth:`load` for files.

        ``dictionary``: what jieba segments with (:class:`KeywordMatcher`).

        Ties on score go to the category with the higher default severity (taking burning
        leaves for a fire costs less than the reverse), then to the longer matched
        keyword, then to catalogue order.
        """
        if min_score <= 0:
            raise ValueError("min_score must be > 0")
        unknown = sorted(set(weights) - {category.code for category in catalogue.categories})
        if unknown:
            raise ValueError(f"keywords for unknown category {unknown[0]!r}")
        self.min_score = min_score
        self._fallback = Classification(catalogue.fallback, 0.0, ())
        by_keyword: dict[str, list[tuple[str, float]]] = {}
        for code, keywords in weights.items():
            for keyword, weight in keywords.items():
                by_keyword.setdefault(normalise(keyword), []).append((code, weight))
        self._weights = {keyword: tuple(pairs) for keyword, pairs in by_keyword.items()}
        count = len(catalogue.categories)
        self._order = {
            category.code: (SEVERITY_RANK[category.severity], count - index)
            for index, category in enumerate(catalogue.categories)
        }
        self._matcher = KeywordMatcher(self._weights, dictionary=dictionary)
        self._classify_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._classify)

    @classmethod
    def load(cls, keywords_path: str | Path, catalogue: Catalogue) -> TextClassifier:
        """Load the ``categories`` and ``min_score`` of ``keywords.yaml``.

        Raises :class:`~gridflow.core.load_errors.ConfigLoadError` with file and line for
        unknown fields, a code missing from ``catalogue``, a duplicate or empty keyword, a
        weight that is not a number, or a ``min_score`` that is not positive.
        """
        doc = YamlDocument(keywords_path)
        top = doc.fields(
            doc.root, "keywords file", required=frozenset({"categories"}), optional=KEYWORDS_FIELDS
        )
        if "version" in top and doc.scalar(top["version"], "version") != "1":
            raise doc.error(top["version"], "unsupported keywords version (this code reads 1)")
        min_score = 2.0
        if "min_score" in top:
            min_score = doc.number(top["min_score"], "min_score")
            if min_score <= 0:
                raise doc.error(top["min_score"], "min_score must be > 0")
        weights: dict[str, dict[str, float]] = {}
        for code, (key_node, value_node) in doc.mapping(top["categories"], "categories").items():
            if code not in catalogue:
                raise doc.error(key_node, f"keywords for unknown category {code!r}")
            seen: dict[str, str] = {}
            own: dict[str, float] = {}
            entries = doc.mapping(value_node, f"keywords of {code}")
            for keyword, (word_node, weight_node) in entries.items():
                word = normalise(keyword)
                if word in seen:
                    raise doc.error(
                        word_node, f"keyword {keyword!r} of {code} repeats {seen[word]!r}"
                    )
                seen[word] = keyword
                own[word] = doc.number(weight_node, f"weight of {keyword!r}", minimum=-100.0)
            weights[code] = own
        return cls(weights, catalogue, min_score=min_score, dictionary=dictionary_of(doc))

    @classmethod
    def default(cls) -> TextClassifier:
        """The classifier for the bundled rules (``routing_rules/``), built once per process."""
        return _default_classifier()

    @property
    def matcher(self) -> KeywordMatcher:
        """The keywords' matcher (for a :class:`JointScan` of a report's text)."""
        return self._matcher

    def classify(self, text: str) -> Classification:
        """The best category for ``text``, or the catalogue's fallback with score 0."""
        return self._classify_cached(text)

    def _classify(self, text: str) -> Classification:
        return self.classify_found(self._matcher.find_text(text))

    def classify_found(self, matches: Sequence[tuple[int, str]]) -> Classification:
        """:meth:`classify` from what ``matcher.find_text(text)`` found (a joint scan)."""
        if not matches:
            return self._fallback
        scores: dict[str, float] = {}
        longest: dict[str, int] = {}
        seen: set[str] = set()
        for _, keyword in matches:
            if keyword in seen:  # a keyword counts once, however often it is repeated
                continue
            seen.add(keyword)
            for code, weight in self._weights[keyword]:
                scores[code] = scores.get(code, 0.0) + weight
                if weight > 0 and len(keyword) > longest.get(code, 0):
                    longest[code] = len(keyword)
        order = self._order
        best = max(
            scores,
            key=lambda code: (scores[code], order[code][0], longest.get(code, 0), order[code][1]),
        )
        if scores[best] < self.min_score:
            return self._fallback
        matched = tuple(
            dict.fromkeys(
                keyword
                for _, keyword in matches
                if any(code == best for code, _ in self._weights[keyword])
            )
        )
        return Classification(best, scores[best], matched)


@functools.cache
def _default_classifier() -> TextClassifier:
    return TextClassifier.load(BUNDLED_RULES / "keywords.yaml", Catalogue.default())
