"""Real processes and real topics for integration tests: workers, producers, collectors.

Nothing here sleeps to synchronise: every wait polls a condition against a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from gridflow.broker import free_port
from gridflow.config import Settings
from gridflow.kafka_client import ensure_topics
from gridflow.worker_process import http_get, kill_group, spawn_worker, terminate

ROOT = Path(__file__).resolve().parents[2]


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline.

    ``explain`` adds what the processes said (metrics, log tails) to the failure: a
    timeout seen once in CI is otherwise a bare line with nothing to read.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}"
            if explain is not None:
                message += "\n" + explain()
            raise AssertionError(message)
        time.sleep(interval)


@dataclass
class Deployment:
    """One isolated gridflow deployment on a shared broker: its own topic prefix and app id."""

    bootstrap: str
    tmp: Path
    partitions: int = 4
    sla_scale: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            topic_prefix=self.prefix,
            app_id=f"{self.prefix}gridflow",
            partitions=self.partitions,
            sla_scale=self.sla_scale,
        )

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "GRIDFLOW_KAFKA_BOOTSTRAP": self.bootstrap,
                "GRIDFLOW_TOPIC_PREFIX": self.prefix,
                "GRIDFLOW_APP_ID": f"{self.prefix}gridflow",
                "GRIDFLOW_PARTITIONS": str(self.partitions),
                "GRIDFLOW_SLA_SCALE": str(self.sla_scale),
                "GRIDFLOW_LOG_FORMAT": "text",
                "GRIDFLOW_TICK_INTERVAL": "0.5",
            }
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def create_topics(self) -> None:
        asyncio.run(ensure_topics(self.settings, extra=(self.topic_changelog(),)))

    def topic_changelog(self) -> str:
        return f"{self.prefix}gridflow-cases-changelog"


class WorkerProcess:
    """A ``gridflow worker`` in its own process, with its own web port and data dir."""

    def __init__(self, deployment: Deployment, name: str = "w1", **env: str) -> None:
        self.deployment = deployment
        self.name = name
        self.port = free_port()
        self.data_dir = deployment.tmp / f"data-{name}"
        self.log_path = deployment.tmp / f"worker-{name}.log"
        self.env = deployment.env(
            GRIDFLOW_WEB_PORT=str(self.port), GRIDFLOW_DATA_DIR=str(self.data_dir), **env
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.proc = spawn_worker(self.env, self.log_path)
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        return http_get(self.port, path)

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"worker {self.name} exited {self.proc.returncode}:\n{self.log_tail()}"
            )
        return self.get("/readyz")[0] == 200

    def wait_ready(self, timeout: float = 60) -> WorkerProcess:
        try:
            wait_until(self.ready, timeout, f"worker {self.name} to be ready", interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        return self

    def metric(self, name: str, **labels: str) -> float:
        _status, body = self.get("/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            metric = head.split("{")[0]
            if metric != name:
                continue
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total

    def explain(self, *metrics: str, lines: int = 40) -> str:
        """The named metrics' values and the log's tail: what a timed-out wait prints."""
        values = ", ".join(f"{m}={self.metric(m):g}" for m in metrics)
        return f"--- worker {self.name}: {values}\n{self.log_tail(lines)}"

    def log_tail(self, lines: int = 60) -> str:
        """The log's last ``lines`` lines, a warning repeated every few seconds kept twice.

        A stuck wait logs the same warning until the test gives up ("No event received for
        active tp … since recovery start", every 5 s for two partitions): kept whole, it
        pushes out what led to it (the rebalance, the highwater tables).
        """
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        kept: list[str] = []
        seen: dict[str, int] = {}
        left_out = 0
        for line in reversed(text):
            shape = re.sub(r"[0-9.:,]+", "#", line)
            seen[shape] = seen.get(shape, 0) + 1
            if seen[shape] > 2:
                left_out += 1
                continue
            kept.append(line)
            if len(kept) == lines:
                break
        tail = "\n".join(reversed(kept))
        return f"({left_out} repeated lines left out)\n{tail}" if left_out else tail

    def kill(self) -> None:
        """SIGKILL: no goodbye, no commit."""
        kill_group(self.proc)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait for a graceful exit."""
        assert self.proc is not None
        code = terminate(self.proc, timeout)
        assert code is not None
        return code

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.terminate(timeout=15)


async def create_topic(bootstrap: str, name: str, partitions: int) -> str:
    """Create ``name`` with ``partitions`` partitions (replication 1); return the name."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send (key, value) records and wait for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    n = 0
    try:
        futures = []
        for key, value in records:
            futures.append(await producer.send(topic, value=value, key=key))
            n += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n


def produce_sync(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Blocking form of :func:`produce`."""
    return asyncio.run(produce(bootstrap, topic, list(records)))


class Collector:
    """Reads a topic from the beginning in a background thread-free way: call ``poll``."""

    def __init__(
        self, bootstrap: str, topic: str, isolation_level: str = "read_uncommitted"
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.isolation_level = isolation_level
        self.records: list[dict[str, Any]] = []
        self.keys: list[bytes | None] = []
        self._loop = asyncio.new_event_loop()
        self._consumer: AIOKafkaConsumer | None = None

    def _start(self) -> None:
        async def start() -> AIOKafkaConsumer:
            consumer = AIOKafkaConsumer(
                self.topic,
                bootstrap_servers=self.bootstrap,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                group_id=None,
                fetch_max_wait_ms=50,
                isolation_level=self.isolation_level,
            )
            await consumer.start()
            return consumer

        self._consumer = self._loop.run_until_complete(start())

    def poll(self) -> list[dict[str, Any]]:
        """Fetch whatever arrived; return everything collected so far."""
        if self._consumer is None:
            self._start()
        assert self._consumer is not None
        batches = self._loop.run_until_complete(self._consumer.getmany(timeout_ms=100))
        for msgs in batches.values():
            for msg in msgs:
                self.records.append(orjson.loads(msg.value))
                self.keys.append(msg.key)
        return self.records

    def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float,
        what: str,
        explain: Callable[[], str] | None = None,
    ) -> list[dict[str, Any]]:
        """Poll until ``predicate(records)`` holds (``explain``: as :func:`wait_until`'s)."""
        wait_until(lambda: predicate(self.poll()), timeout, what, interval=0.0, explain=explain)
        return self.records

    def close(self) -> None:
        if self._consumer is not None:
            self._loop.run_until_complete(self._consumer.stop())
        self._loop.close()
