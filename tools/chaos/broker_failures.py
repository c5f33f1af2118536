"""Broker failures for the chaos drill on a 3-node Apache Kafka cluster (``--kafka``).

During the stream a broker is SIGKILLed, left down a few seconds and restarted on its
data, at least ``min_kills`` times; the first victim is the partition leader of the input
topic's partition 0, so the workers' reader, the producers and the group coordinator all
see a leader move. One broker is down at a time: with replication factor 3 and
``min.insync.replicas`` 2, ``acks=all`` writes go on while it is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from gridflow.apache_kafka import KafkaCluster


@dataclass
class BrokerFailures:
    """Kills and restarts brokers of ``cluster`` until told to stop (and ``min_kills`` done)."""

    cluster: KafkaCluster
    input_topic: str
    rng: random.Random
    say: Callable[[str], None]
    min_kills: int = 3
    every: tuple[float, float] = (20.0, 40.0)
    down: tuple[float, float] = (3.0, 10.0)
    t0: float = field(default_factory=time.monotonic)
    kills: list[dict[str, Any]] = field(default_factory=list)

    async def leader_of(self, topic: str, partition: int) -> int | None:
        """The node leading ``topic[partition]`` now, or None when unknown."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.cluster.bootstrap)
        try:
            await admin.start()
            for described in await admin.describe_topics([topic]):
                for p in described["partitions"]:
                    if p["partition"] == partition and p["leader"] >= 0:
                        return int(p["leader"])
        except Exception as exc:  # evidence only: a random victim then
            self.say(f"could not find the leader of {topic}[{partition}]: {exc}")
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Kill, wait, restart; repeat until ``stop`` is set and enough kills were done."""
        while len(self.kills) < self.min_kills or not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.rng.uniform(*self.every))
                if len(self.kills) >= self.min_kills:
                    return
            leader = await self.leader_of(self.input_topic, 0) if not self.kills else None
            node_id = leader or self.rng.choice([n.node_id for n in self.cluster.members])
            started = time.monotonic()
            self.cluster.kill(node_id)
            self.say(
                f"broker kill #{len(self.kills) + 1}: SIGKILL node {node_id}"
                + (f" (leader of {self.input_topic}[0])" if leader else "")
            )
            await asyncio.sleep(self.rng.uniform(*self.down))
            # Started from the event loop's thread, which lives as long as the drill: the
            # node's parent-death signal is tied to the thread that forks it.
            self.cluster.node(node_id).start()
            await asyncio.to_thread(self.cluster.wait_ready, [self.cluster.node(node_id)], 180.0)
            self.kills.append(
                {
                    "n": len(self.kills) + 1,
                    "node": node_id,
                    "leader_of_input_partition_0": bool(leader),
                    "t": round(started - self.t0, 1),
                    "down_s": round(time.monotonic() - started, 1),
                }
            )
            self.say(f"broker node {node_id} back after {time.monotonic() - started:.1f} s")
