"""The naive backfill the benchmark compares against: the kubernetes client, everything loaded.

What one writes first with the official client: one LIST of every pod (no pagination), the whole
`V1PodList` deserialised into model objects, then series built and sent in batches of 500 with
the protobuf library, snappy and requests. Same series names and identity labels as the CLI.
Usage: python bench/naive_backfill.py KUBECONFIG REMOTE_WRITE_URL RUN_LABEL
"""

import re
import sys
import time

import requests
from flowkeeper.backfill import remote_pb2
from flowkeeper.backfill.encoder import compress
from kubernetes import client, config

_INVALID = re.compile(r"[^a-zA-Z0-9_]")
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def series_of(pod: client.V1Pod, run: str) -> list[tuple[str, str]]:
    meta = pod.metadata
    labels = [("__name__", "kube_pod_labels"), ("bench_run", run), ("pod", meta.name)]
    labels += [("namespace", meta.namespace), ("uid", meta.uid)]
    for key, value in (meta.labels or {}).items():
        if value:
            labels.append(("label_" + _INVALID.sub("_", key).lower(), value))
    return sorted(labels)


def send(session: requests.Session, url: str, batch: list[list[tuple[str, str]]]) -> None:
    request = remote_pb2.WriteRequest()
    now = int(time.time() * 1000)
    for labels in batch:
        series = request.timeseries.add()
        for name, value in labels:
            series.labels.add(name=name, value=value)
        series.samples.add(value=1.0, timestamp=now)
    body = compress(request.SerializeToString())
    session.post(url, data=body, headers=HEADERS, timeout=60).raise_for_status()


def main() -> None:
    kubeconfig, url, run = sys.argv[1:4]
    config.load_kube_config(config_file=kubeconfig)
    pods = client.CoreV1Api().list_pod_for_all_namespaces().items  # everything, at once
    session = requests.Session()
    batch: list[list[tuple[str, str]]] = []
    for pod in pods:
        batch.append(series_of(pod, run))
        if len(batch) == 500:
            send(session, url, batch)
            batch = []
    if batch:
        send(session, url, batch)
    print(f"naive: {len(pods)} pods", file=sys.stderr)


if __name__ == "__main__":
    main()
