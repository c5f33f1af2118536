"""Configuration errors that point at a file and line.

Loaders validate strictly at load time, so a bad rules file stops a worker at start-up
with ``file:line: what`` instead of misrouting events later. The YAML files are read by
:mod:`gridflow.core.yaml_lines`, which raises these.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigLoadError"]


class ConfigLoadError(ValueError):
    """A configuration file is invalid; ``str()`` reads ``"{file}:{line}: {message}"`` (``"{file}: {message}"`` without a line).

    ``line`` is 1-based, or ``None`` when the problem is not tied to one line
    (e.g. an empty file or a missing required entry).
    """

    def __init__(self, file: str | Path, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        # No ":None" when the problem has no line (a file that cannot be read, is empty).
        where = self.file if line is None else f"{self.file}:{line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[ConfigLoadError], tuple[str, int | None, str]]:
        # Keep the error picklable despite the custom __init__ signature.
        return (type(self), (self.file, self.line, self.message))
