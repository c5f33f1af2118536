"""Probe a broker for fetches that skip offsets (docs/PITFALLS.md, "Fetches skip offsets").

Several producers (each its own connection, batched as the workers produce) write one
partition at once while two consumers follow it with short fetch waits: one trusts every
fetch, as a plain aiokafka reader does; the other runs :class:`FetchHoles`. Afterwards
the partition is read again from the beginning, to tell a record that was never written
from one a fetch skipped.

    python -m tools.chaos.fetch_holes_probe --bootstrap 127.0.0.1:9092
    python -m tools.chaos.fetch_holes_probe            # starts the embedded broker

Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from gridflow.broker import EmbeddedBroker
from gridflow.runtime.fetch_holes import FetchHoles


@dataclass
class Follower:
    """What one consumer read: offsets in order and the holes it met."""

    offsets: list[int] = field(default_factory=list)
    #: (first missing, first found after) for every fetch that skipped offsets
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def take(self, offsets: list[int]) -> None:
        for offset in offsets:
            if self.offsets and offset != self.offsets[-1] + 1:
                self.gaps.append((self.offsets[-1] + 1, offset))
            self.offsets.append(offset)


@dataclass
class ProbeResult:
    broker: str
    producers: int
    records: int
    #: the consumer that trusts each fetch
    plain_gaps: int
    plain_missed: int
    #: skipped offsets the plain consumer missed that a read from the start did find
    plain_missed_found_again: int
    #: the consumer with the guard
    guarded_gaps: int
    guarded_refetches: int
    guarded_filled: int
    guarded_given_up: int
    reread_gaps: int
    seconds: float
    examples: list[tuple[int, int]]


async def _produce(bootstrap: str, topic: str, seed: int, records: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    rnd = random.Random(seed)
    try:
        sent = 0
        while sent < records:
            batch = producer.create_batch()
            n = min(rnd.randint(1, 30), records - sent)
            for k in range(n):
                batch.append(key=None, value=b"%d-%d" % (seed, sent + k), timestamp=None)
            delivered = await producer.send_batch(batch, topic, partition=0)
            sent += n
            if rnd.random() < 0.5:  # sometimes wait for the ack, as the sender does
                await delivered
            await asyncio.sleep(rnd.random() * 0.003)
        await producer.flush()
    finally:
        await producer.stop()


async def _follow(
    bootstrap: str, tp: TopicPartition, total: int, holes: FetchHoles | None, deadline: float
) -> Follower:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    out = Follower()
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        if holes is not None:
            holes.expect(tp, 0)
        while len(out.offsets) < total and time.monotonic() < deadline:
            data = await consumer.getmany(tp, timeout_ms=20, max_records=500)
            if holes is not None:
                holes.cut(consumer, data)
            out.take([m.offset for m in data.get(tp, [])])
            if not data and out.offsets and out.offsets[-1] + 1 >= total:
                break
    finally:
        await consumer.stop()
    return out


async def _reread(bootstrap: str, tp: TopicPartition, total: int, deadline: float) -> list[int]:
    return (await _follow(bootstrap, tp, total, None, deadline)).offsets


async def probe(
    bootstrap: str, *, producers: int = 8, per_producer: int = 10_000, timeout_s: float = 240
) -> ProbeResult:
    """Run the probe once on a fresh one-partition topic (deleted afterwards)."""
    topic = f"gridflow-probe-holes-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
        tp = TopicPartition(topic, 0)
        total = producers * per_producer
        started = time.monotonic()
        deadline = started + timeout_s
        holes = FetchHoles(enabled=True, name="probe ")
        following = asyncio.gather(
            _follow(bootstrap, tp, total, None, deadline),
            _follow(bootstrap, tp, total, holes, deadline),
        )
        await asyncio.gather(
            *(_produce(bootstrap, topic, i, per_producer) for i in range(producers))
        )
        plain, guarded = await following
        seconds = time.monotonic() - started
        every = await _reread(bootstrap, tp, total, time.monotonic() + 60)
        with_every = set(every)
        missed = [o for start, end in plain.gaps for o in range(start, end)]
        return ProbeResult(
            broker=bootstrap,
            producers=producers,
            records=len(every),
            plain_gaps=len(plain.gaps),
            plain_missed=len(missed),
            plain_missed_found_again=sum(1 for o in missed if o in with_every),
            guarded_gaps=len(guarded.gaps),
            guarded_refetches=holes.refetches,
            guarded_filled=holes.filled,
            guarded_given_up=holes.given_up,
            reread_gaps=_gaps(every),
            seconds=round(seconds, 1),
            examples=plain.gaps[:5],
        )
    finally:
        # The embedded broker may refuse to delete; the topic is small.
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()


def _gaps(offsets: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(offsets) if b != a + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.chaos.fetch_holes_probe", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--bootstrap", help="host:port (default: start the embedded broker)")
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--records", type=int, default=10_000, help="per producer")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    broker = None if args.bootstrap else EmbeddedBroker().start()
    bootstrap = args.bootstrap or (broker.bootstrap if broker else "")
    try:
        for _ in range(args.runs):
            result = asyncio.run(
                probe(bootstrap, producers=args.producers, per_producer=args.records)
            )
            sys.stdout.write(orjson.dumps(asdict(result)).decode() + "\n")
            sys.stdout.flush()
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
