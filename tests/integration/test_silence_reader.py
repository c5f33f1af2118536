"""The worker's silence reader on a real broker: read to the end before deciding, and two
readers (two workers, or one before and after a crash) put every revision in force at the
same instant."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import Deployment

from gridflow.core.silences import SILENCE_LEAD_S, SilenceBook, expired
from gridflow.kafka_client import client_kwargs
from gridflow.runtime.silence_reader import SilenceReader
from gridflow.silences_topic import publish_silence
from gridflow.topics import SILENCES
from schemas import Silence

pytestmark = pytest.mark.integration


def silence(sid: str) -> Silence:
    now = datetime.now(UTC)
    return Silence.model_validate(
        {
            "silence_id": sid,
            "center_code": "500103001000",
            "kind": "outage",
            "matchers": {"categories": ["SJ0901"]},
            "starts_at": now,
            "ends_at": now + timedelta(days=1),
            "author": "李四",
            "comment": "供水管网抢修",
            "created_at": now,
        }
    )


async def scenario(dep: Deployment) -> None:
    settings = dep.settings
    first = silence("water-1")
    await publish_silence(settings, first)

    def reader(book: SilenceBook, name: str) -> SilenceReader:
        return SilenceReader(
            client_kwargs(settings), settings.topic(SILENCES), book, client_id=name, poll_s=0.1
        )

    book_a = SilenceBook()
    a = reader(book_a, "a")
    task_a = asyncio.create_task(a.run())
    try:
        # Before deciding anything a worker has read what was written before it started.
        await asyncio.wait_for(a.wait_complete(time.time()), 30)
        assert book_a.get("water-1") == first
        changed = expired(first, "李四", datetime.now(UTC))
        await publish_silence(settings, changed)
        written = time.time()
        await asyncio.wait_for(a.wait_complete(written), 30)
        assert book_a.get("water-1") == changed
        # A second reader (another worker, or this one after a crash) starts later.
        book_b = SilenceBook()
        b = reader(book_b, "b")
        task_b = asyncio.create_task(b.run())
        try:
            await asyncio.wait_for(b.wait_complete(time.time()), 30)
        finally:
            await b.stop()
            task_b.cancel()
        start = first.created_at.timestamp() - 5
        for step in range(int((written - start + 2 * SILENCE_LEAD_S) * 10)):
            at = start + step / 10
            assert book_a.in_force(at) == book_b.in_force(at), at
        assert book_a.in_force(written + SILENCE_LEAD_S)[0].change == "expired"
    finally:
        await a.stop()
        task_a.cancel()


def test_readers_agree_on_what_is_in_force_when(deployment: Deployment) -> None:
    asyncio.run(scenario(deployment))
