"""The metrics the flow-collector itself serves on `/metrics`, named exactly as it names them.

Source: carverauto/serviceradar, `rust/flow-collector/src/metrics.rs` at commit d8e67a9 (the
release Flowkeeper targets), `render_prometheus`; the counters are incremented in
`listener.rs` (packets, channel-full drops, `filter_and_track_flows`), `netflow/mod.rs` and
`sflow/mod.rs` (parse errors; the netflow ticker's template-store totals and source count).
The dashboard and the alert rules may query only these names (tests/monitoring checks it).

Every series carries exactly two labels, one series per listener of the pod's `config.json`:
`protocol` (`netflow` or `sflow`) and `listen_addr` (the listener's address as written in the
file, e.g. `0.0.0.0:2055`). No node, pod or FlowCollector label: those come from the scrape
(the chart's PodMonitor adds `node` and `flowcollector`).
"""

from typing import Literal, NamedTuple

SOURCE = "carverauto/serviceradar rust/flow-collector/src/metrics.rs at commit d8e67a9"
LABELS = ("protocol", "listen_addr")


class CollectorMetric(NamedTuple):
    name: str
    type: Literal["counter", "gauge"]
    netflow_only: bool  # not emitted at all for sflow listeners
    meaning: str


METRICS = (
    CollectorMetric(
        "flow_collector_packets_received_total",
        "counter",
        False,
        "UDP datagrams received by the listener",
    ),
    CollectorMetric(
        "flow_collector_flows_converted_total",
        "counter",
        False,
        "flow records decoded and handed to the publisher (records later dropped because its"
        " channel was full are counted here too)",
    ),
    CollectorMetric(
        "flow_collector_flows_dropped_total",
        "counter",
        False,
        "flow records dropped: degenerate (0 bytes and 0 packets) or the publisher's channel full",
    ),
    CollectorMetric(
        "flow_collector_parse_errors_total",
        "counter",
        False,
        "datagrams (or NetFlow packets in them) that failed to parse",
    ),
    CollectorMetric(
        "flow_collector_sources",
        "gauge",
        True,
        "distinct exporters the NetFlow parser tracks; updated only while a template store is"
        " configured (0 otherwise)",
    ),
    CollectorMetric(
        "flow_collector_template_store_restored_total",
        "counter",
        True,
        "templates restored from the shared template store on a local cache miss",
    ),
    CollectorMetric(
        "flow_collector_template_store_codec_errors_total",
        "counter",
        True,
        "template-store payloads that could not be decoded (wire-format mismatch or garbage)",
    ),
    CollectorMetric(
        "flow_collector_template_store_backend_errors_total",
        "counter",
        True,
        "template-store (NATS KV) get/put/remove failures; parsing falls back to the local cache",
    ),
)
NAMES = frozenset(metric.name for metric in METRICS)
