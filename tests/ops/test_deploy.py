"""Specification of the deployment files: they are valid, consistent with each other, and
speak only of settings and metrics that the code defines.

External validators (promtool, check-jsonschema, kubernetes-validate) come from
``deploy/install-tools.sh``; a test that needs one skips, saying which and how to get it,
when it is absent. The structural checks below them always run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from gridflow.config import setting_variables
from gridflow.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
OPERATIONS = ROOT / "docs" / "operations.md"
#: Where deploy/install-tools.sh puts the PyPI validators (kept out of the project venv).
TOOLS_DIR = Path(
    os.environ.get("OPS_TOOLS_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gridflow" / "ops-tools"
)
GET_TOOLS = "run deploy/install-tools.sh"


# -- helpers --------------------------------------------------------------------------------


def tool(name: str) -> str | None:
    """Path of an external validator: on PATH, else in install-tools.sh's venv."""
    found = shutil.which(name)
    if found:
        return found
    candidate = TOOLS_DIR / "bin" / name
    return str(candidate) if os.access(candidate, os.X_OK) else None


def need(name: str) -> str:
    """The validator's path, or skip the test saying how to get it."""
    path = tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({GET_TOOLS})")
    return path


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    """Run a validator from the repository root, capturing its output."""
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every non-empty document of every manifest in deploy/k8s."""
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield path, doc


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one manifest of ``kind`` (and ``name``)."""
    found = [
        d
        for _, d in k8s_documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml with YAML merge keys resolved."""
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yml."""
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@cache
def defined_series() -> frozenset[str]:
    """Every series name gridflow.metrics can expose (with the suffixes Prometheus sees)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gauge": ("",),
    }
    registry = CollectorRegistry()
    Metrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        names |= {family.name + suffix for suffix in suffixes[family.type]}
    return frozenset(names)


#: PromQL words that look like identifiers but are not metric names.
PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2"}
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL (or Grafana-templated PromQL) expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or aggregation
        if match.group(0).lower() not in PROMQL_KEYWORDS:
            names.add(match.group(0))
    return names


def dashboard() -> dict[str, Any]:
    """The provisioned Grafana dashboard."""
    data: dict[str, Any] = json.loads(
        (GRAFANA / "dashboards" / "gridflow.json").read_text(encoding="utf-8")
    )
    return data


def dashboard_exprs() -> list[str]:
    """Every query expression of every panel."""
    return [
        target["expr"]
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def pod_spec() -> dict[str, Any]:
    """The worker StatefulSet's pod spec."""
    spec: dict[str, Any] = k8s_object("StatefulSet", "gridflow")["spec"]["template"]["spec"]
    return spec


# -- the expression parser these tests rely on ------------------------------------------------


def test_metric_names_finds_selected_metrics_and_ignores_functions_labels_and_keywords() -> None:
    expr = (
        'sum by (tier) (rate(gridflow_escalations_total{job="gridflow", tier=~"$tier"}[15m]))'
        " > 3 * sum by (tier) (rate(gridflow_escalations_total[6h] offset 1h)) and on (tier)"
        " up == 1 or vector(0) + 1e-9"
    )
    assert metric_names(expr) == {"gridflow_escalations_total", "up"}


# -- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_config_is_valid() -> None:
    result = run(need("promtool"), "check", "config", "deploy/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid() -> None:
    result = run(need("promtool"), "check", "rules", "deploy/prometheus/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass() -> None:
    result = run(need("promtool"), "test", "rules", "deploy/prometheus/alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert {
        "GridflowConsumerLagHigh",
        "GridflowCommitsStuck",
        "GridflowDLQRateHigh",
        "GridflowSLABreachesHigh",
        "GridflowWorkerDown",
        "GridflowAllWorkersDown",
        "GridflowWorkerNotReady",
        "GridflowEscalationSpike",
        "GridflowNoTickLeader",
        "GridflowSLATicksStalled",
    } <= names


def test_every_alert_has_a_unit_test_that_fires_and_one_that_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(PROMETHEUS / "alerts.test.yml")["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "alerts never shown to fire"
    assert names - quiet == set(), "alerts never shown to stay quiet"


def test_every_alert_says_what_it_means_and_what_to_do() -> None:
    for rule in alert_rules():
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), rule["alert"]
        # A description is the first page of the runbook, not a restated expression.
        assert len(annotations.get("description", "")) > 150, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]


def test_alert_expressions_use_only_defined_metrics() -> None:
    allowed = defined_series() | {"up"}
    for rule in alert_rules():
        used = metric_names(rule["expr"])
        assert used, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        assert used <= allowed, f"{rule['alert']} uses undefined {used - allowed}"


def test_prometheus_scrapes_every_compose_worker_as_job_gridflow() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "gridflow"]
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    workers = {
        f"{name}:6066"
        for name, service in compose()["services"].items()
        if service.get("command") == ["worker"]
    }
    assert targets == workers
    assert job.get("metrics_path", "/metrics") == "/metrics"


# -- Grafana ------------------------------------------------------------------------------------


def test_dashboard_queries_use_only_defined_metrics() -> None:
    allowed = defined_series() | {"up"}
    for expr in dashboard_exprs():
        used = metric_names(expr)
        assert used <= allowed, f"{expr!r} uses undefined {used - allowed}"


def test_dashboard_shows_every_metric() -> None:
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in defined_series()
    }
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert families - shown == set(), "metrics without a panel"


