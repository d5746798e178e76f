"""A batch the real Prometheus refuses for one series is bisected: everything else lands."""

import time

import pytest
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.encoder import request_headers
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import SummaryFamily
from flowkeeper.backfill.sender import RemoteWriter
from flowkeeper.backfill.series import kind_series_spec
from flowkeeper.backfill.sinks import RemoteWriteSink

pytestmark = pytest.mark.receivers

SPEC = kind_series_spec(
    KINDS["pods"],
    prefix="kube",
    labels=parse_allowlist("l", "*=[*]").for_kind("pods"),
    annotations=parse_allowlist("a", "").for_kind("pods"),
    external={},
)


def pod_series(run, index):
    return (
        ("__name__", "kube_pod_labels"),
        ("namespace", run),
        ("pod", f"p-{index:02d}"),
        ("uid", f"u-{index}"),
    )


def test_one_series_prometheus_refuses_costs_only_itself(prometheus):
    run = f"refuse-{time.time_ns()}"
    timestamp = int(time.time() * 1000)
    metrics = RunMetrics()
    writer = RemoteWriter(
        url=prometheus.write_url,
        headers=request_headers("flowkeeper-backfill/test", {}),
        metrics=metrics,
        timeout=10,
        budget_seconds=0,
    )
    sink = RemoteWriteSink(writer, timestamp_ms=timestamp)
    batch = [pod_series(run, i) for i in range(21)]
    # The same series already holds another value at this timestamp: Prometheus refuses the
    # whole request that carries it (400, "duplicate sample for timestamp").
    sink.write_summary(
        [SummaryFamily("kube_pod_labels", "gauge", "", [(batch[13], 2.0)])], timestamp
    )

    outcome = sink.write(SPEC, batch)
    writer.close()

    assert outcome.refused == 1
    assert outcome.first_refused == batch[13]
    assert "duplicate sample" in outcome.message
    prometheus.flush()
    landed = prometheus.query(f'kube_pod_labels{{namespace="{run}"}}', time_s=timestamp / 1000)
    values = {item["metric"]["pod"]: item["value"][1] for item in landed}
    assert values == {f"p-{i:02d}": ("2" if i == 13 else "1") for i in range(21)}
    assert metrics.registry.get_sample_value("backfill_sent_bytes_total", {"encoding": "raw"}) > 0
    requests = metrics.registry.get_sample_value("backfill_request_duration_seconds_count")
    assert requests == 1 + 1 + 2 * 5  # summary, whole batch, two halves per level of 21 -> 1
