"""The backfill CLI into real Prometheus 2.42 and VictoriaMetrics, checked via their query APIs."""

import pytest
from flowkeeper.backfill.cli import main

from e2e.local import write_kubeconfig
from tests.backfill.listserver import Faults, ListServer, serving

pytestmark = pytest.mark.receivers

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
OBJECTS = {
    "namespaces": [
        {"name": "shop", "uid": "ns-uid", "labels": {"team": "core", "empty": ""}},
    ],
    "nodes": [
        {"name": "node-a", "uid": "node-uid", "labels": {"topology.kubernetes.io/zone": "eu-1a"}},
    ],
    "pods": [
        {
            "name": "web-1",
            "namespace": "shop",
            "uid": "pod-uid-1",
            "labels": {"app.kubernetes.io/name": "web", "a.b": "dot", "a/b": "slash"},
            "annotations": {"example.com/owner": "alice", LAST_APPLIED: "{}"},
        },
        *(
            {"name": f"bulk-{i:04d}", "namespace": "bulk", "uid": f"bulk-uid-{i}"}
            for i in range(1200)
        ),
    ],
}


@pytest.fixture(params=["prometheus", "victoriametrics"])
def receiver(request):
    return request.getfixturevalue(request.param)


def backfill(receiver, tmp_path, server, cluster, *extra):
    with serving(server) as url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        code = main(
            [
                f"--kubeconfig={kubeconfig}",
                f"--remote-write-url={receiver.write_url}",
                "--resources=namespaces,nodes,pods",
                "--metric-annotations-allowlist=*=[*]",
                f"--external-label=cluster={cluster}",
                *extra,
            ]
        )
    receiver.flush()
    return code


def test_every_series_arrives_with_the_right_labels(receiver, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    cluster = f"labels-{receiver.name}"
    server = ListServer(objects=OBJECTS)
    assert backfill(receiver, tmp_path, server, cluster, "--page-size=100") == 0

    def series(match):
        return sorted(
            receiver.series(f'{match[:-1]},cluster="{cluster}"}}'), key=lambda s: sorted(s.items())
        )

    assert series('kube_namespace_labels{namespace="shop"}') == [
        {
            "__name__": "kube_namespace_labels",
            "cluster": cluster,
            "label_team": "core",
            "namespace": "shop",
        }
    ]
    assert series('kube_node_labels{node="node-a"}') == [
        {
            "__name__": "kube_node_labels",
            "cluster": cluster,
            "label_topology_kubernetes_io_zone": "eu-1a",
            "node": "node-a",
        }
    ]
    assert series('kube_pod_labels{pod="web-1"}') == [
        {
            "__name__": "kube_pod_labels",
            "cluster": cluster,
            "label_a_b_conflict1": "dot",
            "label_a_b_conflict2": "slash",
            "label_app_kubernetes_io_name": "web",
            "namespace": "shop",
            "pod": "web-1",
            "uid": "pod-uid-1",
        }
    ]
    assert series('kube_pod_annotations{pod="web-1"}') == [
        {
            "__name__": "kube_pod_annotations",
            "annotation_example_com_owner": "alice",
            "cluster": cluster,
            "namespace": "shop",
            "pod": "web-1",
            "uid": "pod-uid-1",
        }
    ]
    bulk = series('kube_pod_labels{namespace="bulk"}')
    assert sorted(s["pod"] for s in bulk) == [f"bulk-{i:04d}" for i in range(1200)]
    assert len(series('kube_pod_annotations{namespace="bulk"}')) == 1200
    assert series('kube_backfill_objects{kind="pods"}') == [
        {"__name__": "kube_backfill_objects", "cluster": cluster, "kind": "pods", "shard": "0"}
    ]
    value = receiver.query(f'kube_backfill_objects{{kind="pods",cluster="{cluster}"}}')
    assert [float(v["value"][1]) for v in value] == [1201.0]
    assert receiver.query(f'kube_backfill_last_success_timestamp_seconds{{cluster="{cluster}"}}')


def test_gone_mid_kind_still_delivers_every_series_once(receiver, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    cluster = f"gone-{receiver.name}"
    server = ListServer(objects=OBJECTS, faults=Faults(gone={"pods": 3}))
    code = backfill(receiver, tmp_path, server, cluster, "--page-size=200")
    assert code == 0
    pods = receiver.series(f'kube_pod_labels{{cluster="{cluster}"}}')
    assert len(pods) == 1201
    count = receiver.query(f'count(kube_pod_annotations{{cluster="{cluster}"}})')
    assert [float(v["value"][1]) for v in count] == [1201.0]
    restarts = receiver.query(f'kube_backfill_list_restarts_total{{cluster="{cluster}"}}')
    assert [(r["metric"]["kind"], float(r["value"][1])) for r in restarts] == [("pods", 1.0)]
