"""The learned second opinion on danger: a char n-gram weight table, scored without numpy.

The danger lexicon (``danger.py``) reads what it was written for and, on each blind
round, missed phrasings nobody listed (docs/classification.md). A logistic regression
over the report's character 1-, 2- and 3-grams reads new text with a precision the rules
do not reach; ``tools/danger_model.py`` trains two of them offline (critical or not,
hazard or not) with scikit-learn and writes the bundle's ``danger_model.jsonl``. This
module scores that table with no scikit-learn and no numpy:

* **features**: the n-grams of each clause of the text (cut after each clause mark) as
  the keywords read text (:func:`normalise`), each counted, over ``sqrt`` of the number
  of n-grams; an n-gram not in the table weighs 0;
* **one C pass per clause**: the table's n-grams are an Aho-Corasick automaton
  (pyahocorasick, as the keyword scan), which reports every occurrence of every table
  n-gram in a clause (a dict lookup per n-gram cost twice as much: each CJK character a
  new string to hash, the table out of cache); a clause's sum is remembered by its raw
  text (texts are unique, their clauses often not: an address's village, "位置：");
* **two weights per n-gram** are one complex number (critical + hazard·j): one ``sum``
  adds both scores, and equals the trainer's to rounding;
* **thresholds** come from the file (chosen by leave-one-round-out, ``tools/danger_model.py``);
  assessment (``opening.py``) gates on them.

The file is JSON lines: a header object, then one ``["n-gram", w_critical, w_hazard]``
per line, so a bad weight is named by its line and a retrained table diffs by n-gram.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import ahocorasick
import orjson

from gridflow.core.bounded_cache import remember
from gridflow.core.classify import normalise
from gridflow.core.load_errors import ConfigLoadError

__all__ = ["MODEL_FILE", "OFF", "DangerModel", "Thresholds", "ngrams", "pieces"]

#: The model's name in a rules directory (hashed by ``rules_version`` when present).
MODEL_FILE = "danger_model.jsonl"
#: The header's ``format``: what this code reads.
FORMAT = "gridflow-danger-model/1"
#: The n-gram sizes the features hold (the scorer is written for these three).
SIZES: tuple[int, ...] = (1, 2, 3)
MAX_N = max(SIZES)
_HEADER_FIELDS = frozenset({"format", "features", "bias", "thresholds", "trained_on", "n_grams"})
_THRESHOLD_FIELDS = frozenset({"add", "add_over_hazard", "veto", "hazard"})
#: Thresholds a table may leave out (added after the format's first tables: off there).
_OPTIONAL_THRESHOLDS = frozenset({"veto_over_event", "doubt", "sure", "unsure"})
#: A threshold above 1 turns that part of the gate off.
OFF = 1.5
_FEATURES = (
    f"char {'/'.join(map(str, SIZES))}-grams of each normalise(clause of text), "
    "count / sqrt(number of n-grams)"
)
_MEMO_KEPT = 4096
_PIECES_KEPT = 16384
#: A piece of the raw text runs up to and including a clause mark (full-width or ASCII)
#: or a space, and is normalised on its own: no n-gram spans a cut, so a piece's sum is
#: its own and is remembered by its raw text. Report texts share pieces (an address's
#: village, "位置：", a camera alert's template) more than whole texts.
_CUT = re.compile(r"[^,.;:!?，。；：！？、\s]*[,.;:!?，。；：！？、\s]?")
_SECOND = itemgetter(1)


def pieces(text: str) -> list[str]:
    """Raw ``text`` cut after each clause mark, each piece normalised (no empty piece)."""
    return [normalise(piece) for piece in _CUT.findall(text) if piece]


def ngrams(text: str) -> list[str]:
    """The n-grams the features count, with repeats (the trainer's): within each piece."""
    return [
        piece[i : i + n] for piece in pieces(text) for n in SIZES for i in range(len(piece) - n + 1)
    ]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When assessment takes the model's word (probabilities in [0, 1]; > 1 turns one off)."""

    #: P(critical) that flags a report the rules read nothing critical in.
    add: float
    #: P(critical) that flags a report the rules read as a hazard (very confident).
    add_over_hazard: float
    #: P(hazard) that vetoes the rules' critical reading (while P(critical) < ``add``).
    veto: float
    #: P(hazard) that reads a report as a hazard where the rules read neither.
    hazard: float
    #: P(hazard) that vetoes a critical reading naming an event in the text's own words
    #: (``DangerReading.names_an_event``; at least ``veto``): hazards are often told
    #: with the event they fear (着火了怎么跑, 差点撞到人), so a very sure model may veto
    #: them, while a leak told now beside a named risk stays critical below it.
    veto_over_event: float = OFF
    #: P(hazard) at which a critical reading the model did not veto is checked first
    #: (险情待核实: the town's duty room, minutes) instead of running as a critical incident
    #: (at most ``veto``), unless the model is ``sure`` of it: the model half believes a
    #: hazard, and a hazard run as an emergency calls out the county and tells the city.
    #: Off in older tables.
    doubt: float = OFF
    #: P(critical) at which the model is sure someone is in danger now: a critical
    #: reading is then never doubted, and the model's own flag (``add``,
    #: ``add_over_hazard``) runs as a critical incident; below it that flag goes to the
    #: duty room first. 0 in older tables: every such flag ran critical.
    sure: float = 0.0
    #: P(critical) under which a critical reading the model did not veto is checked first
    #: whatever P(hazard) is: the rules read danger now in a report the classifier placed
    #: from its text, and the model all but rules it out, so the duty room looks before
    #: the county is called out (most such reports are hazards, urgent matters or routine
    #: text with an alarming word). Not for a sender's own code (a camera's alarm type):
    #: the model reads only the text. Its cost is an emergency the model misreads waiting
    #: the duty room's minutes; the trainer weighs both (``HAZARD_ROUTED``). 0 in older
    #: tables: never.
    unsure: float = 0.0


class DangerModel:
    """Two logistic regressions over char n-grams; immutable apart from its memo."""

    __slots__ = ("_automaton", "_bias", "_memo", "_pieces", "_weights", "header", "thresholds")

    def __init__(
        self,
        weights: Mapping[str, tuple[float, float]],
        bias: tuple[float, float],
        thresholds: Thresholds,
        header: Mapping[str, Any] | None = None,
    ) -> None:
        """``weights``: n-gram -> (critical, hazard) weight; ``bias``: the two intercepts."""
        self._weights: dict[str, complex] = {g: complex(c, h) for g, (c, h) in weights.items()}
        automaton = ahocorasick.Automaton()
        for gram, weight in self._weights.items():
            automaton.add_word(gram, weight)
        if self._weights:
            automaton.make_automaton()
        self._automaton: Any = automaton if self._weights else None
        self._bias = complex(*bias)
        self.thresholds = thresholds
        #: what the table was trained on (file hash, rounds, date …), as the file says.
        self.header: Mapping[str, Any] = dict(header or {})
        self._memo: dict[str, tuple[float, float]] = {}
        self._pieces: dict[str, tuple[complex, int]] = {}

    def __len__(self) -> int:
        return len(self._weights)

    def chances(self, text: str) -> tuple[float, float]:
        """``(P(critical), P(hazard))`` of a report's raw text, remembered per text."""
        found = self._memo.get(text)
        if found is None:
            found = remember(self._memo, _MEMO_KEPT, text, self._score(text))
        return found

    def _score(self, text: str) -> tuple[float, float]:
        memo = self._pieces
        automaton = self._automaton
        total = 0j
        count = 0
        for raw in _CUT.findall(text):
            found = memo.get(raw)
            if found is None:
                if not raw:
                    continue
                piece = normalise(raw)
                length = len(piece)
                # (end, weight) of every occurrence of every table n-gram: Σ weight in C;
                # n + (n-1) + (n-2) n-grams, fewer below 3 characters.
                found = remember(
                    memo,
                    _PIECES_KEPT,
                    raw,
                    (
                        sum(map(_SECOND, automaton.iter(piece)), 0j) if automaton else 0j,
                        3 * length - 3 if length > 1 else length,
                    ),
                )
            total += found[0]
            count += found[1]
        z = self._bias + total / math.sqrt(count) if count else self._bias
        return _sigmoid(z.real), _sigmoid(z.imag)

    @classmethod
    def load(cls, path: str | Path) -> DangerModel:
        """Read ``danger_model.jsonl``; ``ConfigLoadError`` (file:line) for anything invalid.

        Refused: a header that is not this format, unknown or missing header fields, a
        threshold outside [0, 1.5], a weight row that is not ``[str, number, number]``,
        an n-gram longer than 3 characters or listed twice, a count of rows that is not
        the header's ``n_grams``.
        """
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None
        lines = raw.splitlines()
        if not lines:
            raise ConfigLoadError(path, None, "empty file: a header line is required")
        header = _json(path, 1, lines[0])
        if not isinstance(header, dict):
            raise ConfigLoadError(path, 1, "the header must be a JSON object")
        unknown = set(header) - _HEADER_FIELDS
        if unknown:
            raise ConfigLoadError(path, 1, f"unknown header fields {sorted(unknown)}")
        missing = _HEADER_FIELDS - set(header)
        if missing:
            raise ConfigLoadError(path, 1, f"missing header fields {sorted(missing)}")
        if header["format"] != FORMAT:
            raise ConfigLoadError(
                path, 1, f"format {header['format']!r} is not {FORMAT!r} (what this code reads)"
            )
        if header["features"] != _FEATURES:
            raise ConfigLoadError(path, 1, f"features {header['features']!r} are not {_FEATURES!r}")
        bias = header["bias"]
        if not (isinstance(bias, list) and len(bias) == 2 and all(_number(b) for b in bias)):
            raise ConfigLoadError(path, 1, "bias must be [critical, hazard] numbers")
        thresholds = header["thresholds"]
        if not (
            isinstance(thresholds, dict)
            and _THRESHOLD_FIELDS <= set(thresholds) <= _THRESHOLD_FIELDS | _OPTIONAL_THRESHOLDS
        ):
            raise ConfigLoadError(
                path,
                1,
                f"thresholds must hold {sorted(_THRESHOLD_FIELDS)}"
                f" and may hold {sorted(_OPTIONAL_THRESHOLDS)}",
            )
        for name, value in thresholds.items():
            if not (_number(value) and 0.0 <= value <= 1.5):
                raise ConfigLoadError(path, 1, f"threshold {name} must be a number in [0, 1.5]")
        if thresholds.get("veto_over_event", OFF) < thresholds["veto"]:
            raise ConfigLoadError(path, 1, "threshold veto_over_event must be at least veto")
        if thresholds.get("doubt", OFF) < OFF and thresholds["doubt"] > thresholds["veto"]:
            # Checked first only below a veto: above it the report is a hazard.
            raise ConfigLoadError(path, 1, "threshold doubt must be at most veto (or off)")
        if thresholds.get("unsure", 0.0) >= 1.0:
            # At 1 or over every critical reading would wait for the duty room.
            raise ConfigLoadError(path, 1, "threshold unsure must be below 1 (0 turns it off)")
        weights: dict[str, tuple[float, float]] = {}
        for number, line in enumerate(lines[1:], start=2):
            row = _json(path, number, line)
            if not (
                isinstance(row, list)
                and len(row) == 3
                and isinstance(row[0], str)
                and _number(row[1])
                and _number(row[2])
            ):
                raise ConfigLoadError(path, number, "a weight row is [n-gram, critical, hazard]")
            gram = row[0]
            if not 1 <= len(gram) <= MAX_N:
                raise ConfigLoadError(path, number, f"n-gram {gram!r} is not 1-{MAX_N} characters")
            if gram != normalise(gram):
                raise ConfigLoadError(path, number, f"n-gram {gram!r} is not normalised")
            if gram in weights:
                raise ConfigLoadError(path, number, f"n-gram {gram!r} listed twice")
            weights[gram] = (float(row[1]), float(row[2]))
        if header["n_grams"] != len(weights):
            raise ConfigLoadError(
                path, None, f"header says {header['n_grams']} n-grams, the file has {len(weights)}"
            )
        return cls(
            weights,
            (float(bias[0]), float(bias[1])),
            Thresholds(**{name: float(value) for name, value in thresholds.items()}),
            header,
        )

    @staticmethod
    def header_fields(
        *,
        bias: tuple[float, float],
        thresholds: Thresholds,
        trained_on: Mapping[str, Any],
        n_grams: int,
    ) -> dict[str, Any]:
        """The header line's object, as the trainer writes it and :meth:`load` reads it."""
        return {
            "format": FORMAT,
            "features": _FEATURES,
            "bias": list(bias),
            "thresholds": {
                "add": thresholds.add,
                "add_over_hazard": thresholds.add_over_hazard,
                "veto": thresholds.veto,
                "hazard": thresholds.hazard,
                "veto_over_event": thresholds.veto_over_event,
                "doubt": thresholds.doubt,
                "sure": thresholds.sure,
                "unsure": thresholds.unsure,
            },
            "trained_on": dict(trained_on),
            "n_grams": n_grams,
        }


def _sigmoid(z: float) -> float:
    # Split by sign: exp of a large positive number overflows.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json(path: str | Path, number: int, line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ConfigLoadError(path, number, f"not JSON: {exc}") from None
