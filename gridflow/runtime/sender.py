"""Producing a batch's records through aiokafka's batch API.

``AIOKafkaProducer.send`` costs ~20-25 µs of Python per record (docs/PITFALLS.md); a worker
sends one to three records per event (dispositions, DLQ records, re-keyed commands, state
rows), so per-record sends were a fifth of its CPU per event. ``create_batch`` /
``send_batch`` build one record batch per topic partition instead, as the raw baseline of
the benchmark does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition

from gridflow.runtime.partitioning import key_hash

#: topic, key, value, partition (None: the producer's partitioner decides, as ``send`` would)
Record = tuple[str, bytes | None, bytes | None, int | None]
#: Told of records the broker refused as too large: their partition, how many, the error.
OnRefused = Callable[[TopicPartition, int, BaseException], None]
#: With ``on_refused``, a value this large travels in a batch of its own, so that if the
#: broker refuses it (``max.message.bytes``) no other record is refused with it.
ALONE_BYTES = 64 * 1024


async def send_batched(
    producer: AIOKafkaProducer, records: Iterable[Record], *, on_refused: OnRefused | None = None
) -> dict[TopicPartition, int]:
    """Send ``records`` in per-partition batches, await delivery, return the last offsets.

    Order is kept per topic partition. The result maps every partition written to the
    offset of the last record written there. Without ``on_refused`` any delivery error
    raises. With it, a batch the broker refuses as too large is reported to
    ``on_refused`` and skipped: replaying the batch would be refused again, so raising
    would only make the worker restart into the same refusal forever.
    """
    # Records as they came, grouped by topic partition (no tuple built per record).
    groups: dict[tuple[str, int], list[Record]] = {}
    pickers: dict[str, Callable[[bytes | None, bytes | None], int]] = {}
    #: with ``on_refused``, values at least this long travel alone
    alone = ALONE_BYTES if on_refused is not None else None
    for record in records:
        topic, key, value, partition = record
        if partition is None:
            pick = pickers.get(topic)
            if pick is None:
                # The producer's own routine before it partitions a record; cached after
                # the first call, so once per topic and batch is cheap.
                await producer.client._wait_on_metadata(topic)
                pick = pickers[topic] = _partition_picker(producer, topic)
            partition = pick(key, value)
        group = groups.get((topic, partition))
        if group is None:
            group = groups[(topic, partition)] = []
        group.append(record)
    sent: list[tuple[asyncio.Future[Any], TopicPartition, int]] = []
    for (topic, partition), items in groups.items():
        tp = TopicPartition(topic, partition)
        batch = producer.create_batch()
        append = batch.append
        count = 0
        for _, key, value, _ in items:
            if alone is not None and value is not None and len(value) >= alone:
                if count:
                    sent.append(
                        (await producer.send_batch(batch, topic, partition=partition), tp, count)
                    )
                    batch, count = producer.create_batch(), 0
                batch.append(key=key, value=value, timestamp=None)
                sent.append((await producer.send_batch(batch, topic, partition=partition), tp, 1))
                batch = producer.create_batch()
                append = batch.append
                continue
            if append(key=key, value=value, timestamp=None) is None:
                sent.append(
                    (await producer.send_batch(batch, topic, partition=partition), tp, count)
                )
                batch = producer.create_batch()
                append = batch.append
                count = 0
                if append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(
                        f"a record of {len(value or b'')} bytes does not fit a batch of {topic}"
                    )
            count += 1
        if count:
            sent.append((await producer.send_batch(batch, topic, partition=partition), tp, count))
    delivered = await asyncio.gather(
        *(future for future, _, _ in sent), return_exceptions=on_refused is not None
    )
    last: dict[TopicPartition, int] = {}
    for meta, (_, tp, count) in zip(delivered, sent, strict=True):
        if isinstance(meta, BaseException):
            if on_refused is None or not isinstance(meta, MessageSizeTooLargeError):
                raise meta
            on_refused(tp, count, meta)
            continue
        last[tp] = max(last.get(tp, -1), meta.offset + count - 1)
    return last


def _partition_picker(
    producer: AIOKafkaProducer, topic: str
) -> Callable[[bytes | None, bytes | None], int]:
    """What ``producer._partition`` answers for ``topic``, with keyed hashes remembered.

    aiokafka's default partitioner runs murmur2 in Python for every record (~2 µs); keys
    here are centre and region codes, a few thousand distinct ones, so the hash of each
    is computed once (:func:`gridflow.runtime.partitioning.key_hash`). Any other
    partitioner, and unkeyed records, go to the producer.
    """
    partitioner = getattr(producer, "_partitioner", None)
    partitions: list[int] = sorted(producer._metadata.partitions_for_topic(topic) or ())
    if not isinstance(partitioner, DefaultPartitioner) or not partitions:
        return lambda key, value: int(producer._partition(topic, None, key, value, key, value))
    count = len(partitions)

    def pick(key: bytes | None, value: bytes | None) -> int:
        if key is None:
            return int(producer._partition(topic, None, key, value, key, value))
        return partitions[key_hash(key) % count]

    return pick
