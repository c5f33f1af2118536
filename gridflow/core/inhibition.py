"""Inhibition (抑制): while a critical incident is open, compatible reports near it attach.

Like Alertmanager's inhibit rules: a rule says which categories (the *source*, e.g. 火灾)
inhibit which others (the *target*, e.g. 机动车乱停放 by the fire engines, 消防栓 in use,
扬尘) within a radius and a time after the source was first reported, when the source
case is at least ``source_priority``. A target report that merges with no case of its
own attaches to the nearest such open case (ties: the oldest) instead of opening a case
of its own, so it is neither dispatched nor escalated separately.

The rules live in the rules bundle (``routing_rules/inhibit.yaml``; part of
``rules_version``), loaded strictly: an unknown field, an unknown category or a bad
number is an error with file and line.

Cases live in their village's row, so :func:`find_inhibitor` sees the sources of the
report's own village (the contract's key). A fire next to a village border inhibits the
neighbour's reports through the town stage (``gridflow/core/crossvillage.py``), which
applies the same rules to the cases of the villages of one town.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gridflow.core.case import Case
from gridflow.core.catalogue import Catalogue
from gridflow.core.geo import haversine_m
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.merge import Report
from gridflow.core.tiers import SEVERITY_RANK
from gridflow.core.yaml_lines import YamlMapping, YamlSequence, check_keys, load_yaml
from schemas.common import Severity

__all__ = ["INHIBIT_FILE", "InhibitRule", "InhibitRules", "find_inhibitor"]

#: The rules file's name in a rules directory.
INHIBIT_FILE = "inhibit.yaml"


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """``sources`` inhibit ``targets`` within ``radius_m`` and ``window_s``."""

    name: str
    #: category codes or prefixes (a 大类 such as ``SJ04``).
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    radius_m: float
    window_s: float
    source_priority: Severity = Severity.CRITICAL

    def is_source(self, category: str) -> bool:
        """Can a case of ``category`` inhibit under this rule?"""
        return any(category.startswith(code) for code in self.sources)

    def is_target(self, category: str) -> bool:
        """Can a report of ``category`` be inhibited under this rule?"""
        return any(category.startswith(code) for code in self.targets)

    def ranks(self, priority: str) -> bool:
        """Is a case opened at ``priority`` (a severity's value) critical enough to
        inhibit under this rule? An unknown priority is not."""
        known = Severity._value2member_map_.get(priority)
        return known is not None and (
            SEVERITY_RANK[Severity(priority)] >= SEVERITY_RANK[self.source_priority]
        )


class InhibitRules:
    """The rules of one bundle, with the rules each target category is subject to."""

    __slots__ = ("_by_target", "_source_window", "rules")

    def __init__(self, rules: Iterable[InhibitRule] = ()) -> None:
        self.rules = tuple(rules)
        self._by_target: dict[str, tuple[InhibitRule, ...]] = {}
        self._source_window: dict[tuple[str, str], float | None] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def for_target(self, category: str) -> tuple[InhibitRule, ...]:
        """The rules under which a report of ``category`` may be inhibited (remembered)."""
        found = self._by_target.get(category)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.is_target(category))
            self._by_target[category] = found
        return found

    def source_window(self, category: str, priority: str) -> float | None:
        """The longest window of the rules a case of ``category`` opened at ``priority``
        (a severity's value) inhibits under; None when it is no rule's source (remembered:
        the town stage asks for every case it keeps)."""
        key = (category, priority)
        try:
            return self._source_window[key]
        except KeyError:
            pass
        windows = [
            rule.window_s
            for rule in self.rules
            if rule.is_source(category) and rule.ranks(priority)
        ]
        found = self._source_window[key] = max(windows) if windows else None
        return found

    @classmethod
    def load(cls, path: str | Path, catalogue: Catalogue) -> InhibitRules:
        """Read ``inhibit.yaml`` strictly (see the module docstring)."""
        doc = load_yaml(path)
        if not isinstance(doc, YamlMapping):
            raise ConfigLoadError(path, None, "must be a mapping with an 'inhibit' list")
        check_keys(doc, path, "the file", required=("inhibit",))
        items = doc["inhibit"]
        if not isinstance(items, YamlSequence):
            raise ConfigLoadError(path, doc.value_line("inhibit"), "'inhibit' must be a list")
        codes = [category.code for category in catalogue.categories]
        rules: list[InhibitRule] = []
        names: dict[str, int] = {}
        for index, item in enumerate(items):
            line = items.item_line(index)
            if not isinstance(item, YamlMapping):
                raise ConfigLoadError(path, line, "an inhibit rule must be a mapping")
            check_keys(
                item,
                path,
                "an inhibit rule",
                required=("name", "source", "target", "radius_m", "window_s"),
                optional=("source_priority",),
            )
            name = item["name"]
            if not isinstance(name, str) or not name:
                raise ConfigLoadError(path, item.value_line("name"), "name must be text")
            if name in names:
                raise ConfigLoadError(
                    path,
                    item.value_line("name"),
                    f"duplicate inhibit rule {name!r} (first at line {names[name]})",
                )
            names[name] = item.value_line("name")
            sources = _codes(item, "source", path, codes)
            targets = _codes(item, "target", path, codes)
            overlap = [
                t for t in targets if any(t.startswith(s) or s.startswith(t) for s in sources)
            ]
            if overlap:
                raise ConfigLoadError(
                    path,
                    item.value_line("target"),
                    f"target {overlap[0]} is also a source of rule {name!r}: such reports "
                    "already merge into the source case",
                )
            priority = item.get("source_priority", Severity.CRITICAL.value)
            try:
                source_priority = Severity(str(priority))
            except ValueError:
                allowed = ", ".join(s.value for s in Severity)
                raise ConfigLoadError(
                    path,
                    item.value_line("source_priority"),
                    f"source_priority {priority!r} is not one of {allowed}",
                ) from None
            rules.append(
                InhibitRule(
                    name=name,
                    sources=sources,
                    targets=targets,
                    radius_m=_positive(item, "radius_m", path),
                    window_s=_positive(item, "window_s", path),
                    source_priority=source_priority,
                )
            )
        return cls(rules)


def _codes(item: YamlMapping, key: str, path: str | Path, known: list[str]) -> tuple[str, ...]:
    value = item[key]
    line = item.value_line(key)
    if not isinstance(value, YamlSequence) or not value:
        raise ConfigLoadError(path, line, f"{key} must be a non-empty list of category codes")
    codes: list[str] = []
    for index, code in enumerate(value):
        if not isinstance(code, str) or not any(k.startswith(code) for k in known):
            raise ConfigLoadError(
                path,
                value.item_line(index),
                f"{key} {code!r} is no category code or 大类 of the catalogue",
            )
        codes.append(code)
    return tuple(codes)


def _positive(item: YamlMapping, key: str, path: str | Path) -> float:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigLoadError(
            path, item.value_line(key), f"{key} must be a positive number, not {value!r}"
        )
    return float(value)


def find_inhibitor(
    cases: Iterable[Case], report: Report, rules: tuple[InhibitRule, ...]
) -> tuple[Case, InhibitRule] | None:
    """The open case that inhibits ``report`` and the rule that says so, or None.

    The nearest wins; ties go to the oldest case, then the rule listed first, so the
    decision does not depend on dictionary order.
    """
    best: tuple[float, float, str, int] | None = None
    found: tuple[Case, InhibitRule] | None = None
    for case in cases:
        if not case.is_open or case.silence is not None:
            continue
        for order, rule in enumerate(rules):
            if not rule.ranks(case.priority):
                continue
            if not rule.is_source(case.category):
                continue
            if not 0.0 <= report.reported_at - case.first_reported_at <= rule.window_s:
                continue
            if (
                report.lat is not None
                and report.lon is not None
                and case.lat is not None
                and case.lon is not None
            ):
                distance = haversine_m(report.lat, report.lon, case.lat, case.lon)
                if distance > rule.radius_m:
                    continue
            elif report.grid is not None and report.grid == case.grid:
                distance = rule.radius_m  # same unit grid, position unknown
            else:
                continue
            rank = (distance, case.opened_at, case.id, order)
            if best is None or rank < best:
                best, found = rank, (case, rule)
    return found
