"""The one registry of gridflow's topic names (without the deployment's prefix).

Every module and test names topics through these constants; ``GRIDFLOW_TOPIC_PREFIX``
is put in front by ``Settings.topic`` or :meth:`TopicNames.prefixed`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Grid events from every network (the contract's input).
EVENTS_IN = "grid.events.in"
#: Centres' feedback on cases (the contract's input).
FEEDBACK = "grid.feedback"
#: What gridflow decided, keyed by centre (the contract's output).
DISPOSITIONS = "grid.dispositions"
#: Refused input records with the reason (the contract's output).
DLQ = "grid.events.dlq"
#: Windowed KPIs per county (the contract's output).
METRICS = "grid.metrics"
#: Internal: records that arrived on a partition other than their region's, re-keyed, and
#: the SLA timer's ticks.
COMMANDS = "grid.cases.commands"

#: Internal, compacted: published rules bundles keyed by their version (``gridflow rules
#: publish``); one partition, so the order of publications is kept.
RULES = "grid.rules"
#: Internal, compacted: silences (屏蔽) keyed by their id (``gridflow silence``, the API);
#: one partition, read to its end by every worker (gridflow/runtime/silence_reader.py).
SILENCES = "grid.silences"

#: The contract's topics.
CONTRACT_TOPICS: tuple[str, ...] = (EVENTS_IN, FEEDBACK, DISPOSITIONS, DLQ, METRICS)
#: The topics a worker reads, in the order a batch processes them; it reads partitions
#: 0 .. GRIDFLOW_PARTITIONS-1 of each.
INPUT_TOPICS: tuple[str, ...] = (EVENTS_IN, FEEDBACK, COMMANDS)
#: Settings of the input topics gridflow creates: records carry the broker's append time,
#: so the SLA clock starts when a report reached Kafka (gridflow/core/record_clock.py).
INPUT_TOPIC_CONFIGS: dict[str, str] = {"message.timestamp.type": "LogAppendTime"}
#: Every topic gridflow creates (Faust's changelogs aside).
ALL_TOPICS: tuple[str, ...] = (*CONTRACT_TOPICS, COMMANDS, RULES, SILENCES)
#: Topics created with ``cleanup.policy=compact`` and one partition: the latest record of
#: each key is what counts.
COMPACTED_TOPICS: tuple[str, ...] = (RULES, SILENCES)


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Full topic names of one deployment (with its prefix)."""

    events_in: str
    feedback: str
    commands: str
    dispositions: str
    dlq: str
    metrics: str

    @classmethod
    def prefixed(cls, prefix: str = "") -> TopicNames:
        """The names with ``prefix`` (``GRIDFLOW_TOPIC_PREFIX``) in front."""
        return cls(
            events_in=prefix + EVENTS_IN,
            feedback=prefix + FEEDBACK,
            commands=prefix + COMMANDS,
            dispositions=prefix + DISPOSITIONS,
            dlq=prefix + DLQ,
            metrics=prefix + METRICS,
        )
