"""Which partition a region's records and state live in.

gridflow keys everything by region code and partitions with Kafka's default murmur2, as
the Java client and aiokafka do. A record that arrives elsewhere (a producer with another
partitioner, an empty key) is re-keyed through the commands topic, so a region's state is
only ever touched by the one worker owning its partition.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=65536)
def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (UTF-8)."""
    return int(murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions
