"""``kubectl apply --server-side`` against the emulator, with every kubectl present here.

``--validate=false``: schema validation is not what these tests are about (it needs the
OpenAPI documents, tested in their own module).
"""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator.conftest import FC
from tests.emulator.kubectl_cli import Kubectl, every_version, versions

SSA = ("apply", "--server-side", "--validate=false", "-f", "-")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def manifest(image: str = "registry.example.com/collector:1.0", **spec: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "flows.flowkeeper.dev/v1alpha1",
            "kind": "FlowCollector",
            "metadata": {"name": "fc", "namespace": "ns"},
            "spec": {
                "image": image,
                "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
                "nats": {"url": "nats://nats:4222"},
                **spec,
            },
        }
    )


def managers(obj: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {
        (e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
        for e in obj["metadata"]["managedFields"]
    }


@pytest.mark.parametrize("binary", every_version())
async def test_server_side_apply_conflicts_force_and_pruning(binary, k8s, http, tmp_path: Path):
    assert k8s.kubeconfig is not None
    kubectl = Kubectl(binary, k8s.kubeconfig, tmp_path)
    applied = await kubectl(*SSA, stdin=manifest(nodeSelector={"pool": "edge"}))
    assert applied.code == 0, applied.err
    assert "flowcollector.flows.flowkeeper.dev/fc serverside-applied" in applied.out
    created = k8s.object("flowcollectors", "ns", "fc")
    assert set(managers(created)) == {("kubectl", "Apply", "")}
    # The operator writes the status with a merge patch: both owners coexist.
    status = {"status": {"observedGeneration": 1, "nodes": "0/0"}}
    await http.patch(f"{FC}/fc/status?fieldManager=flowkeeper", status)

    before = k8s.object("flowcollectors", "ns", "fc")
    changed = manifest("registry.example.com/collector:2.0")
    refused = await kubectl(*SSA, "--field-manager=ci", stdin=changed)
    assert refused.code == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.image' in refused.err
    assert k8s.object("flowcollectors", "ns", "fc") is before  # nothing written
    forced = await kubectl(*SSA, "--field-manager=ci", "--force-conflicts", stdin=changed)
    assert forced.code == 0, forced.err
    live = k8s.object("flowcollectors", "ns", "fc")
    assert live["spec"]["image"] == "registry.example.com/collector:2.0"
    assert live["metadata"]["generation"] == 2
    assert live["status"] == status["status"]
    owners = managers(live)
    assert "f:image" not in owners["kubectl", "Apply", ""]["f:spec"]
    assert owners["ci", "Apply", ""]["f:spec"]["f:image"] == {}
    assert owners["flowkeeper", "Update", "status"] == {
        "f:status": {".": {}, "f:nodes": {}, "f:observedGeneration": {}}
    }

    # kubectl stops applying the node selector it alone owned: it goes; nothing else changes.
    # (It applies ci's image now, so it co-owns it instead of conflicting.)
    dropped = await kubectl(*SSA, stdin=manifest("registry.example.com/collector:2.0"))
    assert dropped.code == 0, dropped.err
    live = k8s.object("flowcollectors", "ns", "fc")
    assert "nodeSelector" not in live["spec"]
    assert live["metadata"]["generation"] == 3
    assert live["status"] == status["status"]
    again = await kubectl(*SSA, stdin=manifest("registry.example.com/collector:2.0"))
    assert again.code == 0, again.err
    assert k8s.object("flowcollectors", "ns", "fc") is live  # a no-op: the same stored object


@pytest.mark.parametrize("binary", versions())
async def test_client_side_apply_moves_to_server_side_apply(binary, k8s, tmp_path: Path):
    assert k8s.kubeconfig is not None
    kubectl = Kubectl(binary, k8s.kubeconfig, tmp_path)
    first = await kubectl("apply", "--validate=false", "-f", "-", stdin=manifest())
    assert first.code == 0, first.err
    created = k8s.object("flowcollectors", "ns", "fc")
    assert set(managers(created)) == {("kubectl-client-side-apply", "Update", "")}
    # The image changes, owned by the client-side apply: no conflict, as the field is in
    # its last-applied-configuration, which now holds the server-side configuration.
    changed = manifest("registry.example.com/collector:2.0")
    moved = await kubectl(*SSA, stdin=changed)
    assert moved.code == 0, moved.err
    live = k8s.object("flowcollectors", "ns", "fc")
    assert live["spec"]["image"] == "registry.example.com/collector:2.0"
    assert json.loads(live["metadata"]["annotations"][LAST_APPLIED]) == yaml.safe_load(changed)
    assert managers(live)["kubectl", "Apply", ""]["f:spec"]["f:image"] == {}


@pytest.mark.parametrize("binary", versions())
async def test_server_side_apply_of_a_built_in_kind(binary, k8s, tmp_path: Path):
    assert k8s.kubeconfig is not None
    kubectl = Kubectl(binary, k8s.kubeconfig, tmp_path)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {"selector": {"app": "x"}, "ports": [{"name": "flow", "port": 2055}]},
    }
    applied = await kubectl(*SSA, stdin=json.dumps(service))
    assert applied.code == 0, applied.err
    live = k8s.object("services", "ns", "s")
    assert live["spec"]["ports"][0]["protocol"] == "TCP"  # defaulted, and the key's default
    port = managers(live)["kubectl", "Apply", ""]["f:spec"]["f:ports"]
    assert port == {'k:{"port":2055,"protocol":"TCP"}': {".": {}, "f:name": {}, "f:port": {}}}
    service["spec"]["ports"].append({"name": "ipfix", "port": 4739, "protocol": "UDP"})
    # kubectl diff --server-side and --dry-run=server apply without storing anything.
    diff = await kubectl("diff", "--server-side", "-f", "-", stdin=json.dumps(service))
    assert diff.code == 1, diff.err  # 1: differences found
    assert "+  - name: ipfix" in diff.out
    dry = await kubectl(*SSA, "--dry-run=server", stdin=json.dumps(service))
    assert dry.code == 0, dry.err
    assert "serverside-applied (server dry run)" in dry.out
    assert len(k8s.object("services", "ns", "s")["spec"]["ports"]) == 1
    added = await kubectl(*SSA, stdin=json.dumps(service))
    assert added.code == 0, added.err
    ports = k8s.object("services", "ns", "s")["spec"]["ports"]
    assert [(p["port"], p["protocol"]) for p in ports] == [(2055, "TCP"), (4739, "UDP")]
