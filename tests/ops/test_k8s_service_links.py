"""The worker pod gets no service-link variables, which a strict worker would refuse."""

from __future__ import annotations

from test_deploy import K8S, pod_spec

from gridflow.config import check_environment


def test_the_worker_pod_turns_service_links_off() -> None:
    assert pod_spec()["enableServiceLinks"] is False


def test_a_service_link_variable_would_stop_the_worker() -> None:
    # What Kubernetes injects for the gridflow-metrics service when links are on.
    assert (K8S / "service-metrics.yaml").is_file()
    try:
        check_environment({"GRIDFLOW_METRICS_SERVICE_HOST": "10.0.0.7"})
    except ValueError as exc:
        assert "GRIDFLOW_METRICS_SERVICE_HOST" in str(exc)
    else:
        raise AssertionError("a service-link variable was accepted")
