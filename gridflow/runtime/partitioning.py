"""Which partition a key's records and state live in: Kafka's default murmur2, once.

gridflow keys everything by region code and partitions with Kafka's default murmur2, as
the Java client and aiokafka do. A record that arrives elsewhere (a producer with another
partitioner, an empty key) is re-keyed through the commands topic, so a region's state is
only ever touched by the one worker owning its partition. The sender picks partitions
with the same hash (:mod:`gridflow.runtime.sender`).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=65536)
def key_hash(key: bytes) -> int:
    """Kafka's default partitioner hash of ``key``: positive murmur2.

    Cached: keys here are centre and region codes, a few thousand distinct ones, and
    aiokafka's murmur2 runs in Python (~2 µs a key).
    """
    return int(murmur2(key)) & 0x7FFFFFFF


@lru_cache(maxsize=65536)
def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (UTF-8)."""
    return key_hash(key.encode("utf-8")) % partitions
