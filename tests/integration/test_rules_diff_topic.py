"""``gridflow rules diff --topic grid.events.in``: the same answer as from a recording file.

The simulator's recording is written to the deployment's grid.events.in in file order;
the diff read back from the topic (progress on stderr) equals the diff from the file, and
a time window with no records is one line and exit 2.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from gridflow.cli import main
from gridflow.config import Settings
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.kafka_client import ensure_topics
from gridflow.topics import EVENTS_IN

pytestmark = pytest.mark.integration


async def record_on_topic(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    # One partition, in file order: the topic then holds the recording as the file does.
    # One record per request: the embedded broker's end offsets are wrong after
    # multi-record batches (docs/PITFALLS.md), which would end the reading early.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for line in lines:
            await producer.send_and_wait(topic, value=line, partition=0)
    finally:
        await producer.stop()


def diff(capsys: pytest.CaptureFixture[str], new: Path, *source: str) -> tuple[int, Any, str]:
    code = main(["rules", "diff", str(BUNDLED_RULES), str(new), *source, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_the_topic_gives_the_same_diff_as_the_recording(
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = f"diff{uuid.uuid4().hex[:6]}."
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("GRIDFLOW_TOPIC_PREFIX", prefix)
    recording = tmp_path / "events.jsonl"
    assert main(["simulate", "--count", "400", "--seed", "11", "--out", str(recording)]) == 0
    capsys.readouterr()
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    asyncio.run(ensure_topics(settings))
    lines = [line for line in recording.read_bytes().split(b"\n") if line.strip()]
    started = datetime.now(UTC)
    asyncio.run(record_on_topic(kafka_bootstrap, settings.topic(EVENTS_IN), lines))

    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    catalogue = rules / "catalogue.yaml"
    text = catalogue.read_text(encoding="utf-8")
    old, new = (
        "BJ0204: {name: 公交站亭, department: 交通局",
        "BJ0204: {name: 公交站亭, department: 公交集团",
    )
    assert old in text
    catalogue.write_text(text.replace(old, new, 1), encoding="utf-8")

    from_file = diff(capsys, rules, "--events", str(recording))
    window = ["--from", (started - timedelta(minutes=1)).isoformat()]
    from_topic = diff(capsys, rules, "--topic", EVENTS_IN, *window)
    assert from_file[0] == from_topic[0] == 1
    assert f"{len(lines):,}/{len(lines):,} records" in from_topic[2]
    file_doc, topic_doc = from_file[1], from_topic[1]
    assert topic_doc["events_file"] == f"topic {EVENTS_IN}"
    for doc in (file_doc, topic_doc):
        del doc["events_file"]
    assert topic_doc == file_doc
    assert [g["field"] for g in topic_doc["groups"]] == ["department"]

    code, doc, err = diff(capsys, rules, "--topic", EVENTS_IN, "--to", "2020-01-01T00:00:00+08:00")
    assert (code, doc) == (2, None)
    assert err.strip().endswith("no records in the time asked for")
