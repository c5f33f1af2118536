"""The unified category catalogue (部件 BJ, 事件 SJ, 综治 ZZ) and each network's code map.

Every report ends up with one unified code, whatever network sent it: the catalogue says
which department handles it by default, how severe it is by default, and how near in space
and time two reports must be to count as one incident.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from yaml.nodes import Node

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.offices import OFFICE_KEY, Office, VerifierRule
from gridflow.core.yaml_lines import YamlDocument, did_you_mean
from schemas.common import REQUEST_TYPES, Severity, Tier

__all__ = ["CODE_PATTERN", "Catalogue", "Category", "Kind"]


Kind = Literal["component", "event", "governance"]
_KINDS: dict[str, Kind] = {"BJ": "component", "SJ": "event", "ZZ": "governance"}
#: A unified code: kind (BJ 部件, SJ 事件, ZZ 综治) + 大类 (2 digits) + 小类 (2 digits).
CODE_PATTERN = re.compile(r"^(BJ|SJ|ZZ)[0-9]{2}[0-9]{2}$")
_MAJOR_PATTERN = re.compile(r"^(BJ|SJ|ZZ)[0-9]{2}$")
_NETWORK_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{1,31}$")
#: Severities at which a hotline request counts as urgent (紧急诉求).
_URGENT = frozenset({Severity.HIGH, Severity.CRITICAL})
_SEVERITIES = ", ".join(s.value for s in Severity)
_TOP_FIELDS = frozenset(
    {
        "version",
        "fallback",
        "defaults",
        "majors",
        "categories",
        "compatible",
        "offices",
        "verifiers",
    }
)
_OFFICE_FIELDS = frozenset({"name", "department", "tiers"})
#: Tiers a verifier may sit at: a village centre has nobody below it to check.
_VERIFIER_TIERS = (Tier.TOWN.value, Tier.COUNTY.value, Tier.CITY.value)
_DEFAULT_FIELDS = frozenset({"department", "severity", "merge_radius_m", "merge_window_s"})
_CATEGORY_FIELDS = _DEFAULT_FIELDS | {"name", "sla_policy"}


@dataclass(frozen=True, slots=True)
class Category:
    """One unified category and its defaults."""

    code: str
    name: str
    kind: Kind
    #: The 大类: the first four characters of the code, e.g. ``"SJ01"``.
    major: str
    major_name: str
    department: str
    severity: Severity
    merge_radius_m: float
    merge_window_s: float
    sla_policy: str | None = None


class Catalogue:
    """The unified catalogue plus the per-network code mappings; immutable once loaded."""

    __slots__ = (
        "_by_code",
        "_compatible",
        "_network_codes",
        "_network_names",
        "_request_policies",
        "_urgent_policies",
        "_verifiers",
        "categories",
        "fallback",
        "networks",
        "offices",
    )

    def __init__(
        self,
        categories: tuple[Category, ...],
        fallback: str,
        network_codes: dict[str, dict[str, str]],
        network_names: dict[str, str],
        compatible_groups: tuple[frozenset[str], ...] = (),
        request_policies: dict[str, dict[str, str]] | None = None,
        urgent_policies: dict[str, str] | None = None,
        verifiers: dict[str, VerifierRule] | None = None,
        offices: dict[str, Office] | None = None,
    ) -> None:
        """Assemble a catalogue; use :meth:`load` to get one validated from files.

        ``request_policies``: per network, the SLA policy of each caller's request type
        (12345: 咨询, 求助, 投诉, 举报, 建议, 表扬); ``urgent_policies``: per network, the
        policy of an urgent request (severity high or critical), whatever its type;
        ``verifiers``: code or code prefix -> the tier whose centre (or whose department
        office) verifies (核查) its cases (the longest prefix wins; unnamed codes: the
        tier above the holder); ``offices``: the department offices ``verifiers`` may name.
        """
        self.categories = categories
        self._by_code = {category.code: category for category in categories}
        if fallback not in self._by_code:
            raise ValueError(f"fallback {fallback} is not a category")
        self.fallback = fallback
        self._network_codes = network_codes
        self._network_names = network_names
        self.networks = frozenset(network_names)
        self._request_policies = request_policies or {}
        self._urgent_policies = urgent_policies or {}
        self.offices: dict[str, Office] = dict(offices or {})
        named = verifiers or {}
        # Resolved per code once, so the engine's look-up is one dict access.
        self._verifiers: dict[str, VerifierRule] = {}
        for category in categories:
            prefixes = [p for p in named if category.code.startswith(p)]
            if prefixes:
                self._verifiers[category.code] = named[max(prefixes, key=len)]
        # Pairs are precomputed so the merge hot path is one set look-up.
        pairs: set[tuple[str, str]] = set()
        for group in compatible_groups:
            pairs.update((a, b) for a in group for b in group)
        self._compatible = frozenset(pairs)

    @classmethod
    def load(cls, catalogue_path: str | Path, networks_path: str | Path) -> Catalogue:
        """Load and validate ``catalogue.yaml`` and ``networks.yaml``.

        Raises :class:`~gridflow.core.load_errors.ConfigLoadError` with file and line for
        YAML syntax errors, unknown or missing fields, a malformed or duplicate code, a
        category whose 大类 is not declared, an unknown severity, a non-positive radius or
        window, a fallback or compatibility entry or network mapping naming an unknown
        code, and a malformed network name.
        """
        categories, fallback, groups, verifiers, offices = _load_catalogue(
            YamlDocument(catalogue_path)
        )
        known = {category.code for category in categories}
        names, codes, requests, urgent = _load_networks(YamlDocument(networks_path), known)
        return cls(categories, fallback, codes, names, groups, requests, urgent, verifiers, offices)

    @classmethod
    def default(cls) -> Catalogue:
        """The bundled catalogue from ``routing_rules/``, loaded once per process."""
        return _default_catalogue()

    def get(self, code: str) -> Category | None:
        """The category with this unified code, or ``None``."""
        return self._by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self.categories)

    def own_codes(self) -> dict[str, dict[str, str]]:
        """network -> its own code -> unified code, every network in file order."""
        return {
            network: dict(self._network_codes.get(network, {})) for network in self._network_names
        }

    def network_name(self, network: str) -> str | None:
        """The display name of a network (``"城管"`` for ``chengguan``), or ``None``."""
        return self._network_names.get(network)

    def resolve(self, network: str, code: str | None) -> Category | None:
        """The category a report's ``category`` field names.

        A unified code is accepted from any network; otherwise the network's own code is
        mapped through ``networks.yaml``. ``None`` when the code is absent or unknown: the
        caller then classifies the text.
        """
        if not code:
            return None
        found = self._by_code.get(code)
        if found is not None:
            return found
        own = self._network_codes.get(network)
        if own is None:
            return None
        unified = own.get(code)
        return None if unified is None else self._by_code[unified]

    def request_policy(
        self, network: str, request_type: str | None, severity: Severity
    ) -> str | None:
        """The SLA policy a hotline request sets, or ``None`` (the routes decide).

        An urgent request (severity high or critical) takes the network's
        ``urgent_policy``; otherwise its ``request_type`` is looked up in the network's
        ``request_types``. Networks without these (every grid network) return ``None``.
        """
        if severity in _URGENT:
            urgent = self._urgent_policies.get(network)
            if urgent is not None:
                return urgent
        if request_type is None:
            return None
        return self._request_policies.get(network, {}).get(request_type)

    def policy_names(self) -> dict[str, str]:
        """Every SLA policy the networks name, with where: for cross-file checks."""
        named = {
            policy: f"networks.yaml {n} urgent_policy"
            for n, policy in self._urgent_policies.items()
        }
        for network, table in self._request_policies.items():
            for request_type, policy in table.items():
                named.setdefault(policy, f"networks.yaml {network} request_types {request_type}")
        return named

    def verifier_rule(self, code: str) -> VerifierRule | None:
        """What ``verifiers:`` names for category ``code`` (``None``: the default)."""
        return self._verifiers.get(code)

    def verifier_rules(self) -> dict[str, VerifierRule]:
        """Every category with a configured verifier, in catalogue order."""
        return dict(self._verifiers)

    def compatible(self, a: str, b: str) -> bool:
        """May reports of categories ``a`` and ``b`` describe the same incident?

        Yes for the same code, the same 大类 (first four characters), or two codes listed
        together in one ``compatible`` group of ``catalogue.yaml``.
        """
        return a == b or a[:4] == b[:4] or (a, b) in self._compatible

    def majors(self) -> dict[str, str]:
        """Every 大类 code that has categories, with its name, in catalogue order."""
        return {category.major: category.major_name for category in self.categories}


@functools.cache
def _default_catalogue() -> Catalogue:
    return Catalogue.load(BUNDLED_RULES / "catalogue.yaml", BUNDLED_RULES / "networks.yaml")


def _load_catalogue(
    doc: YamlDocument,
) -> tuple[
    tuple[Category, ...],
    str,
    tuple[frozenset[str], ...],
    dict[str, VerifierRule],
    dict[str, Office],
]:
    top = doc.fields(
        doc.root,
        "catalogue",
        required=frozenset({"fallback", "majors", "categories"}),
        optional=_TOP_FIELDS,
    )
    if "version" in top and doc.scalar(top["version"], "version") != "1":
        raise doc.error(top["version"], "unsupported catalogue version (this code reads 1)")

    defaults = _Defaults("城管局", Severity.NORMAL, 250.0, 7200.0)
    if "defaults" in top:
        defaults = defaults.overlay(
            doc, doc.fields(top["defaults"], "defaults", optional=_DEFAULT_FIELDS)
        )

    majors: dict[str, str] = {}
    for major, (key_node, value_node) in doc.mapping(top["majors"], "majors").items():
        if not _MAJOR_PATTERN.match(major):
            raise doc.error(key_node, f"大类 code {major!r} must be BJ/SJ/ZZ + 2 digits")
        majors[major] = doc.scalar(value_node, f"name of 大类 {major}")

    categories: list[Category] = []
    entries = doc.mapping(top["categories"], "categories")
    if not entries:
        raise doc.error(top["categories"], "no categories")
    for code, (key_node, value_node) in entries.items():
        if not CODE_PATTERN.match(code):
            raise doc.error(
                key_node, f"category code {code!r} must be BJ/SJ/ZZ + 大类 2 digits + 小类 2 digits"
            )
        major = code[:4]
        if major not in majors:
            raise doc.error(key_node, f"category {code}: 大类 {major} is not declared under majors")
        what = f"category {code}"
        fields = doc.fields(
            value_node, what, required=frozenset({"name"}), optional=_CATEGORY_FIELDS
        )
        own = defaults.overlay(doc, fields)
        categories.append(
            Category(
                code=code,
                name=doc.scalar(fields["name"], f"{what} name"),
                kind=_KINDS[code[:2]],
                major=major,
                major_name=majors[major],
                department=own.department,
                severity=own.severity,
                merge_radius_m=own.merge_radius_m,
                merge_window_s=own.merge_window_s,
                sla_policy=(
                    doc.scalar(fields["sla_policy"], f"{what} sla_policy")
                    if "sla_policy" in fields
                    else None
                ),
            )
        )
    known = {category.code for category in categories}

    fallback = doc.scalar(top["fallback"], "fallback")
    if fallback not in known:
        raise doc.error(top["fallback"], f"fallback {fallback!r} is not a category")

    groups: list[frozenset[str]] = []
    if "compatible" in top:
        for group_node in doc.sequence(top["compatible"], "compatible"):
            members = doc.sequence(group_node, "a compatible group")
            if len(members) < 2:
                raise doc.error(group_node, "a compatible group needs at least two codes")
            codes = []
            for member in members:
                code = doc.scalar(member, "a code in a compatible group")
                if code not in known:
                    raise doc.error(member, f"compatible group names unknown category {code!r}")
                codes.append(code)
            groups.append(frozenset(codes))
    offices = _load_offices(doc, top["offices"]) if "offices" in top else {}
    verifiers: dict[str, VerifierRule] = {}
    if "verifiers" in top:
        for prefix, (key_node, rule_node) in doc.mapping(top["verifiers"], "verifiers").items():
            if not any(code.startswith(prefix) for code in known) or len(prefix) < 2:
                raise doc.error(
                    key_node,
                    f"verifiers: {prefix!r} is neither a category code nor the prefix of one "
                    "(BJ, SJ01, ZZ0304 …)",
                )
            verifiers[prefix] = _verifier_rule(doc, prefix, rule_node, offices)
    return tuple(categories), fallback, tuple(groups), verifiers, offices


def _verifier_rule(
    doc: YamlDocument, prefix: str, node: Node, offices: dict[str, Office]
) -> VerifierRule:
    """``county`` (that tier's centre) or ``county:zjz`` (that tier's office ``zjz``)."""
    text = doc.scalar(node, f"verifier of {prefix}")
    tier, _, key = text.partition(":")
    if tier not in _VERIFIER_TIERS:
        hint = did_you_mean(tier, _VERIFIER_TIERS)
        raise doc.error(
            node,
            f"verifiers: {prefix} names tier {tier!r}{hint}; a verifier is the centre "
            f"of one of {', '.join(_VERIFIER_TIERS)}, or an office there (county:<office>)",
        )
    if not key:
        return VerifierRule(Tier(tier))
    office = offices.get(key)
    if office is None:
        known = ", ".join(offices) or "none: list them under offices:"
        raise doc.error(
            node,
            f"verifiers: {prefix} names office {key!r}{did_you_mean(key, offices)}, which "
            f"offices: does not list (known: {known})",
        )
    if Tier(tier) not in office.tiers:
        where = ", ".join(t.value for t in office.tiers)
        raise doc.error(
            node,
            f"verifiers: {prefix} names office {key} ({office.name}) at the {tier}; it sits "
            f"at {where} only",
        )
    return VerifierRule(Tier(tier), key)


def _load_offices(doc: YamlDocument, node: Node) -> dict[str, Office]:
    offices: dict[str, Office] = {}
    for key, (key_node, value_node) in doc.mapping(node, "offices").items():
        if not OFFICE_KEY.match(key):
            raise doc.error(
                key_node,
                f"office key {key!r} must be 2-16 lower-case letters and digits, a letter "
                "first (it is part of the office's centre code, e.g. 500103000000-zjz)",
            )
        what = f"office {key}"
        fields = doc.fields(value_node, what, required=_OFFICE_FIELDS)
        tiers: list[Tier] = []
        for tier_node in doc.sequence(fields["tiers"], f"{what} tiers"):
            tier = doc.scalar(tier_node, f"a tier of {what}")
            if tier not in _VERIFIER_TIERS:
                raise doc.error(
                    tier_node,
                    f"{what}: tier {tier!r}{did_you_mean(tier, _VERIFIER_TIERS)} is not one "
                    f"of {', '.join(_VERIFIER_TIERS)}",
                )
            tiers.append(Tier(tier))
        if not tiers:
            raise doc.error(fields["tiers"], f"{what}: tiers lists no tier")
        offices[key] = Office(
            key=key,
            name=doc.scalar(fields["name"], f"{what} name"),
            department=doc.scalar(fields["department"], f"{what} department"),
            tiers=tuple(tiers),
        )
    return offices


def _load_networks(
    doc: YamlDocument, known: set[str]
) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, dict[str, str]], dict[str, str]]:
    top = doc.fields(doc.root, "networks file", required=frozenset({"networks"}))
    names: dict[str, str] = {}
    mappings: dict[str, dict[str, str]] = {}
    requests: dict[str, dict[str, str]] = {}
    urgent: dict[str, str] = {}
    for network, (key_node, value_node) in doc.mapping(top["networks"], "networks").items():
        if not _NETWORK_PATTERN.match(network):
            raise doc.error(
                key_node, f"network name {network!r} must be 2-32 characters of [a-z0-9_]"
            )
        what = f"network {network}"
        fields = doc.fields(
            value_node,
            what,
            required=frozenset({"name"}),
            optional=frozenset({"codes", "request_types", "urgent_policy"}),
        )
        names[network] = doc.scalar(fields["name"], f"{what} name")
        own: dict[str, str] = {}
        if "codes" in fields:
            for own_code, (_, target_node) in doc.mapping(fields["codes"], f"{what} codes").items():
                target = doc.scalar(target_node, f"{what} code {own_code}")
                if target not in known:
                    raise doc.error(
                        target_node, f"{what} maps {own_code!r} to unknown category {target!r}"
                    )
                own[own_code] = target
        mappings[network] = own
        if "request_types" in fields:
            table: dict[str, str] = {}
            entries = doc.mapping(fields["request_types"], f"{what} request_types")
            for request_type, (type_node, policy_node) in entries.items():
                if request_type not in REQUEST_TYPES:
                    raise doc.error(
                        type_node,
                        f"{what}: unknown request type {request_type!r}; "
                        f"valid: {', '.join(REQUEST_TYPES)}",
                    )
                table[request_type] = doc.scalar(policy_node, f"{what} {request_type} policy")
            requests[network] = table
        if "urgent_policy" in fields:
            urgent[network] = doc.scalar(fields["urgent_policy"], f"{what} urgent_policy")
    if not names:
        raise doc.error(top["networks"], "no networks")
    return names, mappings, requests, urgent


@dataclass(frozen=True, slots=True)
class _Defaults:
    department: str
    severity: Severity
    merge_radius_m: float
    merge_window_s: float

    def overlay(self, doc: YamlDocument, fields: dict[str, yaml.Node]) -> _Defaults:
        """These defaults with any of the four fields that ``fields`` sets."""
        department, severity = self.department, self.severity
        radius, window = self.merge_radius_m, self.merge_window_s
        if "department" in fields:
            department = doc.scalar(fields["department"], "department")
        if "severity" in fields:
            text = doc.scalar(fields["severity"], "severity")
            try:
                severity = Severity(text)
            except ValueError:
                raise doc.error(
                    fields["severity"], f"unknown severity {text!r} (known: {_SEVERITIES})"
                ) from None
        if "merge_radius_m" in fields:
            radius = _positive(doc, fields["merge_radius_m"], "merge_radius_m")
        if "merge_window_s" in fields:
            window = _positive(doc, fields["merge_window_s"], "merge_window_s")
        return _Defaults(department, severity, radius, window)


def _positive(doc: YamlDocument, node: yaml.Node, what: str) -> float:
    value = doc.number(node, what)
    if value <= 0:
        raise doc.error(node, f"{what} must be > 0")
    return value
