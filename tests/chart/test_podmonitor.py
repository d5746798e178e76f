"""The PodMonitor finds the pods the operator builds, on the port their container names."""

from flowkeeper.operator.model.manifests import build_children
from flowkeeper.operator.model.spec import parse_spec

from tests.chart.helpers import of_kind, one, render, scenario_values


def collector_pod(metrics_enabled=True):
    values = render({"sampleFlowCollector": {"enabled": True}})
    spec = one(values, "FlowCollector")["spec"]
    spec["metrics"]["enabled"] = metrics_enabled
    children = build_children(name="edge", namespace="netflow", spec=parse_spec(spec))
    return children.daemonset["spec"]["template"]


def pod_monitor(values=None):
    return one(
        render({"metrics": {"podMonitor": {"enabled": True, **(values or {})}}}), "PodMonitor"
    )


def test_off_by_default():
    assert of_kind(render(), "PodMonitor") == []


def test_selects_the_collector_pods_in_every_namespace():
    monitor = pod_monitor()
    pod = collector_pod()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
    assert endpoint["port"] in ports
    assert endpoint["path"] == "/metrics"


def test_does_not_select_the_operator_itself():
    manifests = render({"metrics": {"podMonitor": {"enabled": True}}})
    selector = one(manifests, "PodMonitor")["spec"]["selector"]["matchLabels"]
    operator_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= operator_labels.items()


def test_pods_without_metrics_have_no_port_to_scrape():
    pod = collector_pod(metrics_enabled=False)
    ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
    assert pod_monitor()["spec"]["podMetricsEndpoints"][0]["port"] not in ports


def test_scenario_options_reach_the_pod_monitor():
    values = scenario_values("ha-monitoring-values.yaml")["metrics"]["podMonitor"]
    monitor = one(render(scenario_values("ha-monitoring-values.yaml")), "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["netflow", "edge"]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["interval"] == "30s"
    assert endpoint["metricRelabelings"] == values["metricRelabelings"]
