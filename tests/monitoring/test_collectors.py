"""The collectors' own metrics: the one list of them, the docs table, the labels queried.

The collector's series carry only `protocol` and `listen_addr`; every other label a panel or an
alert groups by, matches on or prints must be one the scrape adds (the chart's PodMonitor, or
prometheus-operator on every PodMonitor target), or it would silently be empty.
"""

import re

import pytest
from flowkeeper.operator.model import collector_metrics

from tests.chart.helpers import one, render
from tests.monitoring.helpers import OPERATIONS, alerts, dashboard, panel_targets, rendered_rules

# prometheus-operator's relabelings of every PodMonitor target (pkg/prometheus/promcfg.go:
# namespace, container, pod, job, endpoint) and Prometheus' own `instance`.
TARGET_LABELS = {"namespace", "container", "pod", "job", "endpoint", "instance"}
_CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
_METRIC_NAME = re.compile(r"\bflow_collector_[a-z_]+")


def pod_monitor_labels():
    monitor = one(render({"metrics": {"podMonitor": {"enabled": True}}}), "PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    return {rule["targetLabel"] for rule in endpoint.get("relabelings", [])}


ALLOWED = set(collector_metrics.LABELS) | pod_monitor_labels() | TARGET_LABELS


def labels_in(expr):
    """Label names an expression groups by, matches on, or selects with."""
    found = {label.strip() for clause in _CLAUSE.findall(expr) for label in clause.split(",")}
    return (found | set(_MATCHER.findall(expr))) - {""}


def collector_queries():
    """(where, labels) for every panel query, variable and alert on the collectors' series."""
    board = dashboard()
    for panel, target in panel_targets(board):
        if "flow_collector_" in target["expr"]:
            legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
            yield panel["title"], labels_in(target["expr"]) | legend
    for variable in board["templating"]["list"]:
        if "flow_collector_" in variable.get("definition", ""):
            definition = variable["definition"]
            selected = re.findall(r",\s*(\w+)\s*\)\s*$", definition)
            yield f"variable {variable['name']}", labels_in(definition) | set(selected)
    for rule in alerts(rendered_rules()):
        if "flow_collector_" in rule["expr"]:
            printed = set(re.findall(r"\$labels\.(\w+)", str(rule["annotations"])))
            yield rule["alert"], labels_in(rule["expr"]) | printed


QUERIES = list(collector_queries())


def test_there_are_collector_queries_to_check():
    where = {name for name, _ in QUERIES}
    assert {"FlowkeeperCollectorReceivingNothing", "variable flowcollector"} <= where
    assert any("node" in labels for _, labels in QUERIES)


@pytest.mark.parametrize(("where", "labels"), QUERIES, ids=[name for name, _ in QUERIES])
def test_collector_queries_use_only_labels_the_series_have(where, labels):
    assert labels <= ALLOWED, f"{where} uses {sorted(labels - ALLOWED)}, which no series has"


@pytest.mark.parametrize(
    ("expr", "labels"),
    [
        (
            'sum by (node, listen_addr) (rate(m{namespace=~"$a", flowcollector!=""}[5m]))',
            {"node", "listen_addr", "namespace", "flowcollector"},
        ),
        ("(a == 0) and on (namespace, flowcollector) (b > 0)", {"namespace", "flowcollector"}),
    ],
)
def test_labels_found_in_an_expression(expr, labels):
    assert labels_in(expr) == labels


def test_the_list_cites_its_source():
    assert "metrics.rs" in collector_metrics.SOURCE
    assert "d8e67a9" in collector_metrics.SOURCE
    assert collector_metrics.LABELS == ("protocol", "listen_addr")
    assert len(collector_metrics.NAMES) == len(collector_metrics.METRICS) == 8
    for metric in collector_metrics.METRICS:
        # The exposition's naming rule: counters end in `_total`, the gauge does not.
        assert metric.name.endswith("_total") == (metric.type == "counter"), metric.name


def test_operations_md_has_a_row_per_collector_metric():
    text = OPERATIONS.read_text()
    for metric in collector_metrics.METRICS:
        row = re.search(rf"^\| `{metric.name}` \| (\w+) \|.*$", text, flags=re.MULTILINE)
        assert row, metric.name
        assert row.group(1) == metric.type, metric.name


def test_operations_md_names_no_other_collector_metric():
    assert set(_METRIC_NAME.findall(OPERATIONS.read_text())) <= collector_metrics.NAMES
