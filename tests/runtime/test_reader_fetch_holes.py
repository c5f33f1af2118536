"""The input reader never stores a position past a record the fetch skipped.

The embedded broker can hand a fetch records past a batch that is not visible yet
(docs/PITFALLS.md); the reader keeps what lies before the hole, seeks back to it and
processes the rest once the next fetch brings it, in offset order.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from gridflow.runtime.checkpoint import Rows, position_key
from gridflow.runtime.fetch_holes import FetchHoles
from gridflow.runtime.reader import InputReader
from gridflow.runtime.records import InRecord
from gridflow.topics import EVENTS_IN

TOPIC = EVENTS_IN
TP = TopicPartition(TOPIC, 0)


@dataclass(frozen=True)
class Msg:
    offset: int
    topic: str = TOPIC
    partition: int = 0
    timestamp: int = 1_700_000_000_000
    timestamp_type: int = 0
    key: bytes | None = None
    value: bytes | None = b"{}"


class ScriptedConsumer:
    """Answers each fetch from a script, as a broker that skipped offsets 2 and 3 once."""

    def __init__(self, fetches: list[list[int]]) -> None:
        self.fetches = fetches
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def getmany(self, *_: object, **__: object) -> dict[TopicPartition, list[Msg]]:
        offsets = self.fetches.pop(0) if self.fetches else []
        return {TP: [Msg(o) for o in offsets]} if offsets else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


async def test_a_skipped_batch_is_fetched_again_before_the_position_passes_it() -> None:
    rows: dict[bytes, bytes] = {}
    seen: list[InRecord] = []

    async def store(written: Rows) -> None:
        for items in written.values():
            for key, value in items:
                if value is not None:
                    rows[key] = value

    async def handle(records: list[InRecord], now: float) -> Rows:
        seen.extend(records)
        return {}

    reader = InputReader(
        client={},
        topics=[TOPIC],
        handle=handle,
        store=store,
        read_row=rows.get,
        may_read=lambda generation: True,
        holes=FetchHoles(enabled=True),
    )
    reader._holes.expect(TP, 0)
    consumer = ScriptedConsumer([[0, 1, 4, 5], [2, 3, 4, 5, 6]])

    await reader._cycle(consumer)
    assert consumer.seeks == [(TP, 2)]
    await reader._cycle(consumer)
    await reader.checkpoint.flush()

    assert [r.offset for r in seen] == [0, 1, 2, 3, 4, 5, 6]
    assert rows[position_key(TOPIC, 0)] == b"7"
