"""The worker's pipeline with no broker and no Faust: the pure core as a worker runs it.

``core_eps`` (the bench) and ``core_replay`` (the proof that an optimisation changes no
decision) must drive the same pipeline, or one would measure what the other did not check.
"""

from __future__ import annotations

from gridflow.config import Settings
from gridflow.core.ingest import IngestLimits
from gridflow.metrics import Metrics
from gridflow.reference import load_engine
from gridflow.runtime.pipeline import Pipeline
from gridflow.topics import TopicNames

__all__ = ["offline_pipeline"]


def offline_pipeline(partitions: int) -> tuple[Pipeline, dict[str, bytes]]:
    """A pipeline over the bundled rules at real SLA scale, and the dict that is its state
    table (the caller applies ``result.writes`` to it, as the worker's table would)."""
    settings = Settings(kafka_bootstrap="127.0.0.1:1", partitions=partitions, sla_scale=1.0)
    table: dict[str, bytes] = {}
    pipeline = Pipeline(
        engine=load_engine(settings),
        topics=TopicNames.prefixed(settings.topic_prefix),
        partitions=partitions,
        limits=IngestLimits(
            max_record_bytes=settings.max_record_bytes, max_batch=settings.max_batch_events
        ),
        metrics=Metrics(),
        read_state=table.get,
        scan_partition=lambda p: {},
        retire_survivors=True,
    )
    return pipeline, table
