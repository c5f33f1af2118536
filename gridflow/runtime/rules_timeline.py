"""The rules in force at an instant: every loaded bundle, ordered by when it takes effect.

Hot reload must not make decisions depend on *when a worker happened to read* a bundle,
or two workers would decide the same instant differently and a replay after a crash
would not repeat what was published. So:

* Every publication read from ``grid.rules`` becomes a **switch**: its engine (the
  bundle's rules, catalogue, classifier and division tree), the instant it takes effect
  and its position on the topic. An event, feedback or tick is decided by the engine of
  the latest switch whose instant is not after the record's own timestamp
  (:meth:`RulesTimeline.at`); before the first switch, by the worker's own rules
  directory (``GRIDFLOW_RULES``, the *base*).
* **Clamp, not refuse**: a switch takes effect at ``max(effective_from, the publication
  record's timestamp)``. A bundle published late with an ``effective_from`` in the past
  cannot change decisions already made and announced; it takes effect from its
  publication on, the same instant on every worker (the instant is data on the topic, not
  a worker's clock).
* **Pinned by position**: each batch is decided with the switches read up to a position
  of ``grid.rules``, journaled with the batch (:mod:`gridflow.runtime.checkpoint`); a
  replay pins the same position, so a bundle read after the batch cannot change it.
* **Refused, not half-loaded**: a bundle whose files do not match its version, that does
  not load, or that drops an SLA policy earlier versions name (open cases keep the policy
  they were given) is refused: no switch, the worker keeps what it has.

The worker reads ``grid.rules`` up to its end after fetching a batch and before deciding
it (:class:`gridflow.runtime.rules_follower.RulesFollower`), so any bundle published
before a record reached the broker is known when that record is decided.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from gridflow.core.engine import Engine
from schemas import RulesBundle

__all__ = ["Refused", "RulesTimeline", "Switch"]

#: Builds the engine of a bundle; raises on a bundle that cannot be loaded.
BundleLoader = Callable[[RulesBundle], Engine]


@dataclass(frozen=True, slots=True)
class Switch:
    """One publication of a bundle: from ``effective`` on, ``engine`` decides."""

    #: the publication's offset on ``grid.rules``
    offset: int
    #: epoch seconds: ``max(effective_from, the record's timestamp)``
    effective: float
    version: str
    label: str
    engine: Engine


@dataclass(frozen=True, slots=True)
class Refused:
    """A publication that was not taken, and why (logged and counted by the caller)."""

    offset: int
    version: str
    reason: str


class RulesTimeline:
    """The base engine and the switches read from ``grid.rules``, pinned to a position.

    Not thread-safe; the input reader uses it under its batch lock.
    """

    def __init__(self, base: Engine, load: BundleLoader, base_label: str = "GRIDFLOW_RULES"):
        self.base = base
        self.base_label = base_label
        self._load = load
        #: every switch in the order of its publication (offset)
        self._switches: list[Switch] = []
        #: version -> offset of the tombstone that withdrew it
        self._withdrawn: dict[str, int] = {}
        self._engines: dict[str, Engine] = {base.rules.version: base}
        #: every policy name any version loaded had, pruned or not (open cases name them)
        self._policies: set[str] = set(base.rules.policies)
        #: next offset of grid.rules to read
        self.position = 0
        self._pinned: int | None = None
        self._view_key: tuple[int, tuple[str, ...]] | None = None
        #: the pinned view: effective instants (sorted) and their switches
        self._starts: list[float] = []
        self._view: list[Switch] = []
        self._refresh()

    # ------------------------------------------------------------- reading
    def publication(
        self, offset: int, bundle: RulesBundle | None, key: str, record_ts: float
    ) -> Switch | Refused | None:
        """Take the record at ``offset`` of ``grid.rules``; None for a tombstone.

        ``bundle`` is None for a tombstone (``key`` withdrawn from then on) and
        ``record_ts`` is the record's timestamp in epoch seconds.
        """
        self.position = max(self.position, offset + 1)
        if bundle is None:
            self._withdrawn[key] = offset
            self._refresh()
            return None
        engine = self._engines.get(bundle.version)
        if engine is None:
            try:
                engine = self._load(bundle)
            except Exception as exc:  # any failure to load refuses the bundle, never the worker
                return Refused(offset, bundle.version, _one_line(exc))
            dropped = sorted(self._policies - set(engine.rules.policies))
            if dropped:
                return Refused(
                    offset,
                    bundle.version,
                    "drops SLA policies that earlier versions' cases name: " + ", ".join(dropped),
                )
            self._engines[bundle.version] = engine
            self._policies.update(engine.rules.policies)
        switch = Switch(
            offset=offset,
            effective=max(bundle.effective_from.timestamp(), record_ts),
            version=bundle.version,
            label=bundle.label,
            engine=engine,
        )
        self._switches.append(switch)
        self._withdrawn.pop(bundle.version, None)
        self._refresh()
        return switch

    def prune(self, before: float) -> int:
        """Forget the switches no instant at or after ``before`` is decided by.

        A switch superseded before ``before`` by a later one is dropped, and a bundle's
        engine once no switch names it (the worker's own engine stays). ``before`` is
        the wall clock less the dedup memory (``GRIDFLOW_RETENTION_S``): a record older
        than that would be decided by the oldest switch kept, as it would no longer be
        recognised as a duplicate either. Returns how many switches were dropped.
        """
        withdrawn = {v for v, at in self._withdrawn.items() if at < self.position}
        live = sorted(
            (s for s in self._switches if s.version not in withdrawn),
            key=lambda s: (s.effective, s.offset),
        )
        started = [s for s in live if s.effective <= before]
        gone = {id(s) for s in started[:-1]}
        if not gone:
            return 0
        self._switches = [s for s in self._switches if id(s) not in gone]
        named = {s.version for s in self._switches} | {self.base.rules.version}
        for version in [v for v in self._engines if v not in named]:
            del self._engines[version]
        self._view_key = None
        self._refresh()
        return len(gone)

    # ------------------------------------------------------------- deciding
    def pin(self, position: int | None) -> None:
        """Decide with the publications before ``position`` only (None: all read)."""
        self._pinned = position
        self._refresh()

    def _refresh(self) -> None:
        limit = self.position if self._pinned is None else self._pinned
        taken = [s for s in self._switches if s.offset < limit]
        withdrawn = {v for v, at in self._withdrawn.items() if at < limit}
        # Publications arrive in offset order, so (how many, which withdrawn) is the view.
        key = (len(taken), tuple(sorted(withdrawn)))
        if key == self._view_key:
            return
        self._view_key = key
        view = sorted(
            (s for s in taken if s.version not in withdrawn),
            key=lambda s: (s.effective, s.offset),
        )
        self._view = view
        self._starts = [s.effective for s in view]

    def at(self, ts: float) -> Engine:
        """The engine in force at ``ts`` (epoch seconds) under the pinned position."""
        starts = self._starts
        if not starts or ts < starts[0]:
            return self.base
        return self._view[bisect.bisect_right(starts, ts) - 1].engine

    def in_force(self, ts: float) -> tuple[str, str]:
        """(version, label) in force at ``ts`` under the pinned position."""
        starts = self._starts
        if not starts or ts < starts[0]:
            return self.base.rules.version, self.base_label
        switch = self._view[bisect.bisect_right(starts, ts) - 1]
        return switch.version, switch.label

    @property
    def switches(self) -> tuple[Switch, ...]:
        """Every switch taken, in the order of publication."""
        return tuple(self._switches)

    @property
    def loaded_versions(self) -> tuple[str, ...]:
        """The versions with an engine in memory (the base first)."""
        return tuple(self._engines)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    return text[:500]
