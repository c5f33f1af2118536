"""Compositional danger cues: a thing and what is happening to it, near each other.

A lexicon of whole phrases (``danger.yaml`` ``cues``) misses every new way of saying the
same thing: 煤气味 is listed, 天然气的味道好重 is not; 掉河里 is listed, 脚一滑掉进去了
…河边 is not. Each holdout round written in phrasings the lexicon had not seen lost
recall that way (docs/classification.md, "Measured"). A pattern here is two small sets
instead: **things** (燃气, 煤气, 河, 塘, 墙, 塔吊, 刀 …) and **states** (味, 漏, 冒, 掉,
冲, 倒, 砸, 砍 …). A report holds the pattern when a thing and a state occur within
``window`` characters of each other (in either order, in one clause unless the pattern
says otherwise), and no blocker (没, 不, 会, 可能 …: not happening, or only possibly)
stands right before either (没有人被困, 没漏). Twenty things times twenty states cover four hundred
phrasings, most of which nobody wrote down.

Matching is by substring, one automaton pass over the text. One-character things and
states (火, 河, 倒, 砸) are what make patterns general, and what make them fire on
everyday words (火锅, 河粉, 倒垃圾, 砸价): an ``ignore`` list of such words hides the
characters they cover. Results are data (the names of the patterns found).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

__all__ = ["PatternSet", "ThingStatePattern"]

#: Marks that end a clause, after normalisation (NFKC turns ，。 into ,.).
CLAUSE_END = frozenset(",.;:!?，。；：！？、\n")
_THING = 1
_STATE = 2


@dataclass(frozen=True, slots=True)
class ThingStatePattern:
    """A thing and a state within ``window`` characters (in one clause if ``clause``)."""

    name: str
    things: tuple[str, ...]
    states: tuple[str, ...]
    window: int
    clause: bool = True


class PatternSet:
    """Finds which patterns a (normalised) text holds; immutable, thread-safe."""

    __slots__ = ("_automaton", "_blocker_reach", "_blockers", "_names", "patterns")

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
        # word -> ((pattern index, side), …); "" side list for an ignore word.
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
            automaton.add_word(word, (len(word), tuple(roles.get(word, ())), word in ignored))
        if len(automaton):
            automaton.make_automaton()
            self._automaton: Any = automaton
        else:
            self._automaton = None

    def find(self, text: str) -> frozenset[str]:
        """The names of the patterns ``text`` (normalised) holds."""
        if self._automaton is None:
            return frozenset()
        occurrences: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
        hidden: list[tuple[int, int]] = []
        for end, (length, roles, ignored) in self._automaton.iter(text):
            start = end + 1 - length
            if ignored:
                hidden.append((start, end + 1))
            if roles:
                occurrences.append((start, end + 1, roles))
        if not occurrences:
            return frozenset()
        things: dict[int, list[tuple[int, int]]] = {}
        states: dict[int, list[tuple[int, int]]] = {}
        for start, stop, roles in occurrences:
            # Inside a longer everyday word (火 in 火锅): not this word.
            if any(
                h_start <= start and stop <= h_stop and stop - start < h_stop - h_start
                for h_start, h_stop in hidden
            ):
                continue
            for index, side in roles:
                if self._blocked(text, start):
                    continue
                (things if side == _THING else states).setdefault(index, []).append((start, stop))
        found: set[str] = set()
        for index, spans in things.items():
            if index not in states:
                continue
            pattern = self.patterns[index]
            if any(
                self._near(text, thing, state, pattern)
                for thing in spans
                for state in states[index]
            ):
                found.add(self._names[index])
        return frozenset(found)

    def _blocked(self, text: str, start: int) -> bool:
        # 没漏, 不会倒, 可能垮, 没有人: not happening, or only possibly.
        before = text[max(0, start - self._blocker_reach - 1) : start]
        return any(word in before for word in self._blockers)

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
