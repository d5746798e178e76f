"""The PodMonitor finds the pods the operator builds, on the port their container names."""

from flowkeeper.operator.model import collector_metrics
from flowkeeper.operator.model.manifests import build_children
from flowkeeper.operator.model.spec import parse_spec

from tests.chart.helpers import of_kind, one, render, scenario_values
from tests.monitoring.helpers import pod_meta_label


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


def relabeled(endpoint):
    return {rule["targetLabel"]: rule for rule in endpoint.get("relabelings", [])}


def test_the_node_label_comes_from_the_pods_node():
    # The collector's series carry no node label; dashboards and alerts group by `node`.
    (endpoint,) = pod_monitor()["spec"]["podMetricsEndpoints"]
    rule = relabeled(endpoint)["node"]
    assert rule["sourceLabels"] == ["__meta_kubernetes_pod_node_name"]
    assert rule.get("action", "replace").lower() == "replace"


def test_the_flowcollector_label_is_the_pods_flowcollector_name():
    pod = collector_pod()
    (endpoint,) = pod_monitor()["spec"]["podMetricsEndpoints"]
    rule = relabeled(endpoint)["flowcollector"]
    assert rule.get("action", "replace").lower() == "replace"
    (source,) = rule["sourceLabels"]
    holders = [key for key, value in pod["metadata"]["labels"].items() if value == "edge"]
    assert source in {pod_meta_label(key) for key in holders}, holders


def test_chart_relabelings_do_not_overwrite_the_collectors_or_the_targets_labels():
    (endpoint,) = pod_monitor()["spec"]["podMetricsEndpoints"]
    # prometheus-operator sets these on every PodMonitor target; the collector sets the others.
    taken = {"namespace", "pod", "container", "endpoint", "job", "instance"}
    assert not set(relabeled(endpoint)) & (taken | set(collector_metrics.LABELS))


def test_user_relabelings_come_after_the_charts():
    own = {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_node_name"],
        "regex": "([^.]+)\\..*",
        "targetLabel": "node",
    }
    (endpoint,) = pod_monitor({"relabelings": [own]})["spec"]["podMetricsEndpoints"]
    assert endpoint["relabelings"][-1] == own
    assert [rule["targetLabel"] for rule in endpoint["relabelings"][:-1]] == [
        "node",
        "flowcollector",
    ]
