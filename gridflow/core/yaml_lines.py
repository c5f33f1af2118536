"""The one strict YAML loader of gridflow: every value it hands out knows its line.

Configuration errors are only useful when they point at a line, and PyYAML's plain
``safe_load`` forgets where things came from. Every rules and reference file is read
here, composed once into PyYAML's node graph (only nodes keep their lines), and offered
in one of two views of that same graph:

* :func:`load_yaml` / :func:`parse_yaml` build ordinary dicts, lists and scalars whose
  containers carry their lines (:class:`YamlMapping`, :class:`YamlSequence`): for files
  whose scalars are typed (routes, policies, calendar);
* :class:`YamlDocument` keeps the nodes and has typed accessors that fail with file and
  line, and reads scalars exactly as written (``0102`` stays ``"0102"``): for files of
  codes (catalogue, networks, keywords).

Strictness, on purpose, for both views:

* duplicate keys in one mapping are an error (PyYAML silently keeps the last one);
* mapping keys must be strings;
* merge keys (``<<``) are refused: they hide where a value came from;
* one document per file; a file that is not UTF-8 or cannot be read is an error too;
* scalars follow the YAML 1.2 core schema, so ``on``/``no`` stay strings, ``09:00`` is
  not the sexagesimal integer 540 and ``2025-10-01`` is not a ``date``; only
  ``true``/``false``, ``null``/``~``, integers and floats are typed.

Lines are 1-based, as editors show them.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gridflow.core.load_errors import ConfigLoadError

__all__ = [
    "YamlDocument",
    "YamlMapping",
    "YamlSequence",
    "check_keys",
    "did_you_mean",
    "load_yaml",
    "parse_yaml",
]


class YamlMapping(dict[str, object]):
    """A mapping read from YAML; knows the line of itself, each key and each value."""

    __slots__ = ("key_lines", "line", "value_lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}
        self.value_lines: dict[str, int] = {}

    def key_line(self, key: str) -> int:
        """Line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)

    def value_line(self, key: str) -> int:
        """Line where the value of ``key`` starts, or of the mapping when absent."""
        return self.value_lines.get(key, self.line)


class YamlSequence(list[object]):
    """A sequence read from YAML; knows the line of itself and of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def item_line(self, index: int) -> int:
        """Line of item ``index``."""
        return self.item_lines[index]


class _CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types instead of YAML 1.1's."""


_CoreSchemaLoader.yaml_implicit_resolvers = {}
_IMPLICIT: tuple[tuple[str, str, str], ...] = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
)
for _tag, _pattern, _first in _IMPLICIT:
    _CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# The empty scalar resolves to null; the resolver table needs an entry for "no first char".
_CoreSchemaLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _compose(text: str, file: str | Path) -> tuple[_CoreSchemaLoader, Node | None]:
    """The node graph of one YAML document (None when empty), and the loader that owns it."""
    loader = _CoreSchemaLoader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        loader.dispose()
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigLoadError(file, line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        loader.dispose()
        raise ConfigLoadError(file, None, f"YAML syntax error: {exc}") from None


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigLoadError(path, None, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None


def parse_yaml(text: str, file: str | Path) -> object:
    """Parse one YAML document; ``file`` only names the source in errors.

    Returns a ``YamlMapping``, a ``YamlSequence``, a scalar, or ``None`` for an empty
    document. Raises ``ConfigLoadError`` for syntax errors, several documents, duplicate
    or non-string keys and merge keys.
    """
    loader, node = _compose(text, file)
    try:
        if node is None:
            return None
        return _Builder(loader, file).build(node)
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> object:
    """Read and parse the YAML file at ``path`` (UTF-8); see ``parse_yaml``."""
    return parse_yaml(_read(path), path)


class _Builder:
    def __init__(self, loader: _CoreSchemaLoader, file: str | Path) -> None:
        self._loader = loader
        self._file = file
        self._open: set[int] = set()

    def build(self, node: Node) -> object:
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        # Aliases share nodes; one that contains itself would recurse forever.
        if id(node) in self._open:
            raise ConfigLoadError(self._file, _line(node), "recursive alias")
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node)
            seq = YamlSequence(_line(node))
            for item in node.value:
                seq.append(self.build(item))
                seq.item_lines.append(_line(item))
            return seq
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: Node) -> object:
        try:
            return self._loader.construct_object(node, deep=True)
        except Exception as exc:
            # Explicitly tagged scalars (!!timestamp, !!binary) fail in many ways.
            detail = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else None
            raise ConfigLoadError(self._file, _line(node), f"bad value: {detail or exc}") from None

    def _mapping(self, node: MappingNode) -> YamlMapping:
        mapping = YamlMapping(_line(node))
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                raise ConfigLoadError(self._file, _line(key_node), _MERGE_REFUSED)
            if not isinstance(key_node, ScalarNode):
                raise ConfigLoadError(self._file, _line(key_node), "keys must be plain strings")
            key = self._scalar(key_node)
            if not isinstance(key, str):
                # A key like `1:` or `true:` is almost always a typo for a quoted string.
                raise ConfigLoadError(
                    self._file, _line(key_node), f"key {key!r} must be a string (quote it)"
                )
            if key in mapping:
                raise ConfigLoadError(
                    self._file,
                    _line(key_node),
                    f"duplicate key {key!r} (first defined on line {mapping.key_lines[key]})",
                )
            mapping[key] = self.build(value_node)
            mapping.key_lines[key] = _line(key_node)
            mapping.value_lines[key] = _line(value_node)
        return mapping


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


