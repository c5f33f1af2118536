"""``rules_version``: one hash over every file whose content can change a decision.

A disposition and ``gridflow_build_info`` carry it, so "which rules decided this?" has
an answer. It covers the routing tree, the SLA policies and the calendar, and also the
catalogue (a category's department, severity, merge radius), the networks' own codes,
the classifier's keywords, the danger lexicon and the division tree (which centre is whose parent): a
change to any of them can change where a case goes or when it escalates. The inhibit
rules (``inhibit.yaml``) and the danger lexicon's learned second opinion
(``danger_model.jsonl``) count too when the directory has them; a directory without
them inhibits nothing, gates on no model and keeps the version it had before the files
existed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from gridflow.core.bundled import BUNDLED_RULES, DIVISIONS_FILE
from gridflow.core.load_errors import ConfigLoadError

__all__ = ["DECISION_FILES", "OWN_ONLY_FILES", "decision_files", "rules_version"]

#: Every file that can change a decision, by its name in a rules directory, in the order
#: their contents feed the version.
DECISION_FILES: tuple[str, ...] = (
    "routes.yaml",
    "policies.yaml",
    "calendar.yaml",
    "catalogue.yaml",
    "networks.yaml",
    "keywords.yaml",
    "danger.yaml",
    str(DIVISIONS_FILE),
)
#: Decision files hashed only when the directory has them (no bundled fallback: without
#: the file the feature is off), after ``DECISION_FILES``.
OWN_ONLY_FILES: tuple[str, ...] = ("inhibit.yaml", "danger_model.jsonl")
#: Files a rules directory may leave out: the loaders then use the bundled ones.
_OPTIONAL = frozenset(
    {"catalogue.yaml", "networks.yaml", "keywords.yaml", "danger.yaml", str(DIVISIONS_FILE)}
)


def decision_files(directory: str | Path, divisions: str | Path | None = None) -> dict[str, Path]:
    """name -> the file the loaders read for it, given a rules directory.

    The directory's own file, else (catalogue, networks, keywords, divisions) the bundled
    one, as the loaders fall back; the catalogue and networks files go as a pair.
    ``divisions``: a division file from elsewhere (``GRIDFLOW_DIVISIONS``).
    """
    folder = Path(directory)
    own_catalogue = (folder / "catalogue.yaml").is_file() and (folder / "networks.yaml").is_file()
    files: dict[str, Path] = {}
    for name in DECISION_FILES:
        path = folder / name
        if name in ("catalogue.yaml", "networks.yaml"):
            path = path if own_catalogue else BUNDLED_RULES / name
        elif name == str(DIVISIONS_FILE) and divisions is not None:
            path = Path(divisions)
        elif name in _OPTIONAL and not path.is_file():
            path = BUNDLED_RULES / name
        files[name] = path
    for name in OWN_ONLY_FILES:
        if (folder / name).is_file():
            files[name] = folder / name
    return files


def rules_version(files: Mapping[str, Path]) -> str:
    """12 hex digits of SHA-256 over each file's name and content, in ``files`` order."""
    digest = hashlib.sha256()
    for name, path in files.items():
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()[:12]
