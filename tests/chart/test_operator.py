"""The operator Deployment: arguments, ports and probes match the operator's CLI contract."""

import helm_python as helm
import pytest

from tests.chart.helpers import one, render, scenario_values

# The Lease holder's identity and the Lease's namespace, on every operator pod.
DOWNWARD_ENV = [
    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
]


def operator_container(values=None):
    deployment = one(render(values), "Deployment")
    return deployment, deployment["spec"]["template"]["spec"]["containers"][0]


def test_defaults_watch_all_namespaces_with_json_logs():
    deployment, container = operator_container()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert container["command"] == ["flowkeeper-operator"]
    assert container["args"] == [
        "--all-namespaces",
        "--liveness-port=8080",
        "--metrics-port=9090",
        "--log-format=json",
    ]
    assert container.get("resources") is None


def test_watched_namespaces_become_namespace_flags():
    _, container = operator_container(scenario_values("watch-namespaces-values.yaml"))
    assert container["args"] == [
        "--namespace=netflow",
        "--namespace=edge",
        "--liveness-port=8081",
        "--metrics-port=9191",
        "--log-format=plain",
        "--verbose",
    ]


@pytest.mark.parametrize("scenario", [None, "watch-namespaces-values.yaml"])
def test_probes_and_metrics_use_the_configured_ports(scenario):
    values = None if scenario is None else scenario_values(scenario)
    manifests = render(values)
    _, container = operator_container(values)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = values or {}
    assert ports == {
        "liveness": settings.get("livenessPort", 8080),
        "metrics": settings.get("metrics", {}).get("port", 9090),
    }
    for probe in (container["livenessProbe"], container["readinessProbe"]):
        assert probe["httpGet"] == {"path": "/healthz", "port": "liveness"}
    service = one(manifests, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": ports["metrics"], "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_service_and_service_monitor_select_the_operator_pods():
    manifests = render(scenario_values("servicemonitor-sample-values.yaml"))
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(manifests, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    monitor = one(manifests, "ServiceMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["interval"] == "30s"


def test_operator_options_reach_the_pod():
    values = scenario_values("watch-namespaces-values.yaml")
    deployment, container = operator_container(values)
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"] == values["podAnnotations"]
    assert pod["metadata"]["labels"]["team"] == "network"
    spec = pod["spec"]
    for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName"):
        assert spec[key] == values[key], key
    assert container["resources"] == values["resources"]
    assert container["env"] == DOWNWARD_ENV + values["extraEnv"]


def test_same_ports_are_refused():
    with pytest.raises(helm.HelmRenderError, match=r"livenessPort and metrics\.port must differ"):
        render({"livenessPort": 9090})
