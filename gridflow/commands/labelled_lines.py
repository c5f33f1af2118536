"""Labelled JSON-lines sets, as ``gridflow classify-eval`` and ``gridflow danger-eval`` read them.

One JSON object a line, blank lines skipped; each line is validated by the set's pydantic
model (unknown keys are errors, so a misspelt ``"catgory"`` is not read as "no category").
The first bad line stops the read with ``file:line: what is wrong``, naming the fields and
never echoing the text (reports can name people).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gridflow.core.ingest import schema_detail

Row = TypeVar("Row", bound=BaseModel)


def read_labelled(path: str | Path, model: type[Row], what: str) -> list[tuple[int, Row]]:
    """Every ``(line number, row)`` of ``path``; ``ValueError`` names the first bad line.

    ``what`` says what a line should be, for the error (``"a labelled report"``).
    ``OSError`` when the file cannot be read.
    """
    rows: list[tuple[int, Row]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, model.model_validate_json(line)))
            except ValidationError as exc:
                raise ValueError(f"{path}:{number}: not {what} ({schema_detail(exc)})") from None
    return rows
