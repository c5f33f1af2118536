"""Deterministic identifiers: the same input history gives the same ids.

Consumers drop duplicate dispositions by id, so every id here is a pure function of the
case and the logical step, never of wall-clock time or the worker that emitted it.
"""

from __future__ import annotations

import hashlib

#: A case id starts with the 12-digit region code, so feedback can be routed to the
#: partition that holds the case from the id alone.
CASE_ID_REGION_LEN = 12


def case_id_for(region_code: str, first_event_id: str) -> str:
    """The id of the case opened by ``first_event_id`` in ``region_code``."""
    digest = hashlib.blake2b(first_event_id.encode("utf-8"), digest_size=6).hexdigest()
    return f"{region_code}-{digest}"


def region_of_case(case_id: str) -> str | None:
    """The region code embedded in a case id, or None when the id is not ours."""
    region = case_id[:CASE_ID_REGION_LEN]
    if len(case_id) > CASE_ID_REGION_LEN and region.isdigit() and len(region) == 12:
        return region
    return None


def disposition_id(case_id: str, *parts: object) -> str:
    """A disposition id from the case and the parts that name its logical step."""
    return "/".join([case_id, *map(str, parts)])
