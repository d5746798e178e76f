"""A real scraper discovers the collector pods the operator builds and scrapes them with the
chart's PodMonitor relabelings; the Collectors panels then find their series, per node.

The scraper is VictoriaMetrics' Prometheus-compatible one (Prometheus' `scrape_configs`,
Kubernetes service discovery and relabeling): Debian's Prometheus is built without Kubernetes
service discovery.

The pods are the operator's DaemonSet pod template (build_children) placed on two nodes in the
emulated API server, their IP set to 127.0.0.1; each pod's `metrics` port answers with an
exposition in the collector's own format and names (metrics.rs at d8e67a9: HELP and TYPE lines,
one row per listener with `protocol` and `listen_addr`; the sources and template-store rows for
netflow listeners only). prometheus-operator's part, turning a PodMonitor into a scrape job, is
mirrored from its generated configuration (pkg/prometheus/promcfg.go, pod role): keep the pods
its selector matches and the named port, set `namespace`, `container`, `pod`, `job` and
`endpoint`, then the endpoint's own relabelings.
"""

import asyncio
import contextlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
import yaml
from flowkeeper.operator.model import collector_metrics
from flowkeeper.operator.model.manifests import build_children
from flowkeeper.operator.model.spec import parse_spec

from e2e.emulator import TEST_AGENT
from e2e.receivers import (
    VICTORIAMETRICS_BINARY,
    ReceiverUnavailableError,
    binary,
    skip_unless_required,
    start_victoriametrics,
)
from tests.chart.helpers import one, render
from tests.monitoring.helpers import dashboard, panel_targets, pod_meta_label

pytestmark = pytest.mark.receivers

NAMESPACE = "netflow"
NAME = "edge"
NODES = ("node-a", "node-b")


def exposition(listeners):
    """The collector's /metrics body for these (protocol, listen_addr) listeners."""
    lines = []
    for number, metric in enumerate(collector_metrics.METRICS, start=1):
        lines += [f"# HELP {metric.name} {metric.meaning}", f"# TYPE {metric.name} {metric.type}"]
        for protocol, address in listeners:
            if metric.netflow_only and protocol != "netflow":
                continue
            labels = f'protocol="{protocol}",listen_addr="{address}"'
            lines.append(f"{metric.name}{{{labels}}} {number * 10}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def collector_metrics_server(body):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            found = self.path.startswith("/metrics")
            payload = (body if found else "not found\n").encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def snake(key):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def scrape_config(monitor, api_server):
    """The scrape job prometheus-operator generates for the PodMonitor's first endpoint."""
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    relabel = [
        {
            "source_labels": [
                pod_meta_label(key),
                pod_meta_label(key).replace("_label_", "_labelpresent_", 1),
            ],
            "regex": f"({value});true",
            "action": "keep",
        }
        for key, value in selector.items()
    ]
    relabel += [
        {
            "source_labels": ["__meta_kubernetes_pod_container_port_name"],
            "regex": endpoint["port"],
            "action": "keep",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"target_label": "job", "replacement": f"{namespace}/{name}"},
        {"target_label": "endpoint", "replacement": endpoint["port"]},
    ]
    relabel += [
        {snake(key): value for key, value in rule.items()}
        for rule in endpoint.get("relabelings", [])
    ]
    job = {
        "job_name": f"podMonitor/{namespace}/{name}/0",
        "scrape_interval": "1s",
        "metrics_path": endpoint["path"],
        "kubernetes_sd_configs": [{"role": "pod", "api_server": api_server}],
        "relabel_configs": relabel,
    }
    return yaml.safe_dump({"scrape_configs": [job]})


def sample_spec(port):
    spec = one(render({"sampleFlowCollector": {"enabled": True}}), "FlowCollector")["spec"]
    spec["metrics"]["port"] = port
    return spec


async def place_pods(url, spec):
    """The DaemonSet's pods on two nodes, as the DaemonSet controller and kubelet would."""
    daemonset = build_children(name=NAME, namespace=NAMESPACE, spec=parse_spec(spec)).daemonset
    template = daemonset["spec"]["template"]
    base = f"/api/v1/namespaces/{NAMESPACE}/pods"
    running = {"status": {"phase": "Running", "podIP": "127.0.0.1"}}
    merge = {"Content-Type": "application/merge-patch+json"}
    async with aiohttp.ClientSession(url, headers={"User-Agent": TEST_AGENT}) as session:
        for node in NODES:
            name = f"{NAME}-{node}"
            metadata = {**template["metadata"], "name": name, "namespace": NAMESPACE}
            pod = {"metadata": metadata, "spec": {**template["spec"], "nodeName": node}}
            async with session.post(base, json={"apiVersion": "v1", "kind": "Pod", **pod}) as r:
                assert r.status == 201, await r.text()
            async with session.patch(f"{base}/{name}/status", json=running, headers=merge) as r:
                assert r.status == 200, await r.text()


def grafana(expr):
    """A panel's query as Grafana sends it with every variable on All."""
    return re.sub(r"\$\w+", ".*", expr.replace("$__rate_interval", "15s"))


async def wait_for(receiver, promql, timeout=60.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await asyncio.to_thread(receiver.query, promql)
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.5)


async def test_collector_series_are_labelled_with_their_node_and_flowcollector(k8s):
    try:
        binary(VICTORIAMETRICS_BINARY)
    except ReceiverUnavailableError as error:
        skip_unless_required(error)
    monitor = one(render({"metrics": {"podMonitor": {"enabled": True}}}), "PodMonitor")
    listeners = [(li["protocol"], f"0.0.0.0:{li['port']}") for li in sample_spec(0)["listeners"]]
    with contextlib.ExitStack() as stack:
        port = stack.enter_context(collector_metrics_server(exposition(listeners)))
        await place_pods(k8s.url, sample_spec(port))
        config = scrape_config(monitor, k8s.url)
        scraper = await asyncio.to_thread(
            stack.enter_context, start_victoriametrics(scrape_config=config)
        )
        # Every pod scraped twice, so that rate() has two samples.
        expected = len(NODES) * len(listeners)
        counted = "count(count_over_time(flow_collector_packets_received_total[1m]) >= 2)"
        assert await wait_for(scraper, f"{counted} >= {expected}"), scraper.log_path.read_text()
        series = await asyncio.to_thread(scraper.query, "flow_collector_packets_received_total")
        found = {
            (s["metric"].get("node"), s["metric"]["pod"], s["metric"]["protocol"]) for s in series
        }
        assert found == {
            (node, f"{NAME}-{node}", protocol) for node in NODES for protocol, _ in listeners
        }
        assert {(s["metric"].get("flowcollector"), s["metric"]["namespace"]) for s in series} == {
            (NAME, NAMESPACE)
        }
        # Every Collectors panel finds series; those grouped by node show both nodes.
        for panel, target in panel_targets(dashboard()):
            if "flow_collector_" not in target["expr"]:
                continue
            result = await asyncio.to_thread(scraper.query, grafana(target["expr"]))
            assert result, panel["title"]
            if "node" in target["expr"]:
                assert {s["metric"].get("node") for s in result} == set(NODES), panel["title"]
