"""The input reader takes a generation's partitions only after *its* recovery ran.

Faust never clears ``recovery.completed``; a recovery run of generation 7 that ends just
after the next rebalance began clears ``app.rebalancing`` (its ``on_rebalance_end``), and
until generation 8's run starts ``in_recovery`` is false. ``CaseTable.recovered`` read all
three and let the reader take generation 8's partitions with their rows not yet recovered
(the chaos drill of session 27: 25 reports split, 176 outputs that disagreed). Faust's own
app and recovery objects, driven through the sequence of that drill's worker log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import faust
import pytest

from agents.faust_table import CaseTable


@pytest.fixture
def table() -> Iterator[CaseTable]:
    app = faust.App("recovery-gate", broker="kafka://127.0.0.1:9", store="memory://")
    yield CaseTable(app, 4)


def _assigned(table: CaseTable, generation: int) -> None:
    """What Faust's rebalance listener and ``tables.on_rebalance`` set for a generation."""
    app = cast(Any, table.app)
    app.consumer_generation_id = generation
    cast(Any, app.tables).recovery._generation_id = generation


def test_a_late_end_of_the_previous_recovery_does_not_open_the_next_generation(
    table: CaseTable,
) -> None:
    app = cast(Any, table.app)
    recovery = cast(Any, app.tables).recovery
    app.on_rebalance_start()
    _assigned(table, 7)
    recovery._set_recovery_started()
    recovery._set_recovery_ended()
    app.on_rebalance_start()  # generation 8's rebalance begins (the heartbeat fails) …
    recovery.completed.set()  # … while generation 7's run seeks and finishes
    app.on_rebalance_end()
    _assigned(table, 8)
    assert not app.rebalancing and not recovery.in_recovery  # what the old gate read
    assert not table.recovered(8)
    recovery._set_recovery_started()  # generation 8's run
    assert not table.recovered(8)
    recovery._set_recovery_ended()
    app.on_rebalance_end()
    assert table.recovered(8)
    assert not table.recovered(7)


def test_a_generation_whose_run_finished_is_recovered(table: CaseTable) -> None:
    app = cast(Any, table.app)
    recovery = cast(Any, app.tables).recovery
    app.on_rebalance_start()
    _assigned(table, 1)
    assert not table.recovered(1)
    recovery._set_recovery_started()
    recovery._set_recovery_ended()
    assert not table.recovered(1)  # still rebalancing until the run resumes the streams
    recovery.completed.set()
    app.on_rebalance_end()
    assert table.recovered(1)