def test_dashboard_has_the_operations_rows_and_filters() -> None:
    panels = dashboard()["panels"]
    rows = [p["title"].lower() for p in panels if p["type"] == "row"]
    for wanted in ("intake", "cases & merges", "sla & escalations", "latency", "kafka health"):
        assert any(row.startswith(wanted) for row in rows), wanted
    variables = {v["name"] for v in dashboard()["templating"]["list"]}
    assert {"datasource", "instance", "tier", "network"} <= variables


def test_dashboard_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_grafana_provisioning_points_at_the_dashboard_and_datasource() -> None:
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (prom,) = datasource["datasources"]
    assert prom["type"] == "prometheus"
    assert prom["url"] == "http://prometheus:9090"
    (ds_var,) = [v for v in dashboard()["templating"]["list"] if v["name"] == "datasource"]
    assert ds_var["current"]["value"] == prom["uid"]

    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "gridflow.yml")
    (files,) = provider["providers"]
    volumes = [v.split(":") for v in compose()["services"]["grafana"]["volumes"]]
    mounts = {target: source for source, target, *_ in volumes}
    assert mounts[files["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"


# -- docker compose -----------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec() -> None:
    docker = shutil.which("docker")
    if docker and run(docker, "compose", "version").returncode == 0:
        result = run(docker, "compose", "-f", str(COMPOSE), "config", "--quiet")
    elif checker := tool("check-jsonschema"):
        result = run(checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    else:
        pytest.skip(f"neither `docker compose` nor check-jsonschema is available ({GET_TOOLS})")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_kafka_in_kraft_mode_for_the_compose_network() -> None:
    kafka = compose()["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:(3\.9\.\d+|4\.\d+\.\d+)", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "healthcheck" in kafka


def test_compose_starts_everything_in_order() -> None:
    services = compose()["services"]
    assert set(services) >= {
        "kafka",
        "topics",
        "worker-1",
        "worker-2",
        "simulator",
        "prometheus",
        "grafana",
    }
    assert services["topics"]["command"] == ["topics", "create"]
    assert services["topics"]["restart"] == "no"
    for name in ("worker-1", "worker-2"):
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"
    assert services["simulator"]["command"] == ["simulate", "--rate", "50", "--centres"]
    # Whatever a service waits on to be healthy must have a health check to pass.
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                check = services[dependency].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (name, dependency)


def test_compose_runs_the_api_on_postgres_after_the_topics() -> None:
    services = compose()["services"]
    api = services["api"]
    env = api["environment"]
    assert api["command"] == ["api"]
    assert env["GRIDFLOW_API_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["GRIDFLOW_API_DATABASE_URL"]
    assert env["GRIDFLOW_PARTITIONS"] == services["topics"]["environment"]["GRIDFLOW_PARTITIONS"]
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert f"{env['GRIDFLOW_API_PORT']}:{env['GRIDFLOW_API_PORT']}" in api["ports"]
    targets = {v.split(":")[1] for v in api["volumes"]}
    assert env["GRIDFLOW_API_TOKENS_FILE"] in targets


def test_compose_workers_are_configured_for_the_compose_network() -> None:
    services = compose()["services"]
    partitions = {services["topics"]["environment"]["GRIDFLOW_PARTITIONS"]}
    for name in ("worker-1", "worker-2"):
        service = services[name]
        env = service["environment"]
        assert service["command"] == ["worker"]
        assert env["GRIDFLOW_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["GRIDFLOW_WEB_HOST"] == "0.0.0.0"
        assert env["GRIDFLOW_WEB_PORT"] == "6066"
        assert env["GRIDFLOW_STORE"] in {"rocksdb://", "memory://"}
        volume_targets = {v.split(":")[1] for v in service["volumes"]}
        assert env["GRIDFLOW_DATA_DIR"] in volume_targets
        partitions.add(env["GRIDFLOW_PARTITIONS"])
    assert len(partitions) == 1, "topics job and workers disagree on the partition count"


def test_compose_bind_mounts_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


# -- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_gridflow_worker_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert stages and stages[-1] == "python:3.11-slim"
    assert re.search(r"^RUN pip install \.", text, re.MULTILINE)
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["gridflow"\]$', text, re.MULTILINE)
    assert re.search(r'^CMD \["worker"\]$', text, re.MULTILINE)
    healthcheck = text[text.index("HEALTHCHECK") :]
    assert "/healthz" in healthcheck and "6066" in healthcheck
    assert re.search(r"^EXPOSE 6066$", text, re.MULTILINE)


def test_image_user_matches_the_kubernetes_security_context() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    uid = re.findall(r"^USER\s+(\d+)", text, re.MULTILINE)[-1]
    assert str(pod_spec()["securityContext"]["runAsUser"]) == uid


def test_the_image_entrypoint_is_a_project_script() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "gridflow" in project["project"]["scripts"]


def test_dockerignore_keeps_local_state_out_but_the_package_in() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var"} <= ignored
    assert not ignored & {"pyproject.toml", "gridflow", "routing_rules", "agents", "schemas"}


# -- settings named in deployment files ---------------------------------------------------------


def settings_env_names() -> set[str]:
    """Every GRIDFLOW_* variable gridflow reads (each Settings field, GRIDFLOW_CONFIG, …)."""
    return set(setting_variables())


@pytest.mark.parametrize(
    "path",
    [COMPOSE, DOCKERFILE, OPERATIONS, *sorted(K8S.glob("*.yaml"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_gridflow_variable_is_a_setting_the_worker_reads(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing")
    named = set(re.findall(r"\bGRIDFLOW_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    assert named - settings_env_names() == set()


# -- Kubernetes ---------------------------------------------------------------------------------


def test_k8s_manifests_match_the_kubernetes_schemas() -> None:
    validator = need("kubernetes-validate")
    files = [str(p) for p in sorted(K8S.glob("*.yaml"))]
    result = run(validator, "--strict", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    # Only custom resources and the kustomization lack a built-in schema.
    for line in result.stdout.splitlines():
        if line.startswith("WARN"):
            assert re.search(r"kind (PodMonitor|PrometheusRule|Kustomization) ", line), line


def test_k8s_manifests_have_kind_name_and_api_version() -> None:
    for path, doc in k8s_documents():
        assert doc.get("apiVersion") and doc.get("kind"), path.name
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], path.name


def test_kustomization_lists_every_manifest_except_examples() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    manifests = {
        p.name
        for p in K8S.glob("*.yaml")
        if p.name != "kustomization.yaml" and not p.name.endswith(".example.yaml")
    }
    assert listed == manifests


def test_statefulset_keeps_state_on_a_claim_and_probes_health_and_readiness() -> None:
    sts = k8s_object("StatefulSet", "gridflow")
    config = k8s_object("ConfigMap")["data"]
    (container,) = pod_spec()["containers"]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == config["GRIDFLOW_DATA_DIR"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert str(port) == config["GRIDFLOW_WEB_PORT"]
    assert config["GRIDFLOW_WEB_HOST"] == "0.0.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"] == ["worker"]
    assert pod_spec()["securityContext"]["runAsNonRoot"] is True


def test_selectors_match_the_worker_pods() -> None:
    sts = k8s_object("StatefulSet", "gridflow")
    pod_labels: dict[str, str] = sts["spec"]["template"]["metadata"]["labels"]

    def matches(selector: dict[str, str]) -> bool:
        return selector.items() <= pod_labels.items()

    assert matches(sts["spec"]["selector"]["matchLabels"])
    assert matches(k8s_object("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    assert matches(k8s_object("PodMonitor")["spec"]["selector"]["matchLabels"])
    services = {
        s["metadata"]["name"]: s
        for _, s in k8s_documents()
        if s["kind"] == "Service"
        # The API's and its database's Services select their own pods (test below).
        and s["metadata"]["labels"].get("app.kubernetes.io/component") not in ("api", "database")
    }
    for service in services.values():
        assert matches(service["spec"]["selector"]), service["metadata"]["name"]
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert any(s is not headless for s in services.values()), "no metrics Service"


def test_the_api_and_its_database_have_services_probes_and_secrets() -> None:
    api = k8s_object("Deployment", "gridflow-api")
    db = k8s_object("StatefulSet", "gridflow-postgres")
    config = k8s_object("ConfigMap")["data"]
    for workload, service_name in ((api, "gridflow-api"), (db, "gridflow-postgres")):
        service = k8s_object("Service", service_name)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["api"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http-api"]
    assert str(port) == config["GRIDFLOW_API_PORT"] and config["GRIDFLOW_API_HOST"] == "0.0.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(Path(config["GRIDFLOW_API_TOKENS_FILE"]).parent) in mounts
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for path, d in k8s_documents()
        if d["kind"] == "Secret" and path.name.endswith(".example.yaml")
    }
    assert "GRIDFLOW_API_DATABASE_URL" in secrets["gridflow-postgres"]
    assert "tokens.yaml" in secrets["gridflow-api-tokens"]


def test_pod_monitor_scrapes_metrics_as_job_gridflow() -> None:
    monitor = k8s_object("PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    pod_labels = k8s_object("StatefulSet", "gridflow")["spec"]["template"]["metadata"]["labels"]
    # The alert rules and the dashboard select job="gridflow".
    assert pod_labels[monitor["spec"]["jobLabel"]] == "gridflow"
    ports = {p["name"] for p in pod_spec()["containers"][0]["ports"]}
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        assert endpoint["port"] in ports
        assert endpoint["path"] == "/metrics"


def test_prometheus_rule_carries_the_same_alerts_as_alerts_yml() -> None:
    rule = k8s_object("PrometheusRule")
    assert rule["spec"]["groups"] == load_yaml(PROMETHEUS / "alerts.yml")["groups"]


def test_sasl_secret_example_is_the_one_the_workers_read() -> None:
    example = load_yaml(K8S / "secret-sasl.example.yaml")
    refs = [
        source["secretRef"]
        for source in pod_spec()["containers"][0]["envFrom"]
        if "secretRef" in source
    ]
    assert [r["name"] for r in refs] == [example["metadata"]["name"]]
    assert refs[0]["optional"] is True
    assert set(example["stringData"]) == {
        "GRIDFLOW_KAFKA_SASL_USERNAME",
        "GRIDFLOW_KAFKA_SASL_PASSWORD",
    }


# -- the runbook --------------------------------------------------------------------------------


def test_operations_doc_explains_every_alert() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    missing = [rule["alert"] for rule in alert_rules() if rule["alert"] not in text]
    assert missing == []
