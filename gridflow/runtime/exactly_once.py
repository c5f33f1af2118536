"""Exactly-once for the input reader on Apache Kafka: one transaction per partition's batch.

With ``GRIDFLOW_PROCESSING_GUARANTEE=exactly_once`` a batch's outputs (dispositions, DLQ
records, re-keyed commands, KPI records), its state rows and its read positions (rows of
the case table's changelog) are written in one Kafka transaction: a crash before the
commit aborts all of it, so ``read_committed`` consumers never see an output twice, and
the new owner starts from the last committed position with the state that goes with it.

One transactional producer per owned input partition, with the id
``<app id>-inputs-<partition>``: a worker that takes a partition over initialises the
same id, which fences the previous owner (a zombie's next write fails) and aborts the
transaction it left open at once, instead of after ``transaction.timeout.ms`` during
which ``read_committed`` readers of the changelog would wait behind it.

Only Apache Kafka has working transactions; the embedded broker refuses (PITFALLS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from typing import Any

from aiokafka import AIOKafkaProducer

from gridflow.runtime.checkpoint import Batch, Checkpoint, merge_rows

log = logging.getLogger("gridflow.reader")

#: The transactional producer of the batch being processed (None: at-least-once, use
#: the worker's shared producer).
current_producer: ContextVar[AIOKafkaProducer | None] = ContextVar(
    "gridflow_transactional_producer", default=None
)


class UnsupportedGuarantee(ValueError):
    """exactly_once was asked for on a broker without usable transactions."""


def transactional_id(app_id: str, partition: int) -> str:
    """The transactional id of the producer that writes ``partition``'s batches."""
    return f"{app_id}-inputs-{partition}"


class PartitionTransactions:
    """Transactional producers of the owned input partitions."""

    def __init__(self, client: Mapping[str, Any], app_id: str, linger_ms: int = 0) -> None:
        self._client = dict(client)
        self._app_id = app_id
        self._linger_ms = linger_ms
        self._producers: dict[int, AIOKafkaProducer] = {}
        self._lock = asyncio.Lock()
        self.commits = 0

    async def own(self, partitions: frozenset[int]) -> None:
        """Keep producers for exactly these partitions (starting one fences the last owner)."""
        async with self._lock:
            await self._own(partitions)

    async def _own(self, partitions: frozenset[int]) -> None:
        for partition in sorted(set(self._producers) - partitions):
            # A producer the partition's new owner fenced may fail to stop cleanly.
            with contextlib.suppress(Exception):
                await self._producers.pop(partition).stop()
        for partition in sorted(partitions - set(self._producers)):
            producer = AIOKafkaProducer(
                **self._client,
                transactional_id=transactional_id(self._app_id, partition),
                linger_ms=self._linger_ms,
                max_batch_size=256 * 1024,
                client_id=f"{self._app_id}-txn-{partition}",
            )
            await producer.start()
            self._producers[partition] = producer

    async def close(self) -> None:
        """Stop every producer."""
        await self.own(frozenset())

    @contextlib.asynccontextmanager
    async def transaction(self, partition: int) -> AsyncIterator[None]:
        """Everything sent inside (through :data:`current_producer`) commits or aborts at once."""
        producer = self._producers[partition]
        token = current_producer.set(producer)
        try:
            async with producer.transaction():
                yield
            self.commits += 1
        finally:
            current_producer.reset(token)


class TransactionalCheckpoint(Checkpoint):
    """The checkpoint protocol under exactly-once: no journal, one transaction per partition.

    Each partition's records of a fetch are processed, and their outputs, state rows and
    positions written, inside that partition's transaction. A crash before the commit
    aborts all of it: nothing a replay could contradict is visible, so nothing is
    journaled and the new owner simply reads on from the last committed positions.
    """

    def __init__(self, transactions: PartitionTransactions, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transactions = transactions

    async def replay(self, batch: Batch) -> None:
        """A batch journaled under at-least-once (before a switch): replayed atomically."""
        (partition,) = batch.journals
        async with self.transactions.transaction(partition):
            await super().replay(batch)

    async def run(self, batch: Batch) -> None:
        """Each partition's share of ``batch`` in its own transaction."""
        for partition, journal in sorted(batch.journals.items()):
            share = Batch(
                records=[r for r in batch.records if r.partition == partition],
                now=batch.now,
                journals={partition: journal},
            )
            positions = share.position_rows()
            try:
                async with self.transactions.transaction(partition):
                    state = await self._handle(share.records, share.now)
                    await self._store(merge_rows(state, positions))
            except Exception:
                log.critical("a batch's transaction failed; exiting", exc_info=True)
                self._on_fatal()
                raise
            self._on_stored(positions)
