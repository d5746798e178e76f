"""Every metric the alerts and the dashboard query is one the programs register.

The names are read from the registries themselves (the operator's default prometheus-client
registry, the backfill's RunMetrics with the run series' `kube_` prefix) and, for the
collectors, from the one list of what the collector serves (flowkeeper.operator.
collector_metrics, written from its metrics.rs), so a renamed or missing metric fails here,
naming it.
"""

import re

import flowkeeper.operator.metrics  # noqa: F401  (registers the operator's metrics)
import prometheus_client
import pytest
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.operator.model import collector_metrics
from prometheus_client.registry import CollectorRegistry

from tests.monitoring.helpers import alerts, dashboard, panel_targets, rendered_rules
from tests.monitoring.promql import metric_names

# What a family of each type exposes on the wire (a labelled family with no child yet has no
# samples to read the names from).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}
# The backfill's run series prefix in the rules and dashboard (backfill.metricPrefix default).
RUN_PREFIX = "kube_"


def exposed(registry: CollectorRegistry, prefix: str = "") -> set[str]:
    return {
        f"{prefix}{family.name}{suffix}"
        for family in registry.collect()
        for suffix in SUFFIXES[family.type]
    }


REGISTERED = exposed(prometheus_client.REGISTRY) | exposed(RunMetrics().registry, RUN_PREFIX)
# The collector's names are its wire names already (`_total` included).
REGISTERED |= collector_metrics.NAMES
RULE_NAMES = {name for rule in alerts(rendered_rules()) for name in metric_names(rule["expr"])}
# The dashboard's variables read label values of a metric: `label_values(metric{...}, label)`.
VARIABLE_NAMES = {
    match
    for variable in dashboard()["templating"]["list"]
    if variable["type"] == "query"
    for match in re.findall(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", variable["definition"])
}
DASHBOARD_NAMES = {
    name for _, target in panel_targets(dashboard()) for name in metric_names(target["expr"])
} | VARIABLE_NAMES
# The contract of issue 10: the names the alerts and panels are written against.
CONTRACT = {
    "flowkeeper_operator_reconcile_duration_seconds_bucket",
    "flowkeeper_operator_api_requests_total",
    "flowkeeper_operator_flowcollectors",
    "flowkeeper_operator_restores_total",
    "flowkeeper_operator_reconciles_total",
    "flowkeeper_operator_errors_total",
    "flowkeeper_operator_invalid_specs_total",
    "flowkeeper_operator_leader",
    "kube_backfill_last_success_timestamp_seconds",
    "kube_backfill_duration_seconds",
    "kube_backfill_refused_series_total",
    "kube_backfill_sent_bytes_total",
    "kube_backfill_request_duration_seconds_bucket",
    "kube_backfill_retries_total",
}
# The contract of issue 13: every metric the collector serves has a panel.
CONTRACT |= collector_metrics.NAMES


@pytest.mark.parametrize("name", sorted(RULE_NAMES))
def test_alert_metric_is_registered(name):
    assert name in REGISTERED, f"the alerts query {name}, which no registry defines"


@pytest.mark.parametrize("name", sorted(DASHBOARD_NAMES))
def test_dashboard_metric_is_registered(name):
    assert name in REGISTERED, f"the dashboard queries {name}, which no registry defines"


def test_the_contract_is_queried():
    # Guards the extraction: if it found nothing, the tests above could not fail.
    assert RULE_NAMES | DASHBOARD_NAMES >= CONTRACT


def test_registries_are_read():
    assert "flowkeeper_operator_reconciles_total" in REGISTERED
    assert "kube_backfill_batches_total" in REGISTERED
    assert "flow_collector_packets_received_total" in REGISTERED


def test_the_collector_alerts_and_variables_are_read():
    # Guards the extraction of the collector names from the rules and the variables.
    assert "flow_collector_packets_received_total" in RULE_NAMES
    assert "flow_collector_packets_received_total" in VARIABLE_NAMES
    assert "flowkeeper_operator_leader" in VARIABLE_NAMES


@pytest.mark.parametrize(
    "name",
    [
        # Names the collector does not serve: its gauge has no `_total`, its flows are
        # "converted", and nothing counts bytes.
        "flow_collector_sources_total",
        "flow_collector_flows_forwarded_total",
        "flow_collector_bytes_received_total",
        "flowcollector_packets_received_total",
    ],
)
def test_an_invented_collector_name_is_not_registered(name):
    assert name not in REGISTERED


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("absent(flowkeeper_operator_leader)", {"flowkeeper_operator_leader"}),
        (
            'sum by (namespace, cause) (rate(x_total{cause!="a b"}[15m])) > 0',
            {"x_total"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(a_bucket[$__rate_interval])))",
            {"a_bucket"},
        ),
        ("max_over_time(a[3d]) unless on (shard) max_over_time(b[26h]) * 1e3", {"a", "b"}),
        ("time() - max(c) > 26 * 3600", {"c"}),
    ],
)
def test_metric_names_found_in_an_expression(expr, names):
    assert metric_names(expr) == names
