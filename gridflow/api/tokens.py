"""Bearer tokens from a YAML file, stored as SHA-256 hashes, each bound to a role and region.

A token is 32 random bytes (``gridflow api token`` makes one): with that much entropy a
plain SHA-256 is enough at rest (a slow password hash protects guessable secrets; these
are not), and a look-up stays one dict access per request.

File format (``GRIDFLOW_API_TOKENS_FILE``)::

    tokens:
      - name: yuzhong-county          # shown in logs and metrics instead of the token
        role: centre                  # centre | field_app | ops
        region: "500103000000"        # the centre's code; what the token may see and act on
                                      # (a verifying office: "500103000000-zjz", its cases)
        sha256: 3f1c…                 # hex SHA-256 of the token
        rate_per_s: 20                # optional: overrides GRIDFLOW_API_RATE_PER_S
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gridflow.core.catalogue import Catalogue
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.offices import split_office
from gridflow.core.regions import RegionGraph
from gridflow.core.yaml_lines import YamlMapping, YamlSequence, check_keys, load_yaml

_FIELDS = ("name", "role", "region", "sha256", "rate_per_s")


class Role(StrEnum):
    #: a command centre: reads and acts on its own and its subordinate regions' cases.
    CENTRE = "centre"
    #: a field app, hotline or camera platform: may only submit events.
    FIELD_APP = "field_app"
    #: operations: reads KPIs and health.
    OPS = "ops"


@dataclass(frozen=True, slots=True)
class Token:
    name: str
    role: Role
    region: str
    rate_per_s: float | None = None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return "gf_" + secrets.token_urlsafe(32)


class TokenStore:
    """Hash → token; immutable once loaded."""

    def __init__(self, tokens: dict[str, Token]) -> None:
        self._by_hash = tokens

    def __len__(self) -> int:
        return len(self._by_hash)

    def lookup(self, secret: str) -> Token | None:
        return self._by_hash.get(hash_token(secret))

    @classmethod
    def from_secrets(cls, entries: list[tuple[str, Token]]) -> TokenStore:
        """A store from plain secrets (the demo and tests; files hold only hashes)."""
        return cls({hash_token(secret): token for secret, token in entries})

    @classmethod
    def load(
        cls, path: Path, regions: RegionGraph, catalogue: Catalogue | None = None
    ) -> TokenStore:
        """Read a token file; :class:`ConfigLoadError` with file and line for what is wrong.

        ``catalogue``: the offices a department office's token may name (``offices:``).
        """
        file = str(path)
        root = load_yaml(path)
        if root is None:
            return cls({})
        if not isinstance(root, YamlMapping):
            raise ConfigLoadError(file, 1, "expected 'tokens:' at the top")
        check_keys(root, file, "the token file", optional=("tokens",))
        entries = root.get("tokens")
        if entries is None:
            return cls({})
        if not isinstance(entries, YamlSequence):
            raise ConfigLoadError(file, root.value_line("tokens"), "tokens must be a list")
        tokens: dict[str, Token] = {}
        names: set[str] = set()
        for index, item in enumerate(entries):
            line = entries.item_line(index)
            token, digest = _entry(file, line, item, regions, catalogue)
            if token.name in names:
                raise ConfigLoadError(file, line, f"duplicate token name {token.name!r}")
            if digest in tokens:
                raise ConfigLoadError(file, line, "duplicate sha256: two names for one token")
            names.add(token.name)
            tokens[digest] = token
        return cls(tokens)


def _entry(
    file: str, line: int, item: object, regions: RegionGraph, catalogue: Catalogue | None
) -> tuple[Token, str]:
    if not isinstance(item, YamlMapping):
        raise ConfigLoadError(file, line, "a token entry must be a mapping")
    check_keys(item, file, "a token entry", optional=_FIELDS)
    fields: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, YamlMapping | YamlSequence) or value is None:
            raise ConfigLoadError(file, item.value_line(key), f"{key} must be a scalar")
        fields[key] = str(value)
    missing = {"name", "role", "region", "sha256"} - fields.keys()
    if missing:
        raise ConfigLoadError(file, line, f"missing {', '.join(sorted(missing))}")
    try:
        role = Role(fields["role"])
    except ValueError:
        raise ConfigLoadError(
            file, line, f"role {fields['role']!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None
    _check_centre(file, line, fields["region"], role, regions, catalogue)
    digest = fields["sha256"].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigLoadError(file, line, "sha256 must be 64 hex digits (gridflow api token)")
    rate: float | None = None
    if "rate_per_s" in fields:
        try:
            rate = float(fields["rate_per_s"])
        except ValueError:
            rate = -1.0
        if rate <= 0:
            raise ConfigLoadError(file, line, "rate_per_s must be a positive number")
    return Token(fields["name"], role, fields["region"], rate), digest


def _check_centre(
    file: str, line: int, code: str, role: Role, regions: RegionGraph, catalogue: Catalogue | None
) -> None:
    """A region of the tree, or (a centre token) a department office the catalogue lists."""
    office = split_office(code)
    if office is None:
        if code not in regions:
            raise ConfigLoadError(file, line, f"region {code} is not in the division tree")
        return
    if role is not Role.CENTRE:
        raise ConfigLoadError(file, line, f"office {code}: only a centre token may be an office's")
    region = regions.get(office[0])
    if region is None:
        raise ConfigLoadError(file, line, f"office {code}: region {office[0]} is not in the tree")
    if catalogue is None:
        return
    listed = catalogue.offices.get(office[1])
    if listed is None:
        known = ", ".join(catalogue.offices) or "none"
        raise ConfigLoadError(
            file,
            line,
            f"office {code}: catalogue.yaml offices: does not list {office[1]!r} (known: {known})",
        )
    if region.tier not in listed.tiers:
        where = ", ".join(t.value for t in listed.tiers)
        raise ConfigLoadError(
            file,
            line,
            f"office {code}: {office[1]} ({listed.name}) sits at {where}, not at the "
            f"{region.tier.value} {office[0]}",
        )
