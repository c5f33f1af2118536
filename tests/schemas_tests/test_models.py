"""The wire contract's models: strict where the contract is strict, and the schema files in sync."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gridflow.commands.schemas import EXPORTED, SCHEMA_DIR, render
from schemas import Disposition, Feedback, GridEvent

GOOD = {
    "event_id": "e-1",
    "source_network": "chengguan",
    "reported_at": "2026-11-25T10:00:00+08:00",
    "region_code": "500103001003",
    "title": "路灯不亮",
}


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_committed_json_schema_matches_the_model(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_bytes()
    assert committed == render(EXPORTED[name]), f"{name} drifted: run `gridflow schemas export`"


def test_a_minimal_event_is_valid() -> None:
    event = GridEvent.model_validate(GOOD)
    assert event.reported_at.utcoffset() is not None and event.attachments == []


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("region_code", "50010300100", "11 digits"),
        ("region_code", "5001030010031", "13 digits"),
        ("region_code", "50010300100a", "not digits"),
        ("reported_at", "2026-11-25T10:00:00", "no offset"),
        ("event_id", "", "empty id"),
        ("event_id", "x" * 129, "id too long"),
        ("severity", "apocalyptic", "unknown severity"),
        ("source_network", "Bad Network", "network name syntax"),
        ("location", {"lat": 91, "lon": 0}, "latitude out of range"),
        ("grid_code", "123", "grid code is 15 digits"),
        ("attachments", ["ftp://x"], "attachments are http(s) URLs"),
        ("attachments", ["https://x"] * 21, "at most 20 attachments"),
        ("description", "长" * 2001, "description too long"),
    ],
)
def test_an_event_violating_the_contract_is_refused(field: str, value: object, why: str) -> None:
    with pytest.raises(ValidationError):
        GridEvent.model_validate({**GOOD, field: value})


def test_an_event_needs_a_title_or_a_description() -> None:
    doc = {k: v for k, v in GOOD.items() if k != "title"}
    with pytest.raises(ValidationError, match="title or description"):
        GridEvent.model_validate(doc)
    assert GridEvent.model_validate({**doc, "description": "路灯不亮"})


def test_extend_feedback_needs_until() -> None:
    base = {
        "feedback_id": "f",
        "case_id": "500103001003-abc",
        "center_code": "500103001003",
        "action": "extend",
        "at": "2026-11-25T10:00:00+08:00",
    }
    with pytest.raises(ValidationError, match="until"):
        Feedback.model_validate(base)
    assert Feedback.model_validate({**base, "until": "2026-11-26T10:00:00+08:00"}).until is not None


def test_a_disposition_round_trips_through_json() -> None:
    d = Disposition(
        disposition_id="c/1/dispatch",
        case_id="c",
        action="dispatch",
        tier="village",  # type: ignore[arg-type]
        center_code="500103001003",
        at=datetime(2026, 11, 25, tzinfo=UTC),
        events=["e"],
        networks=["chengguan"],
    )
    assert Disposition.model_validate_json(d.model_dump_json()) == d
