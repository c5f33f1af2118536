"""The DLQ for on-call: tallies of what was refused, and replay of what can now be applied.

Replay re-sends a refused record's original key and bytes to the topic it came from, with
a ``gridflow-replay-of`` header naming the DLQ record. Before sending, the target topic is
scanned (from the refusal's time on) for that header, so a record is replayed at most once
however often the command is run — a second replay of a GridEvent would be a no-op, but
of feedback it could apply an action twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gridflow import topics
from gridflow.config import Settings
from gridflow.ops import headers, topic_names
from gridflow.ops.record_view import RecordView, rejection_original
from gridflow.ops.topic_reader import Progress, TopicReader

#: How far before a refusal the guard starts looking for its replay: the replaying host's
#: clock may run behind the worker's that stamped the DLQ record.
CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Refusal:
    """One DLQ record: where it sits, why, and what to send back where."""

    view: RecordView

    @property
    def doc(self) -> dict[str, Any]:
        return self.view.doc or {}

    @property
    def where(self) -> str:
        return self.view.record.where

    @property
    def reason(self) -> str:
        return str(self.doc.get("reason", ""))

    @property
    def source_topic(self) -> str:
        return str(self.doc.get("source_topic", ""))

    @property
    def original(self) -> bytes:
        return rejection_original(self.doc)

    @property
    def key(self) -> bytes | None:
        return self.view.record.key

    def target(self, settings: Settings) -> str | None:
        """The topic to replay to; ``None`` when the source is not an input topic.

        A record the worker forwarded through its internal commands topic is refused with
        that topic as its source; it goes back to the input topic of its kind.
        """
        source = topic_names.bare_name(settings, self.source_topic)
        if source in topic_names.CONTRACT_INPUTS:
            return settings.topic(source)
        if source == topics.COMMANDS:
            kind = (
                topics.FEEDBACK if "feedback_id" in (self.view.original or {}) else topics.EVENTS_IN
            )
            return settings.topic(kind)
        return None


def refusal(v: RecordView) -> Refusal | None:
    """The DLQ record ``v`` holds, or ``None`` when its value is not a Rejection."""
    return Refusal(v) if v.doc is not None and "reason" in v.doc else None


class Tally:
    """Counts by reason, source network, source topic and hour (UTC) of refusal.

    Counted as the records stream past, so ``gridflow dlq list`` over a DLQ of millions
    holds a few counters, not the records.
    """

    def __init__(self) -> None:
        self.total = 0
        self.by: dict[str, Counter[str]] = {
            "reason": Counter(),
            "network": Counter(),
            "source_topic": Counter(),
            "hour": Counter(),
        }

    def add(self, item: Refusal) -> None:
        self.total += 1
        self.by["reason"][item.reason] += 1
        self.by["network"][item.view.facts.network or "-"] += 1
        self.by["source_topic"][item.source_topic] += 1
        self.by["hour"][_hour(item)] += 1


def _hour(item: Refusal) -> str:
    try:
        at = datetime.fromisoformat(str(item.doc.get("at")))
    except ValueError:
        at = item.view.at
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")


async def replayed_already(
    settings: Settings, targets: set[str], since: datetime, progress: Progress | None = None
) -> dict[str, str]:
    """``{DLQ record: where its replay sits}`` for every replay found on ``targets``."""
    found: dict[str, str] = {}
    if not targets:
        return found
    async with TopicReader(settings, sorted(targets)) as reader:
        await reader.seek(since - CLOCK_MARGIN)
        async for record in reader.to_end(progress):
            marker = record.header(headers.REPLAY_OF)
            if marker is not None:
                found[marker.decode("utf-8", errors="replace")] = record.where
    return found


def replay_headers(item: Refusal) -> list[tuple[str, bytes]]:
    """The headers a replayed record carries."""
    return [
        (headers.REPLAY_OF, item.where.encode()),
        (headers.REPLAY_REASON, item.reason.encode()),
    ]
