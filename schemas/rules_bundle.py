"""RulesBundle: one published version of the routing rules (internal topic ``grid.rules``).

Keyed by ``version`` on a compacted topic: the topic keeps each version's latest
publication, so republishing an old version with a new ``effective_from`` is a rollback.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import MAX_TEXT, AwareDatetime

#: ``rules_version``: 12 hex digits of SHA-256 over every decision file.
RulesVersion = Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]


class RulesBundle(BaseModel):
    """A rules directory, its content hash, a label and an author's note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: RulesVersion
    label: Annotated[str, Field(min_length=1, max_length=100)]
    note: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    author: Annotated[str, Field(max_length=100)] = ""
    #: the instant from which events are to be decided by this bundle (event time).
    effective_from: AwareDatetime
    published_at: AwareDatetime
    #: every decision file, by its name in a rules directory (``divisions/...csv`` too),
    #: as UTF-8 text: the hash ``version`` is computed over exactly these.
    files: dict[str, str]
