"""Compositional danger cues: a thing and what is happening to it, near each other.

A lexicon of whole phrases (``danger.yaml`` ``cues``) misses every new way of saying the
same thing: 煤气味 is listed, 天然气的味道好重 is not; 掉河里 is listed, 脚一滑掉进去了
…河边 is not. Each holdout round written in phrasings the lexicon had not seen lost
recall that way (docs/classification.md, "Measured"). A pattern here is two small sets
instead: **things** (燃气, 煤气, 河, 塘, 墙, 塔吊, 刀 …) and **states** (味, 漏, 冒, 掉进,
冲走, 倒了, 砸 …). A report holds the pattern when a thing and a state occur within
``window`` characters of each other in one clause, in either order (a pattern with
``clause=False``: anywhere in the report), and no blocker (没, 不, 会, 可能, 怕 …: not
happening, or only possibly) stands right before either (没有人被困, 没漏). Twenty things
times twenty states cover four hundred phrasings, most of which nobody wrote down.

Matching is by substring, one automaton pass over the text. One-character things and
states (火, 河, 砸) are what make patterns general, and what make them fire on everyday
words (火锅, 河粉, 砸价): an ``ignore`` list of such words hides the characters they
cover. Report texts are unique (place names) while their clauses repeat, so each clause
(a piece cut as the keyword scan cuts it, :data:`~gridflow.core.classify.PIECE_CUT`) is
read once and remembered, as bit masks of the patterns it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from gridflow.core.bounded_cache import remember
from gridflow.core.classify import NO_MASKS, PIECE_CUT, PieceMasks, normalise

__all__ = ["CLAUSE_END", "PatternSet", "ThingStatePattern"]

#: Marks that end a clause, after normalisation (NFKC turns ，。 into ,.).
CLAUSE_END = frozenset(",.;:!?，。；：！？、\n")
_THING = 1
_STATE = 2
#: Distinct pieces of raw text remembered per pattern set.
_PIECE_CACHE_SIZE = 65_536
#: Per piece: (patterns found in it, cross-clause patterns with a thing, … with a state).
_NOTHING = NO_MASKS


@dataclass(frozen=True, slots=True)
class ThingStatePattern:
    """A thing and a state within ``window`` characters (in one clause if ``clause``)."""

    name: str
    things: tuple[str, ...]
    states: tuple[str, ...]
    window: int
    clause: bool = True


class PatternSet:
    """Finds which patterns a report's text holds; immutable, thread-safe."""

    __slots__ = (
        "_automaton",
        "_blocker_reach",
        "_blockers",
        "_cross",
        "_names",
        "_names_cache",
        "_piece_cache",
        "patterns",
    )

    def __init__(
        self,
        patterns: Iterable[ThingStatePattern],
        *,
        ignore: Iterable[str] = (),
        blockers: Iterable[str] = (),
    ) -> None:
        """Index the patterns' words (normalised); ``ignore`` words hide what they cover."""
        self.patterns: tuple[ThingStatePattern, ...] = tuple(patterns)
        self._names = tuple(pattern.name for pattern in self.patterns)
        self._cross = sum(1 << i for i, pattern in enumerate(self.patterns) if not pattern.clause)
        roles: dict[str, list[tuple[int, int]]] = {}
        for index, pattern in enumerate(self.patterns):
            for word in pattern.things:
                roles.setdefault(word, []).append((index, _THING))
            for word in pattern.states:
                roles.setdefault(word, []).append((index, _STATE))
        ignored = set(ignore)
        self._blockers = frozenset(blockers)
        self._blocker_reach = max((len(word) for word in self._blockers), default=0)
        automaton: Any = ahocorasick.Automaton()
        for word in set(roles) | ignored:
            held = tuple(roles.get(word, ()))
            # The patterns the word is a thing or a state of, as bits: a piece whose hits
            # complete no pattern (most: a place name's 山, 桥, 河) is done with at once.
            bits = sum(1 << index for index, _ in held)
            automaton.add_word(word, (len(word), held, word in ignored, bits))
        self._automaton: Any = None
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        self._piece_cache: dict[str, PieceMasks] = {}
        self._names_cache: dict[int, frozenset[str]] = {0: frozenset()}

    def find_text(self, text: str) -> frozenset[str]:
        """The names of the patterns raw ``text`` holds (remembered piece by piece)."""
        if self._automaton is None:
            return frozenset()
        cache = self._piece_cache
        found = things = states = 0
        for piece in PIECE_CUT.split(text):
            known = cache.get(piece)
            if known is None:
                known = remember(cache, _PIECE_CACHE_SIZE, piece, self.read_piece(normalise(piece)))
            if known is not _NOTHING:
                found |= known[0]
                things |= known[1]
                states |= known[2]
        return self.names_of(found, things, states)

    def names_of(self, found: int, things: int, states: int) -> frozenset[str]:
        """The names of the patterns a text holds, from its pieces' masks OR-ed together."""
        found |= things & states & self._cross
        names = self._names_cache.get(found)
        if names is None:
            names = remember(
                self._names_cache,
                _PIECE_CACHE_SIZE,
                found,
                frozenset(name for i, name in enumerate(self._names) if found >> i & 1),
            )
        return names

    def find(self, text: str) -> frozenset[str]:
        """The names of the patterns normalised ``text`` holds, read as one piece."""
        if self._automaton is None:
            return frozenset()
        return self.names_of(*self.read_piece(text))

    def read_piece(self, text: str) -> PieceMasks:
        """The masks of one normalised piece (:data:`NO_MASKS` when it holds nothing)."""
        hidden: list[tuple[int, int]] | None = None
        # Automaton hits come by end position, so an ignore word (火锅) arrives after
        # the shorter word inside it (火): collect first, filter after.
        hits: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
        seen = 0
        twice = 0
        for end, (length, roles, ignored, bits) in self._automaton.iter(text):
            if ignored:
                if hidden is None:
                    hidden = []
                hidden.append((end + 1 - length, end + 1))
            if roles:
                hits.append((end + 1 - length, end + 1, roles))
                twice |= seen & bits
                seen |= bits
        # A pattern needs two hits (a thing and a state), except one read across clauses.
        if not (twice or seen & self._cross):
            return _NOTHING
        things: dict[int, list[tuple[int, int]]] = {}
        states: dict[int, list[tuple[int, int]]] = {}
        for start, stop, roles in hits:
            if hidden is not None and any(
                h_start <= start and stop <= h_stop and stop - start < h_stop - h_start
                for h_start, h_stop in hidden
            ):
                continue  # inside a longer everyday word (火 in 火锅): not this word
            for index, side in roles:
                (things if side == _THING else states).setdefault(index, []).append((start, stop))
        cross = self._cross
        found = thing_mask = state_mask = 0
        # Blockers are looked for only where they could change the answer: most pieces
        # hold a thing or a state of a pattern, not both.
        for index, spans in things.items():
            bit = 1 << index
            other = states.get(index)
            if other is None and not bit & cross:
                continue
            spans = [span for span in spans if not self._blocked(text, span[0])]
            if other is not None:
                other = [span for span in other if not self._blocked(text, span[0])]
                pattern = self.patterns[index]
                if any(self._near(text, a, b, pattern) for a in spans for b in other):
                    found |= bit
                if other and bit & cross:
                    state_mask |= bit
            if spans and bit & cross:
                thing_mask |= bit
        if cross:
            for index, spans in states.items():
                bit = 1 << index
                if (
                    bit & cross
                    and index not in things
                    and any(not self._blocked(text, span[0]) for span in spans)
                ):
                    state_mask |= bit
        if not (found or thing_mask or state_mask):
            return _NOTHING
        return found, thing_mask, state_mask

    def _blocked(self, text: str, start: int) -> bool:
        # 没漏, 不会倒, 可能垮, 没有人: not happening, or only possibly.
        begin = start - self._blocker_reach - 1
        before = text[begin if begin > 0 else 0 : start]
        return bool(before) and any(word in before for word in self._blockers)

    @staticmethod
    def _near(
        text: str, thing: tuple[int, int], state: tuple[int, int], pattern: ThingStatePattern
    ) -> bool:
        if thing[0] < state[1] and state[0] < thing[1]:
            return False  # one word cannot be both
        left, right = (thing[1], state[0]) if thing[0] < state[0] else (state[1], thing[0])
        if right - left > pattern.window:
            return False
        return not (pattern.clause and any(char in CLAUSE_END for char in text[left:right]))
