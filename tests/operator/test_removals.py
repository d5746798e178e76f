"""Defect 2: every optional field set, then removed from the spec, disappears from the child.

The operator applies with a three-way merge against what it last applied (the
``flows.flowkeeper.dev/last-applied`` annotation on each child), so a field it set and no
longer wants is removed, while fields the server defaulted stay.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest

from e2e.cluster import eventually
from tests.operator.harness import (
    children_of,
    container,
    create_fc,
    observed,
    patch_spec,
    pod,
    sample,
    settled,
)

Kids = dict[str, dict[str, Any] | None]
SYSCTL = "net.ipv4.ip_unprivileged_port_start"
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"


def config(kids: Kids) -> dict[str, Any]:
    assert kids["configmap"] is not None
    return dict(json.loads(kids["configmap"]["data"]["config.json"]))


def sysctls(kids: Kids) -> list[str]:
    return [s["name"] for s in pod(kids["daemonset"])["securityContext"].get("sysctls", [])]


def privileged(spec: dict[str, Any]) -> None:
    spec["listeners"] = [{"name": "netflow", "protocol": "netflow", "port": 995}]


def host_network_privileged(spec: dict[str, Any]) -> None:
    privileged(spec)
    spec["hostNetwork"] = True


# id -> (change to the full sample before creation, spec merge patch, check on the children:
# first with the field set, then with it removed)
CASES: dict[str, tuple[Callable[[dict[str, Any]], None], dict[str, Any], Callable[[Kids], Any]]] = {
    "service-annotation": (
        lambda spec: None,
        {"service": {"annotations": {LB_ANNOTATION: None}}},
        lambda kids: LB_ANNOTATION in (kids["service"] or {})["metadata"]["annotations"],
    ),
    "privileged-listener-sysctl": (
        privileged,
        {"listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}]},
        lambda kids: SYSCTL in sysctls(kids),
    ),
    "privileged-listener-capability": (
        privileged,
        {"listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}]},
        lambda kids: "add" in container(kids["daemonset"])["securityContext"]["capabilities"],
    ),
    "host-network-drops-pod-sysctl": (
        privileged,
        {"hostNetwork": True},
        lambda kids: SYSCTL in sysctls(kids),
    ),
    "host-network-off-drops-dns-policy": (
        host_network_privileged,
        {"hostNetwork": False},
        lambda kids: pod(kids["daemonset"]).get("dnsPolicy") == "ClusterFirstWithHostNet",
    ),
    "host-network-off-drops-host-ports": (
        host_network_privileged,
        {"hostNetwork": False},
        lambda kids: any("hostPort" in p for p in container(kids["daemonset"])["ports"]),
    ),
    "resources": (
        lambda spec: None,
        {"resources": None},
        lambda kids: bool(container(kids["daemonset"]).get("resources")),  # the server keeps {}
    ),
    "resource-limit": (
        lambda spec: None,
        {"resources": {"limits": {"memory": None}}},
        lambda kids: "memory" in container(kids["daemonset"])["resources"]["limits"],
    ),
    "node-selector": (
        lambda spec: None,
        {"nodeSelector": None},
        lambda kids: "nodeSelector" in pod(kids["daemonset"]),
    ),
    "tolerations": (
        lambda spec: None,
        {"tolerations": None},
        lambda kids: "tolerations" in pod(kids["daemonset"]),
    ),
    "affinity": (
        lambda spec: None,
        {"affinity": None},
        lambda kids: "affinity" in pod(kids["daemonset"]),
    ),
    "priority-class": (
        lambda spec: None,
        {"priorityClassName": None},
        lambda kids: "priorityClassName" in pod(kids["daemonset"]),
    ),
    "load-balancer-ip": (
        lambda spec: None,
        {"service": {"loadBalancerIP": None}},
        lambda kids: "loadBalancerIP" in (kids["service"] or {})["spec"],
    ),
    "external-traffic-policy": (
        lambda spec: spec["service"].pop("loadBalancerIP"),
        {"service": {"type": "ClusterIP"}},
        lambda kids: "externalTrafficPolicy" in (kids["service"] or {})["spec"],
    ),
    "template-store": (
        lambda spec: None,
        {"templateStore": None},
        lambda kids: "template_store" in config(kids),
    ),
    "nats-creds": (
        lambda spec: None,
        {"nats": {"credsSecretRef": None}},
        lambda kids: (
            any(v["name"] == "nats-creds" for v in pod(kids["daemonset"])["volumes"])
            or "nats_creds_file" in config(kids)
        ),
    ),
    "nats-tls": (
        lambda spec: None,
        {"nats": {"tls": None, "url": "nats://nats-0.nats:4222"}},
        lambda kids: (
            any(v["name"] == "nats-tls" for v in pod(kids["daemonset"])["volumes"])
            or any(m["name"] == "nats-tls" for m in container(kids["daemonset"])["volumeMounts"])
            or "security" in config(kids)
        ),
    ),
    "stream-subjects": (
        lambda spec: None,
        {"nats": {"stream": {"subjects": None}}},
        lambda kids: "stream_subjects" in config(kids),
    ),
    "listener-subject-and-config": (
        lambda spec: None,
        {
            "listeners": [
                {"name": "netflow", "protocol": "netflow", "port": 2055},
                {"name": "ipfix", "protocol": "netflow", "port": 4739},
                {"name": "sflow", "protocol": "sflow", "port": 6343},
            ]
        },
        lambda kids: any(
            "max_templates" in listener
            or "buffer_size" in listener
            or listener["subject"] == "flows.core.ipfix"
            for listener in config(kids)["listeners"]
        ),
    ),
    "config-key": (
        lambda spec: None,
        {"config": {"batch_size": None}},
        lambda kids: "batch_size" in config(kids),
    ),
    "metrics": (
        lambda spec: None,
        {"metrics": {"enabled": False}},
        lambda kids: (
            kids["metrics"] is not None
            or any(p["name"] == "metrics" for p in container(kids["daemonset"])["ports"])
            or "metrics_addr" in config(kids)
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_field_set_then_removed_leaves_the_child(api, k8s, operator, case):
    prepare, removal, present = CASES[case]
    body = sample()
    prepare(body["spec"])
    await create_fc(api, body)
    await settled(api, "netflow", "core")
    assert present(await children_of(api, "netflow", "core")), "the field was never set"

    generation = await patch_spec(api, "netflow", "core", removal)

    async def removed() -> None:
        kids = await children_of(api, "netflow", "core")
        assert not present(kids), kids

    await observed(api, "netflow", "core", generation)
    await eventually(removed)
