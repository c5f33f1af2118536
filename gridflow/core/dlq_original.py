"""The refused bytes a Rejection carries, bounded so the DLQ record always fits the topic.

A Rejection quotes the record it refuses (as text, or base64 when it is not UTF-8). Quoted
whole, a large input gives a DLQ record larger than the input: base64 adds a third, and
JSON escapes a control character into six bytes. On Apache Kafka, whose topics refuse
records over ``max.message.bytes`` (about 1 MB by default), such a record could not be
written and the worker would replay the same batch on every restart. So the quote keeps
a prefix of at most ``limit`` bytes *as it is written in JSON*, and says it was cut.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

#: Longest ``detail`` kept, characters; details are short, this only bounds the unusual.
MAX_DETAIL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Quote:
    """What a Rejection carries of the refused bytes."""

    text: str
    base64: bool
    truncated: bool


def quote_original(raw: bytes, limit: int) -> Quote:
    """``raw`` as UTF-8 text (else base64), cut to a prefix of at most ``limit`` JSON bytes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # 4 base64 characters per 3 bytes; base64 needs no escaping in JSON.
        keep = max(0, limit // 4) * 3
        return Quote(base64.b64encode(raw[:keep]).decode("ascii"), True, keep < len(raw))
    if _json_size(text) <= limit:
        return Quote(text, False, False)
    # Shrink in proportion to the escaped size until the prefix fits: escaping is uneven
    # (ASCII 1 byte, CJK 3, control characters 6), so a few rounds may be needed.
    chars = min(len(text), limit)
    while chars > 0:
        size = _json_size(text[:chars])
        if size <= limit:
            break
        chars = min(chars - 1, chars * limit // size)
    return Quote(text[: max(chars, 0)], False, True)


def bounded_detail(detail: str) -> str:
    """``detail`` cut to :data:`MAX_DETAIL_CHARS`, marked when cut."""
    if len(detail) <= MAX_DETAIL_CHARS:
        return detail
    return detail[: MAX_DETAIL_CHARS - 1] + "…"


def _json_size(text: str) -> int:
    return len(orjson.dumps(text)) - 2  # without the quotes
