"""The whole CLI against the paginating list server and a capturing receiver (real HTTP)."""

import json

import pytest
from flowkeeper.backfill.cli import main

from e2e.local import write_kubeconfig
from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.listserver import API_PATHS, Faults, ListServer, serving


def object_requests(receiver):
    """Requests carrying object series (the last one is the run summary)."""
    return receiver.requests[:-1]


def names(receiver, metric):
    return sorted(
        s.get("pod") or s.get("namespace") or s.get("node")
        for s in receiver.all_series()
        if s["__name__"] == metric
    )


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [(501, [500]), (500, [500]), (499, [499, 1]), (250, [250, 250]), (7, [7] * 71 + [3])],
)
def test_batch_boundaries(run, batch_size, expected):
    code, receiver = run(
        ListServer(counts={"pods": 250}),
        "--resources=pods",
        f"--batch-size={batch_size}",
        "--metric-annotations-allowlist=*=[*]",
    )
    assert code == 0
    assert [len(r.series()) for r in object_requests(receiver)] == expected


def test_pages_follow_limit_and_continue_with_metadata_accept(run):
    server = ListServer(counts={"pods": 23})
    code, receiver = run(server, "--resources=pods", "--page-size=10")
    assert code == 0
    assert [r["params"].get("limit") for r in server.requests] == ["10", "10", "10"]
    assert [bool(r["params"].get("continue")) for r in server.requests] == [False, True, True]
    assert {r["path"] for r in server.requests} == {"/api/v1/pods"}
    assert all(
        r["accept"]
        == "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        for r in server.requests
    )
    assert names(receiver, "kube_pod_labels") == [f"pod-{i:07d}" for i in range(23)]


def test_every_default_kind_is_listed_from_its_api_path(run):
    server = ListServer(counts={"namespaces": 2, "deployments": 1, "ingresses": 1, "cronjobs": 1})
    code, receiver = run(
        server,
        "--resources=namespaces,deployments,ingresses,cronjobs",
        "--metric-annotations-allowlist=ingresses=[*]",
    )
    assert code == 0
    assert [r["path"] for r in server.requests] == [
        "/api/v1/namespaces",
        "/apis/apps/v1/deployments",
        "/apis/networking.k8s.io/v1/ingresses",
        "/apis/batch/v1/cronjobs",
    ]
    metrics = {s["__name__"] for s in receiver.all_series()}
    assert {
        "kube_namespace_labels",
        "kube_deployment_labels",
        "kube_ingress_annotations",
    } <= metrics
    assert "kube_cronjob_labels" in metrics


def test_gone_mid_kind_restarts_the_kind_and_loses_nothing(run, capsys):
    server = ListServer(counts={"pods": 35}, faults=Faults(gone={"pods": 2}))
    code, receiver = run(server, "--resources=pods", "--page-size=10", "--batch-size=4")
    assert code == 0
    continues = [bool(r["params"].get("continue")) for r in server.requests]
    # pages 0, 1, then 410 on page 2, then a fresh start: 0, 1, 2, 3
    assert continues == [False, True, True, False, True, True, True]
    expected = [f"pod-{i:07d}" for i in range(35)]
    assert sorted(set(names(receiver, "kube_pod_labels"))) == expected
    summary = receiver.requests[-1].series()
    restarts = [s for s in summary if s["__name__"] == "kube_backfill_list_restarts_total"]
    assert restarts == [
        {"__name__": "kube_backfill_list_restarts_total", "kind": "pods", "shard": "0"}
    ]
    objects = [s for s in summary if s["__name__"] == "kube_backfill_objects"]
    assert objects == [{"__name__": "kube_backfill_objects", "kind": "pods", "shard": "0"}]
    values = {
        ts.labels[0].value: ts.samples[0].value
        for ts in receiver.requests[-1].write_request().timeseries
        if ts.labels[0].value in {"kube_backfill_objects", "kube_backfill_list_restarts_total"}
    }
    assert values == {"kube_backfill_objects": 35.0, "kube_backfill_list_restarts_total": 1.0}
    assert "continue token expired" in capsys.readouterr().err


def test_api_5xx_and_429_are_retried(run):
    faults = Faults(errors={"pods": [(500, None), (429, "0"), (503, None)]})
    server = ListServer(counts={"pods": 3}, faults=faults)
    code, receiver = run(server, "--resources=pods")
    assert code == 0
    assert len(server.requests) == 4
    assert names(receiver, "kube_pod_labels") == [f"pod-{i:07d}" for i in range(3)]


def test_kind_not_served_fails_the_run_but_others_are_sent(run, capsys):
    server = ListServer(counts={"pods": 2})
    code, receiver = run(server, "--resources=ingresses,pods")
    assert code == 1
    assert names(receiver, "kube_pod_labels") == ["pod-0000000", "pod-0000001"]
    err = capsys.readouterr().err
    assert "LIST ingresses: HTTP 404" in err
    assert "result=failed" in err
    assert "failed_kinds=ingresses" in err


