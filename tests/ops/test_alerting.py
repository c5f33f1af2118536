"""Specification of where alerts lead: each to a runbook section that names the gridflow
command to run, and through Alertmanager's route tree to a receiver the stack starts.

``amtool`` comes from deploy/install-tools.sh (Debian's prometheus-alertmanager); the
tests that need it skip, saying so, when it is absent. The structural checks always run.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from gridflow.ops.alert_inbox import make_app, parse_notification

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
COMPOSE = ROOT / "docker-compose.yml"
OPERATIONS = ROOT / "docs" / "operations.md"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    return [r for g in load(ALERTS)["groups"] for r in g["rules"] if "alert" in r]


def need_amtool() -> str:
    import shutil

    found = shutil.which("amtool")
    if found is None:
        pytest.skip("amtool is not installed (run deploy/install-tools.sh)")
    return found


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def runbook_sections() -> dict[str, str]:
    """``{anchor: section text}`` for every heading of docs/operations.md."""
    text = OPERATIONS.read_text(encoding="utf-8")
    parts = re.split(r"^#{2,4} (.+)$", text, flags=re.MULTILINE)
    return {github_anchor(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


# -- alert rules ---------------------------------------------------------------------------------


def test_every_alert_has_a_severity_and_a_runbook_url() -> None:
    for rule in alert_rules():
        assert rule["labels"].get("severity") in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"].get("runbook_url"), rule["alert"]


def test_each_runbook_url_is_a_section_of_operations_md_naming_a_gridflow_command() -> None:
    sections = runbook_sections()
    for rule in alert_rules():
        url = urlsplit(rule["annotations"]["runbook_url"])
        assert url.path.endswith("docs/operations.md"), rule["alert"]
        assert url.fragment in sections, f"{rule['alert']}: no heading for #{url.fragment}"
        body = sections[url.fragment]
        assert rule["alert"].lower() == url.fragment, "one section per alert, named after it"
        assert re.search(r"`gridflow (tail|dlq|case|send)\b", body), (
            f"{rule['alert']}: the runbook section names no gridflow command to run"
        )


# -- Alertmanager --------------------------------------------------------------------------------


def test_alertmanager_config_is_valid() -> None:
    result = subprocess.run(
        [need_amtool(), "check-config", str(ALERTMANAGER)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=GridflowWorkerDown"], "alert-inbox-critical"),
        (["severity=warning", "alertname=GridflowConsumerLagHigh"], "alert-inbox-batched"),
        (["alertname=Unlabelled"], "alert-inbox-batched"),
    ],
)
def test_the_route_tree_sends_each_severity_to_its_receiver(
    labels: list[str], receiver: str
) -> None:
    result = subprocess.run(
        [need_amtool(), "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == [receiver], result.stdout + result.stderr


def test_critical_alerts_reach_the_webhook_receiver_the_compose_file_starts() -> None:
    config = load(ALERTMANAGER)
    (critical,) = [r for r in config["route"]["routes"] if r["matchers"] == ['severity="critical"']]
    (receiver,) = [r for r in config["receivers"] if r["name"] == critical["receiver"]]
    (hook,) = receiver["webhook_configs"]
    url = urlsplit(hook["url"])
    services = load(COMPOSE)["services"]
    inbox = services[url.hostname]
    assert inbox["command"] == ["alert-inbox", "--port", str(url.port)]
    assert url.path == "/alerts"
    assert f"{url.port}:{url.port}" in inbox["ports"]


def test_prometheus_sends_alerts_to_the_compose_alertmanager() -> None:
    (am,) = load(PROMETHEUS)["alerting"]["alertmanagers"]
    targets = [t for sc in am["static_configs"] for t in sc["targets"]]
    service = load(COMPOSE)["services"]["alertmanager"]
    assert targets == ["alertmanager:9093"]
    assert "9093:9093" in service["ports"]
    mounts = dict(v.split(":")[:2] for v in service["volumes"])
    assert mounts["./deploy/alertmanager/alertmanager.yml"] == "/etc/alertmanager/alertmanager.yml"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in service["command"]


def test_the_compose_file_works_with_docker_compose_1_29_and_says_so() -> None:
    # docker-compose 1.29 (Debian) refuses a top-level `name:`; v2 does not need it.
    assert "name" not in load(COMPOSE)
    assert "1.29" in COMPOSE.read_text(encoding="utf-8").split("services:")[0]


# -- the inbox -----------------------------------------------------------------------------------

NOTIFICATION = {
    "version": "4",
    "status": "firing",
    "receiver": "alert-inbox-critical",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "GridflowWorkerDown",
                "severity": "critical",
                "instance": "worker-1:6066",
            },
            "annotations": {
                "summary": "gridflow worker worker-1:6066 is down",
                "runbook_url": "docs/operations.md#gridflowworkerdown",
            },
            "startsAt": "2026-12-04T20:00:00Z",
        }
    ],
}


def test_a_notification_reads_as_one_line_per_alert() -> None:
    (alert,) = parse_notification(NOTIFICATION)
    line = alert.line()
    assert "告警 [critical] GridflowWorkerDown worker-1:6066" in line
    assert "docs/operations.md#gridflowworkerdown" in line


async def test_the_inbox_prints_and_lists_what_it_receives() -> None:
    printed: list[str] = []
    async with TestClient(TestServer(make_app(printed.append))) as client:
        response = await client.post("/alerts", data=orjson.dumps(NOTIFICATION))
        assert response.status == 200
        assert (await response.json()) == {"received": 1}
        listing = await (await client.get("/")).text()
        assert "GridflowWorkerDown" in listing and printed and "GridflowWorkerDown" in printed[0]
        bad = await client.post("/alerts", data=b"[]")
        assert bad.status == 400 and (await bad.json())["error"] == "bad_notification"
        assert (await client.get("/healthz")).status == 200
