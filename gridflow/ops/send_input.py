"""Records for ``gridflow send``: read from a file, validated, keyed as the contract says.

Everything is read and checked before anything is sent, so a bad line 40 does not leave
39 records written and an operator guessing which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from gridflow import topics
from gridflow.core.ids import region_of_case
from gridflow.core.ingest import schema_detail
from gridflow.ops import topic_names
from gridflow.ops.errors import OpsError
from schemas import Feedback, GridEvent

#: The model each input topic's records must satisfy.
MODELS: dict[str, type[BaseModel]] = {topics.EVENTS_IN: GridEvent, topics.FEEDBACK: Feedback}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to send: where it came from, its key and value."""

    line: int
    key: bytes | None
    value: bytes
    #: the record's own id (event_id, feedback_id, ...), for the report.
    ident: str


def documents(text: str, source: str) -> list[tuple[int, Any]]:
    """``(line, JSON document)`` pairs: one JSON array, or one document per non-blank line."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        line = text[: len(text) - len(stripped)].count("\n") + 1
        try:
            doc = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise OpsError(f"{source}: not a JSON array: {exc}") from None
        return [(line, item) for item in doc]
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            found.append((number, orjson.loads(raw)))
        except orjson.JSONDecodeError as exc:
            raise OpsError(f"{source}:{number}: not JSON: {exc}") from None
    return found


def contract_key(topic: str, doc: Any) -> str | None:
    """The key the contract gives a record of ``topic`` (``None`` when it names none)."""
    if not isinstance(doc, dict):
        return None
    if topic == topics.EVENTS_IN:
        return str(doc.get("region_code") or "") or None
    if topic == topics.FEEDBACK:
        return region_of_case(str(doc.get("case_id") or ""))
    if topic == topics.DISPOSITIONS:
        return str(doc.get("center_code") or "") or None
    if topic == topics.METRICS:
        return str(doc.get("region_code") or "") or None
    return None


def prepare(topic: str, text: str, source: str, *, raw: bool, key: str | None) -> list[Outgoing]:
    """Validate (unless ``raw``) and key every document of ``text``."""
    model = MODELS.get(topic)
    if model is None and not raw:
        raise OpsError(
            f"{topic} is not an input topic: only {' and '.join(topic_names.CONTRACT_INPUTS)} are "
            "validated; pass --raw to write to it anyway"
        )
    if raw:
        return _verbatim(topic, text, source, key)
    out = []
    for line, doc in documents(text, source):
        if model is not None:
            try:
                model.model_validate(doc)
            except ValidationError as exc:
                raise OpsError(
                    f"{source}:{line}: not a valid {model.__name__}: {schema_detail(exc)}"
                ) from None
        out.append(_outgoing(topic, line, doc, orjson.dumps(doc), key))
    if not out:
        raise OpsError(f"{source}: no records (one JSON object per line, or a JSON array)")
    return out


def _verbatim(topic: str, text: str, source: str, key: str | None) -> list[Outgoing]:
    """``--raw``: each non-blank line's bytes exactly as given (a JSON array: its elements).

    Verbatim so an operator can reproduce what a broken producer sent, invalid JSON too.
    """
    if text.lstrip().startswith("["):
        try:
            docs = documents(text, source)
        except OpsError:
            docs = []
        if docs:
            return [_outgoing(topic, line, doc, orjson.dumps(doc), key) for line, doc in docs]
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                doc = None
            out.append(_outgoing(topic, number, doc, line.encode("utf-8"), key))
    if not out:
        raise OpsError(f"{source}: no records (one per line, or a JSON array)")
    return out


def _outgoing(topic: str, line: int, doc: Any, value: bytes, key: str | None) -> Outgoing:
    chosen = key if key is not None else contract_key(topic, doc)
    ident = ""
    if isinstance(doc, dict):
        ident = str(
            doc.get("event_id") or doc.get("feedback_id") or doc.get("disposition_id") or ""
        )
    return Outgoing(line, chosen.encode() if chosen is not None else None, value, ident)
