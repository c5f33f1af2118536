"""Concurrent producers into one partition, followed closely: no record is skipped.

On the embedded broker a plain follower can be handed records past a batch that is not
visible yet (docs/PITFALLS.md, "Fetches skip offsets"); the guarded one
(:class:`gridflow.runtime.fetch_holes.FetchHoles`) reads every offset in order. On Apache
Kafka neither follower sees a hole. How often the plain one does is measured by
``python -m tools.chaos.fetch_holes_probe`` (too rare for a short test to assert it).
"""

from __future__ import annotations

import pytest
from broker_under_test import BrokerUnderTest

from tools.chaos.fetch_holes_probe import probe

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
async def test_the_guarded_follower_reads_every_offset_in_order(broker: BrokerUnderTest) -> None:
    result = await probe(broker.bootstrap, producers=4, per_producer=2500, timeout_s=90)

    assert result.records == 10_000
    assert result.reread_gaps == 0
    assert result.guarded_gaps == 0
    assert result.guarded_given_up == 0
    # whatever the plain follower skipped was written: a fetch skipped it
    assert result.plain_missed_found_again == result.plain_missed
    if broker.is_apache_kafka:
        assert result.plain_gaps == 0
        assert result.guarded_refetches == 0
