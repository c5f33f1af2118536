"""What a Rejection quotes of a refused value: all of it, or a prefix that fits, marked cut."""

from __future__ import annotations

import base64

import orjson
import pytest

from gridflow.core.dlq_original import MAX_DETAIL_CHARS, bounded_detail, quote_original

LIMIT = 1000


def json_size(text: str) -> int:
    return len(orjson.dumps(text)) - 2


@pytest.mark.parametrize(
    ("name", "raw", "base64_", "truncated"),
    [
        ("short text is quoted whole", b'{"event_id": "x"}', False, False),
        ("text exactly at the limit is whole", b"a" * LIMIT, False, False),
        ("long ASCII is cut", b"a" * (LIMIT * 5), False, True),
        ("CJK (3 bytes each) is cut on a character", "长".encode() * LIMIT, False, True),
        ("control characters (6 bytes in JSON) are cut", b"\x01" * LIMIT, False, True),
        ("short binary is base64 whole", b"\xff\xfe\x00", True, False),
        ("long binary is base64 of a prefix", b"\xff" * (LIMIT * 2), True, True),
    ],
)
def test_a_quote_never_exceeds_the_limit_in_json(
    name: str, raw: bytes, base64_: bool, truncated: bool
) -> None:
    quote = quote_original(raw, LIMIT)
    assert quote.base64 is base64_, name
    assert quote.truncated is truncated, name
    assert json_size(quote.text) <= LIMIT, name
    if base64_:
        assert raw.startswith(base64.b64decode(quote.text)), name
    else:
        assert raw.decode().startswith(quote.text), name
    if truncated:
        # A prefix, not a sliver: at least a sixth of the limit survives (worst escaping).
        assert json_size(quote.text) >= LIMIT // 6 - 6, name


def test_a_750_kb_input_gives_a_quote_well_under_kafkas_default_message_limit() -> None:
    quote = quote_original(b"\x00\xff" * 375_000, 256 * 1024)
    assert quote.truncated and len(quote.text) <= 256 * 1024


def test_long_details_are_cut_and_marked() -> None:
    assert bounded_detail("short") == "short"
    long = bounded_detail("x" * 10_000)
    assert len(long) == MAX_DETAIL_CHARS and long.endswith("…")
