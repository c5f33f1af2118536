"""Real dispositions from the real engine, as records of the output topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gridflow import topics
from gridflow.api.projection import OutputTopics, Record
from gridflow.config import Settings
from gridflow.core.engine import Engine
from gridflow.core.region_state import RegionState
from gridflow.reference import load_engine
from schemas import Disposition, Feedback, GridEvent

TOPICS = OutputTopics(
    dispositions=topics.DISPOSITIONS,
    dlq=topics.DLQ,
    metrics=topics.METRICS,
    feedback=topics.FEEDBACK,
)
_ENGINE: list[Engine] = []


def engine() -> Engine:
    if not _ENGINE:
        _ENGINE.append(load_engine(Settings()))
    return _ENGINE[0]


def event(event_id: str, region: str, network: str = "chengguan", **extra: Any) -> GridEvent:
    doc = {
        "event_id": event_id,
        "source_network": network,
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": region,
        "location": {"lat": 29.55, "lon": 106.57},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
        **extra,
    }
    return GridEvent.model_validate(doc)


class History:
    """Drives one region's cases through the engine and records what it publishes."""

    def __init__(self, region: str) -> None:
        self.state = RegionState(region=region)
        self.records: list[Record] = []
        self.offsets: dict[tuple[str, int], int] = {}
        self.now = datetime.now(UTC).timestamp()

    def _put(self, topic: str, value: bytes, partition: int = 0) -> None:
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        self.records.append(Record(topic, partition, offset, value))

    def _publish(self, dispositions: list[Disposition]) -> list[Disposition]:
        for i, d in enumerate(dispositions):
            # Keyed by target centre in production: spread over two partitions here.
            self._put(TOPICS.dispositions, d.model_dump_json(exclude_none=True).encode(), i % 2)
        return dispositions

    def report(self, ev: GridEvent) -> list[Disposition]:
        self.now += 1
        out = engine().apply_event(self.state, ev, self.now)
        return self._publish(out.dispositions)

    def act(self, case_id: str, centre: str, action: str, fid: str, **extra: Any) -> Any:
        self.now += 1
        fb = Feedback(
            feedback_id=fid,
            case_id=case_id,
            center_code=centre,
            action=action,  # type: ignore[arg-type]
            at=datetime.fromtimestamp(self.now, UTC),
            **extra,
        )
        out = engine().apply_feedback(self.state, fb, self.now)
        if out.reject is not None:
            reason, detail = out.reject
            rejection = {
                "reason": reason.value,
                "detail": detail,
                "source_topic": TOPICS.feedback,
                "partition": 0,
                "offset": 0,
                "original": fb.model_dump_json(exclude_none=True),
                "at": datetime.fromtimestamp(self.now, UTC).isoformat(),
            }
            self._put(TOPICS.dlq, orjson.dumps(rejection))
            return out.reject
        return self._publish(out.dispositions)

    def metrics(self, county: str, start: datetime, **counts: Any) -> None:
        doc = {
            "region_code": county,
            "window": "1m",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(minutes=1)).isoformat(),
            **counts,
        }
        self._put(TOPICS.metrics, orjson.dumps(doc))
