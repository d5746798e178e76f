"""The Grafana dashboard: valid JSON, variables instead of fixed values, every query parses."""

import json
import re

from tests.chart.helpers import of_kind, render
from tests.monitoring.helpers import (
    DASHBOARD_FILE,
    OPERATIONS,
    dashboard,
    panel_targets,
    run_promtool,
    write_rules,
)

BOARD = dashboard()
TARGETS = panel_targets(BOARD)
# Grafana's own variables, given a value so promtool sees plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def variables():
    return {variable["name"]: variable for variable in BOARD["templating"]["list"]}


def test_the_file_is_json_with_panels():
    json.loads(DASHBOARD_FILE.read_text())
    assert BOARD["uid"] == "flowkeeper"
    assert len(TARGETS) >= 15
    ids = [panel["id"] for panel in BOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_datasource_is_a_variable_on_every_query():
    assert variables()["datasource"]["type"] == "datasource"
    assert variables()["datasource"]["query"] == "prometheus"
    for panel, target in TARGETS:
        for owner in (panel, target):
            assert owner["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel[
                "title"
            ]


def test_no_namespace_is_hard_coded():
    # The operator's namespaces and the collectors' (their FlowCollectors') are two variables.
    for name in ("namespace", "collector_namespace", "flowcollector"):
        assert variables()[name]["type"] == "query", name
        assert variables()[name]["includeAll"] is True, name
    for panel, target in TARGETS:
        expr = target["expr"]
        assert not re.search(r'namespace=~?"(?!\$(collector_)?namespace")', expr), panel["title"]
        if "flowkeeper_operator_" in expr:
            assert 'namespace=~"$namespace"' in expr, panel["title"]
        if "flow_collector_" in expr:
            assert 'namespace=~"$collector_namespace"' in expr, panel["title"]
            assert 'flowcollector=~"$flowcollector"' in expr, panel["title"]


def test_collector_panels_are_per_node_and_listener():
    row = next(panel for panel in BOARD["panels"] if panel["title"].startswith("Collectors"))
    below = [panel for panel in BOARD["panels"] if panel["gridPos"]["y"] > row["gridPos"]["y"]]
    next_row = min(panel["gridPos"]["y"] for panel in below if panel["type"] == "row")
    collectors = [panel for panel in below if panel["gridPos"]["y"] < next_row]
    series = [panel for panel in collectors if panel["type"] == "timeseries"]
    assert len(series) >= 6
    for panel in collectors:
        for target in panel["targets"]:
            assert "flow_collector_" in target["expr"], panel["title"]
    for panel in series:
        for target in panel["targets"]:
            grouping = re.findall(r"\bby \(([^)]*)\)", target["expr"])
            assert grouping, panel["title"]
            labels = {label.strip() for clause in grouping for label in clause.split(",")}
            assert {"node", "listen_addr"} <= labels, panel["title"]


def test_every_query_parses(tmp_path):
    rules = []
    for index, (_, target) in enumerate(TARGETS):
        expr = target["expr"]
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = write_rules(
        tmp_path / "queries.yaml", {"groups": [{"name": "dashboard", "rules": rules}]}
    )
    result = run_promtool("check", "rules", path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_operations_md_lists_every_panel():
    text = OPERATIONS.read_text()
    missing = [
        panel["title"]
        for panel in BOARD["panels"]
        if panel["type"] != "row" and f"**{panel['title']}**" not in text
    ]
    assert missing == []


def test_config_map_for_the_grafana_sidecar():
    assert of_kind(render(), "ConfigMap") == []
    values = {
        "grafanaDashboard": {
            "enabled": True,
            "labels": {"team": "network"},
            "annotations": {"grafana_folder": "Flowkeeper"},
        }
    }
    (config_map,) = of_kind(render(values), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["labels"]["team"] == "network"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Flowkeeper"}
    assert json.loads(config_map["data"]["flowkeeper.json"]) == BOARD


def test_dashboard_follows_the_metric_prefix():
    values = {"grafanaDashboard": {"enabled": True}, "backfill": {"metricPrefix": "k8s"}}
    (config_map,) = of_kind(render(values), "ConfigMap")
    text = config_map["data"]["flowkeeper.json"]
    assert "k8s_backfill_duration_seconds" in text
    assert "kube_backfill_" not in text


def test_panels_fit_the_grid_without_overlapping():
    taken = set()
    for panel in BOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells
