"""Versioned rules bundles on the broker: publish, list, and roll back by republishing.

``gridflow rules publish`` checks strictly before anything is written; the topic keeps
each version's latest publication, so a republished old version is the one in force.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from gridflow.cli import main
from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.rules_version import decision_files, rules_version

pytestmark = pytest.mark.integration


@pytest.fixture
def deployment(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDFLOW_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("GRIDFLOW_TOPIC_PREFIX", f"bundles{uuid.uuid4().hex[:6]}.")


def rules_copy(tmp_path: Path, name: str, edit: tuple[str, str, str] | None = None) -> Path:
    rules = tmp_path / name
    shutil.copytree(BUNDLED_RULES, rules)
    if edit is not None:
        file, old, new = edit
        path = rules / file
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["rules", "list", "--json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows


@pytest.mark.usefixtures("deployment")
def test_publish_list_and_roll_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    november = rules_copy(tmp_path, "nov")
    december = rules_copy(
        tmp_path,
        "dec",
        (
            "catalogue.yaml",
            "BJ0204: {name: 公交站亭, department: 交通局",
            "BJ0204: {name: 公交站亭, department: 公交集团",
        ),
    )
    v1 = rules_version(decision_files(november))
    v2 = rules_version(decision_files(december))
    assert v1 != v2
    assert listed(capsys) == []

    assert (
        main(
            [
                "rules",
                "publish",
                str(november),
                "--label",
                "2026-11",
                "--note",
                "初版",
                "--author",
                "王工",
                "--effective-from",
                "2026-11-01T00:00:00+08:00",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"published {v1} (2026-11)" in out
    # Published after its effective_from: workers switch at the publication instead.
    assert "note: effective_from is before the publication; workers switch at" in out
    assert (
        main(
            [
                "rules",
                "publish",
                str(december),
                "--label",
                "2026-12",
                "--note",
                "公交站亭 移交公交集团",
                "--effective-from",
                "2026-12-01T00:00:00+08:00",
            ]
        )
        == 0
    )
    capsys.readouterr()

    rows = listed(capsys)
    assert [(r["version"], r["label"], r["in_force"]) for r in rows] == [
        (v1, "2026-11", False),
        (v2, "2026-12", True),
    ]
    assert rows[0]["note"] == "初版" and rows[0]["author"] == "王工"
    assert rows[1]["effective_from"] == "2026-12-01T00:00:00+08:00"

    # Rollback: the November version again, from a later instant.
    assert (
        main(
            [
                "rules",
                "publish",
                "--version",
                v1,
                "--note",
                "回退",
                "--effective-from",
                "2026-12-02T00:00:00+08:00",
            ]
        )
        == 0
    )
    capsys.readouterr()
    rows = listed(capsys)
    assert [(r["version"], r["in_force"]) for r in rows] == [(v2, False), (v1, True)]
    assert rows[1]["effective_from"] == "2026-12-02T00:00:00+08:00"
    assert rows[1]["label"] == "2026-11" and rows[1]["note"] == "回退"

    assert main(["rules", "list"]) == 0
    text = capsys.readouterr().out
    assert "2026-12" in text and v1 in text and "回退" in text


@pytest.mark.usefixtures("deployment")
def test_invalid_rules_are_refused_before_anything_is_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = rules_copy(tmp_path, "broken", ("routes.yaml", "policy:", "polcy:"))
    assert main(["rules", "publish", str(broken), "--label", "bad", "--note", "x"]) == 2
    err = capsys.readouterr().err
    assert "routes.yaml:" in err and "policy" in err and err.count("\n") == 1
    assert main(["rules", "publish", "--version", "0123456789ab"]) == 2
    assert "no such published version" in capsys.readouterr().err
    assert listed(capsys) == []


async def test_the_rules_topic_is_compacted_with_one_partition(kafka_bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from gridflow.config import Settings
    from gridflow.kafka_client import ensure_topics
    from gridflow.topics import RULES

    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"c{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([settings.topic(RULES)])
        assert len(described["partitions"]) == 1
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.topic(RULES))]
        )
        configs = {
            entry[0]: entry[1]
            for response in responses
            for resource in response.resources
            for entry in resource[4]
        }
        assert configs.get("cleanup.policy") == "compact"
    finally:
        await admin.close()
