"""Which instant a consumed record counts from: the SLA clock's start, never a guess.

A case's stages are timed from the record that opened it. Input topics are created with
``message.timestamp.type=LogAppendTime``, so on a Kafka cluster the record's timestamp is
the broker's append time, not whatever the producer stamped. This module decides what to
do with a timestamp the worker cannot take as it is; the decision is to **clamp**, never
to refuse (refusing would lose a valid report over a clock that is not its author's):

* a timestamp more than ``max_skew_s`` ahead of the worker's clock (a broker or producer
  clock running ahead) is clamped to the worker's clock;
* a producer's timestamp (CreateTime: a topic created elsewhere, or a broker that ignores
  the setting, such as the embedded one) more than ``max_skew_s`` behind is clamped to the
  worker's clock too: a back-dated record would otherwise escalate on the first tick;
* a broker's append time in the past is kept however old: it is when the report reached
  the system, and the time it waited in a backlog is real waiting.

The worker's clock is the batch's clock, journaled with the batch, so a replay clamps
exactly as the first run did.
"""

from __future__ import annotations

__all__ = ["LOG_APPEND_TIME", "trusted_record_time"]

#: ``timestamp_type`` of a Kafka record stamped by the broker (0 is CreateTime).
LOG_APPEND_TIME = 1


def trusted_record_time(
    record_s: float, timestamp_type: int, now_s: float, max_skew_s: float
) -> float:
    """The record's timestamp (epoch seconds) as the SLA clock may use it (module doc)."""
    if record_s > now_s + max_skew_s:
        return now_s
    if timestamp_type != LOG_APPEND_TIME and record_s < now_s - max_skew_s:
        return now_s
    return record_s
