"""What a record on any gridflow topic says, for filters and for people.

Every topic carries JSON (the contract), but an on-call reader must also show what is
not: a refused record's bytes are exactly what it is looking for. So decoding never
fails; a value that is not a JSON object is shown as text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gridflow import topics
from gridflow.core.ids import region_of_case
from gridflow.core.regions import RegionGraph
from gridflow.ops import headers, vocabulary
from gridflow.ops.topic_reader import TopicRecord
from schemas import Disposition


def parse_object(raw: bytes | str | None) -> dict[str, Any] | None:
    """The JSON object ``raw`` holds, or ``None``."""
    if raw is None:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def rejection_original(doc: dict[str, Any]) -> bytes:
    """The refused record's bytes, from a Rejection's ``original``."""
    text = str(doc.get("original", ""))
    if doc.get("original_base64"):
        return base64.b64decode(text)
    return text.encode("utf-8")


@dataclass(frozen=True)
class Facts:
    """What filters ask of a record; empty strings where a topic has no such thing."""

    region: str = ""
    centre: str = ""
    case: str = ""
    action: str = ""
    reason: str = ""
    network: str = ""


@dataclass(frozen=True)
class RecordView:
    """One record, decoded: its contract topic, its JSON (if any) and its facts."""

    record: TopicRecord
    topic: str
    doc: dict[str, Any] | None
    #: for a DLQ record: the refused record's JSON, when it was a JSON object.
    original: dict[str, Any] | None = None
    facts: Facts = field(default_factory=Facts)

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.record.timestamp_ms / 1000, UTC)

    def to_json(self) -> dict[str, Any]:
        """The machine form: coordinates, key, headers, and the value as JSON or text."""
        rec = self.record
        value: Any = self.doc
        if value is None and rec.value is not None:
            value = rec.value.decode("utf-8", errors="replace")
        return {
            "topic": rec.topic,
            "partition": rec.partition,
            "offset": rec.offset,
            "timestamp": self.at.isoformat(),
            "key": rec.key.decode("utf-8", errors="replace") if rec.key is not None else None,
            "headers": {k: v.decode("utf-8", errors="replace") for k, v in rec.headers},
            "value": value,
        }


def view(record: TopicRecord, topic: str) -> RecordView:
    """Decode ``record`` of contract topic ``topic``."""
    doc = parse_object(record.value)
    if doc is None:
        return RecordView(record, topic, None)
    original = parse_object(rejection_original(doc)) if topic == topics.DLQ else None
    subject = original if original is not None else doc
    case = str(subject.get("case_id") or "")
    region = str(subject.get("region_code") or "") or (region_of_case(case) or "")
    return RecordView(
        record,
        topic,
        doc,
        original,
        Facts(
            region=region,
            centre=str(subject.get("center_code") or ""),
            case=case,
            action=str(subject.get("action") or ""),
            reason=str(doc.get("reason") or "") if topic == topics.DLQ else "",
            network=str(subject.get("source_network") or ""),
        ),
    )


@dataclass(frozen=True)
class Filter:
    """The ``--region/--centre/--case/--action/--reason/--network`` of a command."""

    region: str | None = None
    centre: str | None = None
    case: str | None = None
    action: str | None = None
    reason: str | None = None
    network: str | None = None
    #: the division tree, to match a region's whole subtree (``--region`` of a town).
    regions: RegionGraph | None = None

    def matches(self, v: RecordView) -> bool:
        f = v.facts
        checks = (
            (self.centre, f.centre),
            (self.case, f.case),
            (self.action, f.action),
            (self.reason, f.reason),
            (self.network, f.network),
        )
        if any(wanted is not None and wanted != got for wanted, got in checks):
            return False
        return self.region is None or self._in_region(f.region or f.centre)

    def _in_region(self, code: str) -> bool:
        if code == self.region:
            return True
        if self.regions is None or code not in self.regions:
            return False
        return self.region in self.regions.chain(code)


def _clip(text: object, width: int = 40) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= width else s[: width - 1] + "…"


def local_time(value: object) -> str:
    """An RFC 3339 timestamp as ``MM-DD HH:MM:SS`` on this machine's clock (TZ applies)."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return when.astimezone().strftime("%m-%d %H:%M:%S")


def describe(v: RecordView) -> str:
    """One line for a person: the step in Chinese, then the codes to search for."""
    rec = v.record
    head = (
        f"{v.at.astimezone().strftime('%m-%d %H:%M:%S')}  {v.topic}[{rec.partition}]@{rec.offset}"
    )
    doc = v.doc
    if doc is None:
        raw = (rec.value or b"").decode("utf-8", errors="replace")
        try:
            items = orjson.loads(rec.value or b"")
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list):  # a batch record (contract extension)
            return f"{head}  批量记录：{len(items)} 条  {_clip(raw, 60)}"
        return f"{head}  （非 JSON 对象）{_clip(raw, 80)}"
    if (replay_of := rec.header(headers.REPLAY_OF)) is not None:
        head += f"  [重放自 {replay_of.decode(errors='replace')}]"
    if v.topic == topics.DISPOSITIONS:
        try:
            disp = Disposition.model_validate(doc)
        except ValueError:
            return f"{head}  {_clip(orjson.dumps(doc).decode(), 100)}"
        parts = [
            vocabulary.disposition_step(disp),
            f"案件 {disp.case_id}",
            f"→ {vocabulary.tier_word(disp.tier)} {disp.center_code}",
        ]
        if disp.state:
            parts.append(f"状态 {vocabulary.word(vocabulary.STATE, disp.state)}")
        if disp.deadline:
            parts.append(f"时限 {local_time(disp.deadline.isoformat())}")
        if disp.title:
            parts.append(_clip(disp.title, 30))
        return f"{head}  {'  '.join(parts)}"
    if v.topic == topics.DLQ:
        reason = str(doc.get("reason", ""))
        source = f"{doc.get('source_topic')}[{doc.get('partition')}]@{doc.get('offset')}"
        return (
            f"{head}  拒收：{vocabulary.word(vocabulary.REASON, reason)} ({reason})  "
            f"来源 {source}  {_clip(doc.get('detail', ''), 60)}"
        )
    if v.topic == topics.FEEDBACK:
        action = str(doc.get("action", ""))
        return (
            f"{head}  反馈：{vocabulary.word(vocabulary.FEEDBACK, action)} ({action})  "
            f"案件 {doc.get('case_id')}  中心 {doc.get('center_code')}  "
            f"{_clip(doc.get('note') or '', 30)}".rstrip()
        )
    if v.topic == topics.EVENTS_IN:
        return (
            f"{head}  上报：{doc.get('event_id')}  网络 {doc.get('source_network')}  "
            f"区划 {doc.get('region_code')}  {_clip(doc.get('title') or doc.get('description') or '', 30)}"
        )
    return f"{head}  {_clip(orjson.dumps(doc).decode(), 100)}"