_MERGE_REFUSED = "merge keys (<<) are not supported"


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "<<" and not node.style


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(
    mapping: YamlMapping,
    file: str | Path,
    what: str,
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> None:
    """Refuse unknown keys (suggesting the nearest valid one) and missing required keys."""
    needed = tuple(required)
    allowed = tuple(dict.fromkeys((*needed, *optional)))
    for key in mapping:
        if key not in allowed:
            raise ConfigLoadError(
                file,
                mapping.key_line(key),
                f"unknown field {key!r} in {what}{did_you_mean(key, allowed)}; "
                f"valid: {', '.join(allowed)}",
            )
    for key in needed:
        if key not in mapping:
            raise ConfigLoadError(file, mapping.line, f"{what} lacks required field {key!r}")


_NULL_TAG = "tag:yaml.org,2002:null"


class YamlDocument:
    """One YAML file as a node tree, with typed accessors that fail with file and line."""

    __slots__ = ("file", "root")

    def __init__(self, path: str | Path) -> None:
        """Read and compose ``path``; syntax errors become :class:`ConfigLoadError`."""
        self.file = str(path)
        loader, root = _compose(_read(path), path)
        loader.dispose()
        if root is None:
            raise ConfigLoadError(path, None, "empty file")
        self.root: Node = root

    @staticmethod
    def line(node: Node) -> int:
        """The 1-based line where ``node`` starts."""
        return _line(node)

    def error(self, node: Node | None, message: str) -> ConfigLoadError:
        """An error located at ``node`` (or at no line when ``node`` is None)."""
        return ConfigLoadError(self.file, None if node is None else _line(node), message)

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        """The entries of a mapping as ``key -> (key node, value node)``, in file order.

        Keys must be non-empty scalars and unique; merge keys are refused.
        """
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                raise self.error(key_node, _MERGE_REFUSED)
            key = self.scalar(key_node, f"a key in {what}")
            if key in entries:
                first = _line(entries[key][0])
                raise self.error(
                    key_node, f"duplicate key {key!r} in {what} (first at line {first})"
                )
            entries[key] = (key_node, value_node)
        return entries

    def fields(
        self,
        node: Node,
        what: str,
        *,
        required: frozenset[str] = frozenset(),
        optional: frozenset[str] = frozenset(),
    ) -> dict[str, Node]:
        """A mapping with a fixed set of field names: unknown or missing fields are errors."""
        entries = self.mapping(node, what)
        allowed = required | optional
        for key, (key_node, _) in entries.items():
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(key_node, f"unknown field {key!r} in {what} (known: {known})")
        missing = sorted(required - entries.keys())
        if missing:
            raise self.error(node, f"{what} lacks required field {missing[0]!r}")
        return {key: value for key, (_, value) in entries.items()}

    def sequence(self, node: Node, what: str) -> list[Node]:
        """The items of a sequence."""
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: Node, what: str) -> str:
        """The text of a non-empty scalar, exactly as written (``0102`` stays ``"0102"``)."""
        if not isinstance(node, ScalarNode):
            raise self.error(node, f"{what} must be a single value")
        value = str(node.value).strip()
        if node.tag == _NULL_TAG or not value:
            raise self.error(node, f"{what} must not be empty")
        return value

    def number(self, node: Node, what: str, *, minimum: float = 0.0) -> float:
        """A finite number no smaller than ``minimum``."""
        text = self.scalar(node, what)
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise self.error(node, f"{what} must be a number, not {text!r}") from None
        if not math.isfinite(value) or value < minimum:
            raise self.error(node, f"{what} must be a number >= {minimum:g}, not {text!r}")
        return value
