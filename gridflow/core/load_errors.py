"""Configuration errors that point at a file and line, and a YAML reader that raises them.

Loaders validate strictly at load time, so a bad rules file stops a worker at start-up
with ``file:line: what`` instead of misrouting events later. The YAML reader works on
PyYAML's composed node tree (not on constructed dicts) because only nodes keep their line
numbers, and because a node tree lets duplicate keys be refused: ``yaml.safe_load``
silently keeps the last one.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

__all__ = ["ConfigLoadError", "YamlDocument"]


class ConfigLoadError(ValueError):
    """A configuration file is invalid; ``str()`` reads ``"{file}:{line}: {message}"``.

    ``line`` is 1-based, or ``None`` when the problem is not tied to one line
    (e.g. an empty file or a missing required entry).
    """

    def __init__(self, file: str | Path, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        super().__init__(f"{self.file}:{line}: {message}")

    def __reduce__(self) -> tuple[type[ConfigLoadError], tuple[str, int | None, str]]:
        # Keep the error picklable despite the custom __init__ signature.
        return (type(self), (self.file, self.line, self.message))


_NULL_TAG = "tag:yaml.org,2002:null"


class YamlDocument:
    """One YAML file as a node tree, with typed accessors that fail with file and line."""

    __slots__ = ("file", "root")

    def __init__(self, path: str | Path) -> None:
        """Read and compose ``path``; syntax errors become :class:`ConfigLoadError`."""
        self.file = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigLoadError(path, None, f"not UTF-8: {exc.reason}") from exc
        except OSError as exc:
            raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from exc
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise ConfigLoadError(path, line, f"YAML syntax: {exc.problem or exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigLoadError(path, None, f"YAML syntax: {exc}") from exc
        if root is None:
            raise ConfigLoadError(path, None, "empty file")
        self.root: yaml.Node = root

    @staticmethod
    def line(node: yaml.Node) -> int:
        """The 1-based line where ``node`` starts."""
        return int(node.start_mark.line) + 1

    def error(self, node: yaml.Node | None, message: str) -> ConfigLoadError:
        """An error located at ``node`` (or at no line when ``node`` is None)."""
        return ConfigLoadError(self.file, None if node is None else self.line(node), message)

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping as ``key -> (key node, value node)``, in file order.

        Keys must be non-empty scalars and unique.
        """
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, f"a key in {what}")
            if key in entries:
                first = self.line(entries[key][0])
                raise self.error(
                    key_node, f"duplicate key {key!r} in {what} (first at line {first})"
                )
            entries[key] = (key_node, value_node)
        return entries

    def fields(
        self,
        node: yaml.Node,
        what: str,
        *,
        required: frozenset[str] = frozenset(),
        optional: frozenset[str] = frozenset(),
    ) -> dict[str, yaml.Node]:
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

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The items of a sequence."""
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str:
        """The text of a non-empty scalar, exactly as written (``0102`` stays ``"0102"``)."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a single value")
        value = str(node.value).strip()
        if node.tag == _NULL_TAG or not value:
            raise self.error(node, f"{what} must not be empty")
        return value

    def number(self, node: yaml.Node, what: str, *, minimum: float = 0.0) -> float:
        """A finite number no smaller than ``minimum``."""
        text = self.scalar(node, what)
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise self.error(node, f"{what} must be a number, not {text!r}") from None
        if not math.isfinite(value) or value < minimum:
            raise self.error(node, f"{what} must be a number >= {minimum:g}, not {text!r}")
        return value
