"""Hostile metadata never crashes a run, and every series sent is valid remote write: checked
by decoding what the CLI sent, and by what real Prometheus and VictoriaMetrics stored."""

import json
import re

import pytest
from flowkeeper.backfill.cli import main

from e2e.local import write_kubeconfig
from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.listserver import ListServer, serving

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
NO_METADATA = object()
NULL_METADATA = object()
BIG = {f"key-{i:03d}.example.com/name": f"value-{i}" for i in range(300)}
COLLIDING = {"a.b": "dot", "a-b": "dash", "a/b": "slash", "a_b": "underscore", "A.b": "upper"}
DUPLICATE = {"name": "twice", "namespace": "h", "uid": "u-twice", "labels": {"x": "1"}}
PODS = [
    {"name": "many-labels", "namespace": "h", "uid": "u-many", "labels": BIG},
    {"name": "long-value", "namespace": "h", "uid": "u-long", "labels": {"big": "v" * 65536}},
    {"name": "colliding", "namespace": "h", "uid": "u-coll", "labels": COLLIDING},
    DUPLICATE,
    {
        "name": "non-ascii",
        "namespace": "h",
        "uid": "u-utf8",
        "labels": {"ключ": "значение", "emoji": "🚀 launch", "ü-key": "é" * 1500},
    },
    {
        "name": "quotes",
        "namespace": "h",
        "uid": "u-quotes",
        "labels": {"text": 'say "hi"\nthen\\leave', "tab": "a\tb"},
    },
    {"name": "surrogate", "namespace": "h", "uid": "u-sur", "labels": {"bad": "a\ud800b"}},
    NO_METADATA,
    NULL_METADATA,
    {"name": "null-labels", "namespace": "h", "uid": "u-null", "labels": None},
    {"namespace": "h", "uid": "u-noname", "labels": {"x": "1"}},
    DUPLICATE,  # the same object again, on another page
]


# Every object with a name, once (the duplicate sends the same series twice).
SENT = sorted({pod["name"] for pod in PODS if isinstance(pod, dict) and "name" in pod})


class HostileServer(ListServer):
    @staticmethod
    def _wrap(metadata, partial):
        if metadata is NO_METADATA:
            return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
        if metadata is NULL_METADATA:
            return {"kind": "PartialObjectMetadata", "metadata": None}
        return ListServer._wrap(metadata, partial)


def run_cli(tmp_path, url, *extra):
    with serving(HostileServer(objects={"pods": PODS})) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api)
        return main(
            [
                f"--kubeconfig={kubeconfig}",
                f"--remote-write-url={url}",
                "--resources=pods",
                "--page-size=3",
                "--batch-size=2",
                "--metric-annotations-allowlist=*=[*]",
                *extra,
            ]
        )


def assert_valid_remote_write(request):
    for series in request.write_request().timeseries:
        names = [label.name for label in series.labels]
        assert names == sorted(names)
        assert len(names) == len(set(names))
        assert "__name__" in names
        for label in series.labels:
            assert LABEL_NAME.fullmatch(label.name), label.name
            assert label.value
            assert len(label.value.encode()) <= 2048
        assert len(series.samples) == 1
        assert series.samples[0].timestamp > 1_600_000_000_000


def test_hostile_metadata_is_sent_as_valid_remote_write(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with capturing(CaptureReceiver()) as receiver:
        code = run_cli(tmp_path, receiver.url)
    assert code == 0
    for request in receiver.requests:
        assert_valid_remote_write(request)
    labels = {}
    for series in receiver.all_series():
        if series["__name__"] == "kube_pod_labels":
            labels.setdefault(series["pod"], []).append(series)
    assert sorted(labels) == SENT
    assert len(labels["twice"]) == 2
    assert labels["twice"][0] == labels["twice"][1]
    assert len(labels["many-labels"][0]) == 300 + 4
    assert len(labels["long-value"][0]["label_big"]) == 2048
    assert labels["colliding"][0] == {
        "__name__": "kube_pod_labels",
        "namespace": "h",
        "pod": "colliding",
        "uid": "u-coll",
        # sorted keys: A.b, a-b, a.b, a/b, a_b
        "label_a_b_conflict1": "upper",
        "label_a_b_conflict2": "dash",
        "label_a_b_conflict3": "dot",
        "label_a_b_conflict4": "slash",
        "label_a_b_conflict5": "underscore",
    }
    utf8 = labels["non-ascii"][0]
    assert utf8["label_____"] == "значение"
    assert utf8["label_emoji"] == "🚀 launch"
    assert utf8["label___key"] == "é" * 1024  # 2048 bytes, cut on a character boundary
    assert labels["quotes"][0]["label_text"] == 'say "hi"\nthen\\leave'
    assert labels["surrogate"][0]["label_bad"] == "a\ufffdb"
    summary = {
        (s["__name__"], s.get("kind", ""), s.get("reason", "")): s
        for s in receiver.requests[-1].series()
    }
    assert ("kube_backfill_skipped_objects_total", "pods", "") in summary
    assert ("kube_backfill_altered_values_total", "pods", "truncated") in summary
    assert ("kube_backfill_altered_values_total", "pods", "invalid_utf8") in summary
    err = capsys.readouterr().err
    assert "Traceback" not in err
    events = [line for line in err.splitlines() if "values altered" in line]
    assert len(events) == 2  # once per reason


@pytest.mark.receivers
@pytest.mark.parametrize("name", ["prometheus", "victoriametrics"])
def test_hostile_metadata_lands_in_real_receivers(name, request, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    receiver = request.getfixturevalue(name)
    run = f"hostile-{name}"
    # VictoriaMetrics keeps only the first 30 labels of a series by default
    # (-maxLabelsPerTimeseries), which would cut the identity labels: cap them ourselves.
    code = run_cli(
        tmp_path, receiver.write_url, f"--external-label=run={run}", "--max-labels-per-series=30"
    )
    assert code == 0
    receiver.flush()
    found = receiver.series(f'kube_pod_labels{{run="{run}"}}')
    by_pod = {series["pod"]: series for series in found}
    assert sorted(by_pod) == SENT
    many = by_pod["many-labels"]
    assert len(many) == 30
    assert (many["namespace"], many["uid"], many["run"]) == ("h", "u-many", run)
    assert by_pod["quotes"]["label_text"] == 'say "hi"\nthen\\leave'
    assert by_pod["non-ascii"]["label_____"] == "значение"
    assert by_pod["surrogate"]["label_bad"] == "a\ufffdb"
    limited = receiver.query(f'kube_backfill_limited_series_total{{run="{run}"}}')
    assert [float(item["value"][1]) for item in limited] == [1.0]  # its labels series


def test_lone_surrogate_arrives_escaped_in_the_json():
    # The list server really sends the JSON escape, as an API server would.
    assert '"a\\ud800b"' in json.dumps({"bad": "a\ud800b"})
