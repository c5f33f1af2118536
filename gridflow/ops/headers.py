"""Kafka record headers gridflow's on-call tools write (workers ignore headers)."""

from __future__ import annotations

#: On a replayed record: ``dlq-topic/partition/offset`` of the DLQ record it re-sends.
REPLAY_OF = "gridflow-replay-of"
#: On a replayed record: the reason it had been refused, for whoever reads it later.
REPLAY_REASON = "gridflow-replay-reason"