def summary_values(receiver, *names):
    return {
        (ts.labels[0].value, tuple((lb.name, lb.value) for lb in ts.labels[1:])): ts.samples[
            0
        ].value
        for ts in receiver.requests[-1].write_request().timeseries
        if ts.labels[0].value in names
    }


def refusing(*pods):
    """A receiver that refuses (400) every request holding one of `pods`, like Prometheus or
    Mimir refusing a whole request for one bad series."""

    def refuse(series):
        bad = [s["pod"] for s in series if s.get("pod") in pods]
        return f"err: series pod={bad[0]} is invalid" if bad else ""

    return refuse


def test_refused_series_are_isolated_by_bisecting_and_counted_exactly(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    bad = ("pod-0000005", "pod-0000006", "pod-0000017")
    receiver = CaptureReceiver(refuse=refusing(*bad))
    with serving(ListServer(counts={"pods": 20})) as url, capturing(receiver):
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        code = main(
            [
                f"--kubeconfig={kubeconfig}",
                f"--remote-write-url={receiver.url}",
                "--resources=pods",
                "--batch-size=8",
            ]
        )
    assert code == 1
    accepted = [r for r in receiver.requests[:-1] if not refusing(*bad)(r.series())]
    delivered = sorted(s["pod"] for r in accepted for s in r.series())
    assert delivered == sorted(f"pod-{i:07d}" for i in range(20) if f"pod-{i:07d}" not in bad)
    values = summary_values(
        receiver, "kube_backfill_refused_series_total", "kube_backfill_undelivered_series_total"
    )
    assert values == {
        ("kube_backfill_refused_series_total", (("kind", "pods"), ("shard", "0"))): 3.0
    }
    assert not [
        s
        for s in receiver.requests[-1].series()
        if s["__name__"] == "kube_backfill_last_success_timestamp_seconds"
    ]
    err = capsys.readouterr().err
    assert err.count("series refused by the receiver") == 1
    first = next(line for line in err.splitlines() if "series refused by the receiver" in line)
    assert 'series="__name__=kube_pod_labels,namespace=ns-5,pod=pod-0000005,uid=' in first
    assert 'receiver_message="err: series pod=pod-0000005 is invalid"' in first
    assert "refused_series=3" in err.splitlines()[-1]


def test_other_4xx_is_not_bisected(run):
    code, receiver = run(
        ListServer(counts={"pods": 10}), "--resources=pods", "--batch-size=4", script=[(403, {})]
    )
    assert code == 1
    assert [len(r.series()) for r in object_requests(receiver)] == [4, 4, 2]
    values = summary_values(receiver, "kube_backfill_undelivered_series_total")
    assert values == {
        ("kube_backfill_undelivered_series_total", (("kind", "pods"), ("shard", "0"))): 4.0
    }


def test_dead_receiver_ends_the_run_with_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with serving(ListServer(counts={"pods": 5})) as url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        code = main(
            [
                f"--kubeconfig={kubeconfig}",
                "--remote-write-url=http://127.0.0.1:9/api/v1/write",
                "--resources=pods",
                "--max-retry-seconds=0",
            ]
        )
    assert code == 1
    assert "receiver unavailable" in capsys.readouterr().err


def test_summary_series_carry_external_labels_and_success_timestamp(run):
    code, receiver = run(
        ListServer(counts={"pods": 3, "nodes": 1}),
        "--resources=pods,nodes",
        "--external-label=cluster=eu1",
        "--metric-prefix=k8s",
    )
    assert code == 0
    summary = receiver.requests[-1].series()
    assert {s["__name__"] for s in summary} >= {
        "k8s_backfill_objects",
        "k8s_backfill_series",
        "k8s_backfill_duration_seconds",
        "k8s_backfill_last_success_timestamp_seconds",
        "k8s_backfill_batches_total",
    }
    assert all(s["cluster"] == "eu1" for s in summary)
    assert {"__name__": "k8s_backfill_series", "cluster": "eu1", "kind": "nodes", "shard": "0"} in (
        summary
    )
    assert any(s["__name__"] == "k8s_node_labels" for s in receiver.all_series())


def test_full_list_is_accepted_when_metadata_only_is_not_served(run):
    class FullOnly(ListServer):
        def answer(self, path, query, accept):
            return super().answer(path, query, "application/json")

    code, receiver = run(FullOnly(counts={"pods": 2}), "--resources=pods")
    assert code == 0
    assert names(receiver, "kube_pod_labels") == ["pod-0000000", "pod-0000001"]


def test_dry_run_prints_prometheus_text(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    objects = {
        "namespaces": [{"name": "shop", "uid": "u1", "labels": {"team": "core", "empty": ""}}],
        "pods": [
            {"name": "a", "namespace": "shop", "uid": "u2", "labels": {"app": 'say "hi"'}},
            {"name": "b", "namespace": "shop", "uid": "u3", "annotations": {"note": "x\ny"}},
        ],
    }
    with serving(ListServer(objects=objects)) as url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        code = main(
            [
                f"--kubeconfig={kubeconfig}",
                "--dry-run",
                "--resources=namespaces,pods",
                "--metric-annotations-allowlist=pods=[note]",
            ]
        )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    timestamp = lines[2].rsplit(" ", 1)[1]
    objects_part = [line.rsplit(" ", 1)[0] if not line.startswith("#") else line for line in lines]
    assert objects_part[:11] == [
        "# HELP kube_namespace_labels Kubernetes labels converted to Prometheus labels (flowkeeper-backfill).",  # noqa: E501
        "# TYPE kube_namespace_labels gauge",
        'kube_namespace_labels{label_team="core",namespace="shop"} 1',
        "# HELP kube_pod_labels Kubernetes labels converted to Prometheus labels (flowkeeper-backfill).",  # noqa: E501
        "# TYPE kube_pod_labels gauge",
        'kube_pod_labels{label_app="say \\"hi\\"",namespace="shop",pod="a",uid="u2"} 1',
        'kube_pod_labels{namespace="shop",pod="b",uid="u3"} 1',
        "# HELP kube_pod_annotations Kubernetes annotations converted to Prometheus labels (flowkeeper-backfill).",  # noqa: E501
        "# TYPE kube_pod_annotations gauge",
        'kube_pod_annotations{namespace="shop",pod="a",uid="u2"} 1',
        'kube_pod_annotations{annotation_note="x\\ny",namespace="shop",pod="b",uid="u3"} 1',
    ]
    assert int(timestamp) > 1_600_000_000_000
    assert "# TYPE kube_backfill_objects gauge" in lines
    assert 'kube_backfill_objects{kind="pods",shard="0"} 2' in [
        line.rsplit(" ", 1)[0] for line in lines
    ]


def test_json_log_lines_are_one_object_each(run, capsys):
    code, _ = run(ListServer(counts={"pods": 2}), "--resources=pods", "--log-format=json")
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    done = [e for e in events if e["msg"] == "kind done"]
    assert done[0]["kind"] == "pods"
    assert done[0]["objects"] == 2
    assert done[0]["series"] == 2
    assert done[0]["batches"] == 1
    assert "seconds" in done[0]
    assert events[-1]["msg"] == "backfill finished"
    assert events[-1]["result"] == "success"


def test_forbidden_kind_is_skipped_others_complete_exit_1_naming_it(run, capsys):
    server = ListServer(
        counts={"pods": 3, "nodes": 2}, faults=Faults(errors={"nodes": [(403, None)]})
    )
    code, receiver = run(server, "--resources=nodes,pods")
    assert code == 1
    assert names(receiver, "kube_pod_labels") == [f"pod-{i:07d}" for i in range(3)]
    assert names(receiver, "kube_node_labels") == []
    assert receiver.summary_value("kube_backfill_list_failures_total", kind="nodes") == 1.0
    err = capsys.readouterr().err
    assert "level=warning" in next(line for line in err.splitlines() if "kind skipped" in line)
    assert "LIST nodes: HTTP 403" in err
    assert "grant `list` on nodes" in err
    assert "failed_kinds=nodes" in err.splitlines()[-1]


def test_429_with_retry_after_and_500_on_later_pages_are_retried(run):
    faults = Faults(errors={"pods": [(429, "1"), (500, None)]}, after={"pods": 2})
    server = ListServer(counts={"pods": 25}, faults=faults)
    code, receiver = run(server, "--resources=pods", "--page-size=10")
    assert code == 0
    continues = [bool(r["params"].get("continue")) for r in server.requests]
    assert continues == [False, True, True, True, True]
    assert names(receiver, "kube_pod_labels") == [f"pod-{i:07d}" for i in range(25)]
    assert receiver.summary_value("kube_backfill_retries_total", stage="list", reason="429") == 1
    assert receiver.summary_value("kube_backfill_retries_total", stage="list", reason="5xx") == 1


def test_page_that_never_answers_times_out_and_is_retried(run):
    faults = Faults(delays={"pods": [0.0, 5.0]})
    server = ListServer(counts={"pods": 15}, faults=faults)
    code, receiver = run(server, "--resources=pods", "--page-size=10", "--timeout=0.5")
    assert code == 0
    assert len(server.requests) == 3  # page 1, page 2 (timed out), page 2 again
    assert names(receiver, "kube_pod_labels") == [f"pod-{i:07d}" for i in range(15)]
    assert (
        receiver.summary_value("kube_backfill_retries_total", stage="list", reason="timeout") == 1
    )


def test_every_request_is_a_list_of_a_collection_the_only_verb_the_role_grants(run):
    # The backfill ClusterRole grants RBAC_VERBS (tests/chart/test_rbac.py): the backfill must
    # need no other verb. A LIST is a GET of a collection path, without `watch`.
    from flowkeeper.backfill.kinds import KINDS
    from flowkeeper.backfill.lister import RBAC_VERBS

    server = ListServer(counts=dict.fromkeys(API_PATHS, 12))
    code, _ = run(server, "--page-size=10", "--max-retry-seconds=0")
    assert code == 0
    collections = {kind.list_path for kind in KINDS.values()}
    assert server.requests
    assert {r["path"] for r in server.requests} <= collections
    assert not [r for r in server.requests if "watch" in r["params"]]
    assert all("limit" in r["params"] for r in server.requests)
    assert RBAC_VERBS == ("list",)
