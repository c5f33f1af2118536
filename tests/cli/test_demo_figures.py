"""The demo's figures: one case per incident across village lines, counted from dispositions."""

from __future__ import annotations

from typing import Any

from gridflow.demo_view import DemoFigures

CASE, NEIGHBOUR = "500103001003-aaaaaaaaaaaa", "500103001006-bbbbbbbbbbbb"


def disp(did: str, case: str, action: str, events: list[str], **extra: Any) -> dict[str, Any]:
    return {"disposition_id": did, "case_id": case, "action": action, "tier": "village",
            "events": events, **extra}  # fmt: skip


def test_a_merge_across_villages_is_counted_and_nothing_is_split() -> None:
    figures = DemoFigures(boundary_pairs=[("e9", "e1")])
    for doc in (
        disp(f"{CASE}/dispatch", CASE, "dispatch", ["e1"]),
        disp(f"{NEIGHBOUR}/dispatch", NEIGHBOUR, "dispatch", ["e9"]),
        disp(f"{NEIGHBOUR}/merged_into/{CASE}", NEIGHBOUR, "state", ["e9"], merged_into=CASE),
        disp(f"{CASE}/xmerge/{NEIGHBOUR}", CASE, "merge", ["e1", "e9"], merged_cases=[NEIGHBOUR]),
    ):
        figures.add_disposition(doc)
    summary = figures.summary()
    assert summary["boundary_reports"] == 1
    assert summary["cross_village_merges"] == 1
    assert summary["split_across_villages"] == 0
    assert summary["merges"] == 0  # a case joining is not a report merging (多网合一)
    assert "跨村合并" in figures.render(1.0)


def test_a_boundary_report_left_in_its_own_case_is_split() -> None:
    figures = DemoFigures(boundary_pairs=[("e9", "e1")])
    figures.add_disposition(disp(f"{CASE}/dispatch", CASE, "dispatch", ["e1"]))
    figures.add_disposition(disp(f"{NEIGHBOUR}/dispatch", NEIGHBOUR, "dispatch", ["e9"]))
    assert figures.summary()["split_across_villages"] == 1
