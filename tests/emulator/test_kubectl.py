"""The emulator read by real kubectl (every version here): discovery, Tables, protobuf bodies."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import cluster, kubectl
from e2e.emulator import Background, running
from e2e.emulator import request as call

SAMPLE = Path(__file__).parents[2] / "e2e" / "samples" / "flowcollector.yaml"
VERSIONS = [
    pytest.param(k, id=str(k), marks=pytest.mark.skipif(k.path is None, reason=k.missing))
    for k in kubectl.binaries()
]


def condition(kind: str, status: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "reason": "RolloutComplete",
        "message": "3/3 collector pods ready",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


FC_STATUS = {
    "conditions": [condition("Progressing", "False"), condition("Ready", "True")],
    "nodes": "3/3",
    "serviceAddresses": ["203.0.113.10", "198.51.100.7"],
}


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    """One emulator for the module, holding a namespace and a Ready FlowCollector."""
    kubeconfig = tmp_path_factory.mktemp("kubectl") / "kubeconfig"
    with running(kubeconfig=kubeconfig) as background:
        url = background.emulator.url
        assert call(url, "POST", cluster.NAMESPACES, {"metadata": {"name": "netflow"}})[0] == 201
        fc = yaml.safe_load(SAMPLE.read_text())
        path = cluster.FC.format(ns="netflow")
        assert call(url, "POST", path, fc)[0] == 201
        status = call(url, "PUT", f"{path}/edge/status", {**fc, "status": FC_STATUS})
        assert status[0] == 200, status
        yield background


def run(k: kubectl.Kubectl, emulated: Background, *args: str) -> Any:
    assert k.path is not None
    assert emulated.emulator.kubeconfig is not None
    return kubectl.run(k.path, emulated.emulator.kubeconfig, *args)


@pytest.mark.parametrize("k", VERSIONS)
def test_built_in_short_names_resolve(k: kubectl.Kubectl, emulated: Background) -> None:
    done = run(k, emulated, "get", "ns")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    header, row = done.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "AGE"]
    assert row.split()[:2] == ["netflow", "Active"]


@pytest.mark.parametrize("k", VERSIONS)
def test_get_fc_prints_the_crd_columns_without_warnings(
    k: kubectl.Kubectl, emulated: Background
) -> None:
    done = run(k, emulated, "get", "fc", "-n", "netflow")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "short name fc could also match flowcollectors/status"
    header, row = done.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "NODES", "ADDRESS", "AGE"]
    name, ready, nodes, address, age = row.split()
    assert (name, ready, nodes, address) == ("edge", "True", "3/3", "203.0.113.10")
    assert age.endswith("s")


@pytest.mark.parametrize("k", VERSIONS)
def test_api_resources_lists_short_names_not_subresources(
    k: kubectl.Kubectl, emulated: Background
) -> None:
    done = run(k, emulated, "api-resources")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = {tuple(line.split()[:2]) for line in done.stdout.splitlines()[1:]}
    for expected in [("namespaces", "ns"), ("daemonsets", "ds"), ("flowcollectors", "fc")]:
        assert expected in rows
    assert ("customresourcedefinitions", "crd,crds") in rows
    assert not any("/" in name for name, _ in rows)


@pytest.mark.parametrize("k", VERSIONS)
def test_typed_commands_write_namespaces_configmaps_secrets(
    k: kubectl.Kubectl, emulated: Background
) -> None:
    """kubectl 1.32+ encodes these built-in kinds as protobuf in its typed commands; the
    emulator decodes them (older versions send JSON)."""
    suffix = k.version.replace(".", "-")
    ns = f"typed-{suffix}"
    for args in (
        ["create", "namespace", ns],
        ["create", "configmap", "settings", "-n", ns, "--from-literal=a=b"],
        ["create", "secret", "generic", "token", "-n", ns, "--from-literal=pw=hunter2"],
    ):
        done = run(k, emulated, *args)
        assert done.returncode == 0, done.stderr
    secret = emulated.emulator.object("secrets", ns, "token")
    assert secret is not None
    assert (secret["type"], secret["data"]) == ("Opaque", {"pw": "aHVudGVyMg=="})
    configmap = emulated.emulator.object("configmaps", ns, "settings")
    assert configmap is not None
    assert configmap["data"] == {"a": "b"}
    done = run(k, emulated, "delete", "configmap", "settings", "-n", ns)  # DeleteOptions
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("k", VERSIONS)
def test_other_protobuf_writes_are_refused_with_415(
    k: kubectl.Kubectl, emulated: Background
) -> None:
    """A kind the emulator does not decode from protobuf (a Deployment from `kubectl create
    deployment`, 1.32+) is 415, not 400, and kubectl does not fall back to JSON."""
    name = f"web-{k.version.replace('.', '-')}"
    done = run(k, emulated, "create", "deployment", name, "-n", "netflow", "--image=nginx:1.27")
    if k.version >= "1.32":
        assert done.returncode == 1
        assert "the body of the request was in an unknown format" in done.stderr
    else:
        assert done.returncode == 0, done.stderr


def test_table_of_a_custom_resource(emulated: Background) -> None:
    url = emulated.emulator.url
    path = cluster.FC.format(ns="netflow")
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, table = call(url, "GET", path, Accept=accept)
    assert code == 200
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]]
    assert names == [
        ("Name", "string", "name"),
        ("Ready", "string", ""),
        ("Nodes", "string", ""),
        ("Address", "string", ""),
        ("Age", "date", ""),
    ]
    assert table["columnDefinitions"][1]["description"] == "Status of the Ready condition."
    [row] = table["rows"]
    assert row["cells"][:4] == ["edge", "True", "3/3", "203.0.113.10"]
    assert row["object"]["kind"] == "PartialObjectMetadata"  # includeObject=Metadata by default
    assert row["object"]["metadata"]["name"] == "edge"
    assert table["metadata"]["resourceVersion"]


@pytest.mark.parametrize(
    ("include", "kind"), [("Object", "FlowCollector"), ("Metadata", "PartialObjectMetadata")]
)
def test_table_include_object(emulated: Background, include: str, kind: str) -> None:
    path = f"{cluster.FC.format(ns='netflow')}/edge?includeObject={include}"
    accept = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
    code, table = call(emulated.emulator.url, "GET", path, Accept=accept)
    assert code == 200
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["kind"] == kind


def test_table_include_object_none_and_invalid(emulated: Background) -> None:
    base = cluster.FC.format(ns="netflow")
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
    code, table = call(emulated.emulator.url, "GET", f"{base}?includeObject=None", Accept=accept)
    assert code == 200
    assert "object" not in table["rows"][0]
    code, status = call(emulated.emulator.url, "GET", f"{base}?includeObject=All", Accept=accept)
    assert (code, status["reason"]) == (400, "BadRequest")


def test_table_of_built_in_kinds(emulated: Background) -> None:
    url = emulated.emulator.url
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
    _, table = call(url, "GET", cluster.NAMESPACES, Accept=accept)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    _, table = call(url, "GET", "/apis/coordination.k8s.io/v1/leases", Accept=accept)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Holder", "Age"]
    _, table = call(url, "GET", "/apis/apps/v1/replicasets", Accept=accept)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]  # not printed yet


def test_partial_object_metadata_and_unacceptable(emulated: Background) -> None:
    url = emulated.emulator.url
    accept = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
    code, answer = call(url, "GET", cluster.NAMESPACES, Accept=accept)  # a LIST asks for ...List
    assert code == 406
    assert answer["reason"] == "NotAcceptable"
    code, one = call(url, "GET", f"{cluster.NAMESPACES}/netflow", Accept=accept)
    assert code == 200
    assert one["kind"] == "PartialObjectMetadata"
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    code, listed = call(url, "GET", cluster.NAMESPACES, Accept=accept)
    assert code == 200
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["items"][0]["metadata"]["name"] == "netflow"
    assert "status" not in listed["items"][0]


def test_protobuf_body_is_415_with_a_status(emulated: Background) -> None:
    """A protobuf body that does not decode (truncated here) is 415 with a Status."""
    request = urllib.request.Request(
        emulated.emulator.url + cluster.CONFIGMAPS.format(ns="netflow"),
        data=b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\xff\xfe",
        method="POST",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    status = json.loads(raised.value.read())
    assert raised.value.code == 415
    assert (status["kind"], status["reason"], status["code"]) == (
        "Status",
        "UnsupportedMediaType",
        415,
    )
    assert status["message"] == (
        "the body of the request was in an unknown format - accepted media types include:"
        " application/json, application/yaml"
    )


def test_yaml_body_is_decoded(emulated: Background) -> None:
    request = urllib.request.Request(
        emulated.emulator.url + cluster.CONFIGMAPS.format(ns="netflow"),
        data=b"metadata: {name: from-yaml}\ndata: {a: b}\n",
        method="POST",
        headers={"Content-Type": "application/yaml"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        assert json.loads(response.read())["data"] == {"a": "b"}


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
def test_aggregated_discovery(emulated: Background, version: str) -> None:
    accept = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
    request = urllib.request.Request(
        emulated.emulator.url + "/apis", headers={"Accept": f"{accept},application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == accept
        body = json.loads(response.read())
    assert body["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    groups = {item["metadata"]["name"]: item for item in body["items"]}
    [fc] = groups["flows.flowkeeper.dev"]["versions"][0]["resources"]
    assert (fc["resource"], fc["shortNames"], fc["categories"]) == (
        "flowcollectors",
        ["fc"],
        ["flowkeeper"],
    )
    assert fc["subresources"][0]["subresource"] == "status"
    assert "shortNames" not in fc["subresources"][0]


def test_legacy_discovery_has_no_short_names_on_subresources(emulated: Background) -> None:
    code, listed = call(emulated.emulator.url, "GET", "/apis/apps/v1")
    assert code == 200
    by_name = {r["name"]: r for r in listed["resources"]}
    assert by_name["daemonsets"]["shortNames"] == ["ds"]
    assert by_name["daemonsets"]["categories"] == ["all"]
    assert "shortNames" not in by_name["daemonsets/status"]
    assert by_name["deployments/scale"]["kind"] == "Scale"


def test_event_field_selectors(emulated: Background, tmp_path: Path) -> None:
    url = emulated.emulator.url
    events = "/api/v1/namespaces/netflow/events"
    for name, kind in [("a", "FlowCollector"), ("b", "DaemonSet")]:
        event = {"metadata": {"name": name}, "involvedObject": {"kind": kind, "name": "edge"}}
        assert call(url, "POST", events, event)[0] == 201
    selector = "involvedObject.kind%3DFlowCollector,involvedObject.name%3Dedge"
    code, listed = call(url, "GET", f"{events}?fieldSelector={selector}")
    assert code == 200
    assert [e["metadata"]["name"] for e in listed["items"]] == ["a"]
    code, status = call(
        url, "GET", f"{cluster.CONFIGMAPS.format(ns='netflow')}?fieldSelector=reason%3Dx"
    )
    assert code == 400
    assert "not a known field selector" in status["message"]


def test_version_is_the_release_the_emulator_follows(emulated: Background) -> None:
    code, version = call(emulated.emulator.url, "GET", "/version")
    assert code == 200
    assert (version["major"], version["minor"]) == ("1", "33")
    assert version["gitVersion"].startswith("v1.33.0")


@pytest.mark.parametrize("k", VERSIONS)
def test_get_watch_prints_rows(k: kubectl.Kubectl, emulated: Background) -> None:
    """`kubectl get fc -w` reads Tables from the WATCH stream (one row per event)."""
    done = run(k, emulated, "get", "fc", "-n", "netflow", "-w", "--request-timeout=1s")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "NODES", "ADDRESS", "AGE"], done.stderr
    assert lines[1].split()[:4] == ["edge", "True", "3/3", "203.0.113.10"]


def test_watch_events_carry_tables(emulated: Background) -> None:
    path = f"{cluster.FC.format(ns='netflow')}?watch=true&timeoutSeconds=1&resourceVersion=0"
    request = urllib.request.Request(
        emulated.emulator.url + path,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        events = [json.loads(line) for line in response.read().splitlines() if line.strip()]
    assert events, "no event"
    table = events[0]["object"]
    assert (events[0]["type"], table["kind"]) == ("ADDED", "Table")
    assert table["rows"][0]["cells"][:2] == ["edge", "True"]
