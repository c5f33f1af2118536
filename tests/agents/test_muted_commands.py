"""Faust's consumer does not read the commands topic it subscribes to for the assignment.

The input reader reads the commands topic itself; Faust's stream of it only dropped each
record (~100 µs of worker CPU per event at 1,000 POSTs/s, docs/api.md "Speed"). The
``cases`` agent mutes each partition on its first record: a pause, as Faust's recovery
makes and undoes at each rebalance. Faust's livelock check then skips the partition
instead of logging, after ``stream_processing_timeout``, that it is no longer fetched.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from faust.types import TP

from agents.app import GridflowApp
from agents.faust_table import mute_partition
from gridflow.config import Settings


class _Thread:
    """Stands in for Faust's consumer thread: records the livelock checks it is asked."""

    def __init__(self) -> None:
        self.checked: list[TP] = []

    def verify_event_path(self, now: float, tp: TP) -> None:
        self.checked.append(tp)


@pytest.fixture
def app() -> GridflowApp:
    return GridflowApp(Settings(kafka_bootstrap="127.0.0.1:1"))


def test_a_muted_partition_is_paused_until_resumed(app: GridflowApp) -> None:
    consumer: Any = app.app.consumer
    tp = TP(app.topics.commands, 0)
    other = TP(app.topics.commands, 1)
    consumer.resume_partitions({tp, other})

    mute_partition(app.app, tp)

    assert tp in consumer._paused_partitions
    assert consumer._get_active_partitions() == {other}
    # What Faust's recovery does at the end of each rebalance.
    consumer.resume_partitions({tp})
    assert tp not in consumer._paused_partitions


@pytest.mark.parametrize(
    ("muted", "checked"),
    [
        (True, []),  # paused on purpose: nothing to report
        (False, [0]),  # any other partition: Faust's own check
    ],
)
def test_the_livelock_check_skips_muted_partitions(
    app: GridflowApp, monkeypatch: pytest.MonkeyPatch, muted: bool, checked: list[int]
) -> None:
    consumer: Any = app.app.consumer
    thread = _Thread()
    monkeypatch.setattr(consumer, "_thread", thread)
    tp = TP(app.topics.commands, 0)
    if muted:
        mute_partition(app.app, tp)

    consumer.verify_event_path(time.monotonic(), tp)

    assert [t.partition for t in thread.checked] == checked
