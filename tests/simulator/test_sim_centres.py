"""Simulated centres on a real broker: dispositions in, contract feedback out, keyed by region."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gridflow.config import Settings
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.simulator.casework import CentreStats
from gridflow.simulator.centres import run_centres
from gridflow.topics import DISPOSITIONS, FEEDBACK
from schemas import Feedback

pytestmark = pytest.mark.integration

VILLAGES = ("500103001003", "500105002001", "500106001001", "500112002001")
CASES = 20


def dispatch(i: int) -> tuple[str, dict[str, object]]:
    village = VILLAGES[i % len(VILLAGES)]
    case = f"{village}-{i:06x}"
    at = datetime.now().astimezone()
    return case, {
        "disposition_id": f"{case}/0/dispatch",
        "case_id": case,
        "action": "dispatch",
        "tier": "village",
        "center_code": village,
        "at": at.isoformat(),
        "deadline": (at + timedelta(hours=2)).isoformat(),
        "stage": "accept",
        "region_code": village,
        "category": "SJ0102",
        "events": [f"CG-{i}"],
        "networks": ["chengguan"],
    }


async def test_centres_answer_each_dispatched_case_through_the_closed_loop(
    kafka_bootstrap: str,
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"t-{uuid.uuid4().hex[:12]}.")
    await ensure_topics(settings)
    producer = AIOKafkaProducer(**client_kwargs(settings))
    await producer.start()
    cases = {}
    try:
        for i in range(CASES):
            case, doc = dispatch(i)
            cases[case] = doc
            await producer.send_and_wait(
                settings.topic(DISPOSITIONS),
                orjson.dumps(doc),
                key=str(doc["center_code"]).encode(),
            )
            if i == 0:  # a redelivered disposition changes nothing
                await producer.send_and_wait(
                    settings.topic(DISPOSITIONS),
                    orjson.dumps(doc),
                    key=str(doc["center_code"]).encode(),
                )
    finally:
        await producer.stop()

    stop = asyncio.Event()
    stats = CentreStats()
    centres = asyncio.create_task(
        run_centres(
            settings, seed=1, accept_p=1.0, resolve_p=1.0, ignore_p=0.0, return_p=0.0,
            delay_s=(0.0, 0.05), stop=stop, extend_p=0.0, rework_p=0.0, revisit_p=0.0, stats=stats,
        )
    )  # fmt: skip
    consumer = AIOKafkaConsumer(
        settings.topic(FEEDBACK),
        **client_kwargs(settings),
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    by_case: dict[str, list[tuple[bytes | None, Feedback]]] = defaultdict(list)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    try:
        while sum(map(len, by_case.values())) < 4 * CASES and loop.time() < deadline:
            assert not centres.done(), centres
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    fb = Feedback.model_validate_json(record.value)
                    by_case[fb.case_id].append((record.key, fb))
    finally:
        await consumer.stop()
        stop.set()
        await asyncio.wait_for(centres, 30)

    assert set(by_case) == set(cases)
    for case, sent in by_case.items():
        # One key per case means one partition: the loop arrives in order.
        assert [fb.action.value for _, fb in sent] == ["accept", "resolve", "verify", "close"]
        assert {key for key, _ in sent} == {str(cases[case]["region_code"]).encode()}
        # 监管分离: the holder accepts and resolves, the town above it verifies and closes.
        holder = str(cases[case]["center_code"])
        town = holder[:9] + "000"
        assert [fb.center_code for _, fb in sent] == [holder, holder, town, town]
    assert stats.sent == 4 * CASES and stats.failed == 0
    assert stats.duplicates == 1
    assert stats.fates == {"resolve": CASES}
