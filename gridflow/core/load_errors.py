"""Configuration errors that point at a file and line.

Loaders validate strictly at load time, so a bad rules file stops a worker at start-up
with ``file:line: what`` instead of misrouting events later. The YAML files are read by
:mod:`gridflow.core.yaml_lines`, which raises these.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigLoadError"]


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
