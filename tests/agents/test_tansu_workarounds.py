"""The embedded broker's workarounds apply to the embedded broker only.

Tansu answers ListOffsets wrong across produce batches (docs/PITFALLS.md); the worker then
checks end offsets with a fetch and relaxes Faust's recovery consistency check. On any
other cluster both stay as Faust has them. The worker recognises Tansu by its cluster id.
"""

from __future__ import annotations

import asyncio

import pytest
from broker_under_test import BrokerUnderTest

from agents import faust_patches
from agents.app import GridflowApp
from gridflow.broker import EMBEDDED_CLUSTER_ID, TANSU_CLUSTER_IDS
from gridflow.config import Settings
from gridflow.kafka_client import cluster_id


@pytest.mark.parametrize("tansu", [False, True])
def test_workarounds_follow_the_broker(tansu: bool) -> None:
    app = GridflowApp(Settings(kafka_bootstrap="127.0.0.1:1"), tansu=tansu)
    assert app.app.conf.recovery_consistency_check is (not tansu)
    assert bool(faust_patches._STATE["client"]) is tansu


@pytest.mark.integration
def test_each_broker_is_recognised_by_its_cluster_id(broker: BrokerUnderTest) -> None:
    if broker.kind == "external":
        pytest.skip("the tests run on a cluster given by GRIDFLOW_KAFKA_BOOTSTRAP")
    found = asyncio.run(cluster_id(Settings(kafka_bootstrap=broker.bootstrap)))
    if broker.is_apache_kafka:
        assert found not in TANSU_CLUSTER_IDS
    else:
        assert found == EMBEDDED_CLUSTER_ID and found in TANSU_CLUSTER_IDS
