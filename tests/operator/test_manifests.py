"""Children of a FlowCollector, compared as whole dicts."""

import copy

import pytest
from flowkeeper.operator.constants import CONFIG_HASH_ANNOTATION, DESIRED_HASH_ANNOTATION
from flowkeeper.operator.model.config import build_collector_config, config_hash, render_config
from flowkeeper.operator.model.manifests import (
    build_children,
    desired_hash,
    labels,
    selector_labels,
    udp_bound_script,
)
from flowkeeper.operator.model.spec import parse_spec

MINIMAL = {
    "image": "collector:1",
    "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
    "nats": {"url": "nats://nats:4222"},
}
FULL = {
    "image": "registry.example.com/collector:2",
    "imagePullPolicy": "Always",
    "listeners": [
        {"name": "netflow", "protocol": "netflow", "port": 2055},
        {"name": "syslog-nf", "protocol": "netflow", "port": 514},
        {"name": "sflow", "protocol": "sflow", "port": 6343},
    ],
    "metrics": {"enabled": True, "port": 9100},
    "nats": {
        "url": "nats://nats:4222",
        "subject": "f",
        "credsSecretRef": {"name": "nats-user", "key": "u.creds"},
    },
    "templateStore": {"kvBucket": "tpl", "kvHistory": 2},
    "service": {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Cluster",
        "annotations": {"lb.example.com/kind": "udp"},
        "loadBalancerIP": "203.0.113.7",
    },
    "nodeSelector": {"edge": "true"},
    "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    },
    "priorityClassName": "system-node-critical",
    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}},
    "config": {"batch_size": 200},
}
LABELS = {
    "app.kubernetes.io/name": "flow-collector",
    "app.kubernetes.io/instance": "edge",
    "app.kubernetes.io/managed-by": "flowkeeper",
    "app.kubernetes.io/part-of": "flowkeeper",
}
SELECTOR = {"app.kubernetes.io/name": "flow-collector", "app.kubernetes.io/instance": "edge"}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
HTTP_PROBES = {
    "readinessProbe": {
        "httpGet": {"path": "/metrics", "port": "metrics"},
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    },
    "livenessProbe": {
        "httpGet": {"path": "/metrics", "port": "metrics"},
        "initialDelaySeconds": 10,
        "periodSeconds": 20,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    },
}
CONFIG_VOLUME = {
    "name": "config",
    "configMap": {"name": "edge-config", "items": [{"key": "config.json", "path": "config.json"}]},
}
CONFIG_MOUNT = {"name": "config", "mountPath": "/etc/flowkeeper", "readOnly": True}


def children(spec):
    return build_children(name="edge", namespace="netflow", spec=parse_spec(spec))


def stamped(manifest):
    """The expected manifest with the desired-hash annotation the builder must add."""
    manifest = copy.deepcopy(manifest)
    manifest["metadata"].setdefault("annotations", {})[DESIRED_HASH_ANNOTATION] = desired_hash(
        manifest
    )
    return manifest


def config_digest(spec):
    return config_hash(render_config(build_collector_config(parse_spec(spec))))


def test_labels():
    assert labels("edge") == LABELS
    assert selector_labels("edge") == SELECTOR


def test_minimal_configmap():
    assert children(MINIMAL).configmap == stamped(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "edge-config", "namespace": "netflow", "labels": LABELS},
            "data": {
                "config.json": "{\n"
                '  "listeners": [\n'
                "    {\n"
                '      "listen_addr": "0.0.0.0:2055",\n'
                '      "protocol": "netflow",\n'
                '      "subject": "flows.raw.netflow"\n'
                "    }\n"
                "  ],\n"
                '  "metrics_addr": "0.0.0.0:50046",\n'
                '  "nats_url": "nats://nats:4222",\n'
                '  "stream_max_bytes": 10737418240,\n'
                '  "stream_name": "events",\n'
                '  "stream_replicas": 1\n'
                "}\n"
            },
        }
    )


def test_minimal_daemonset():
    assert children(MINIMAL).daemonset == stamped(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "edge", "namespace": "netflow", "labels": LABELS},
            "spec": {
                "selector": {"matchLabels": SELECTOR},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {
                        "labels": LABELS,
                        "annotations": {CONFIG_HASH_ANNOTATION: config_digest(MINIMAL)},
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": POD_SECURITY,
                        "containers": [
                            {
                                "name": "collector",
                                "image": "collector:1",
                                "imagePullPolicy": "IfNotPresent",
                                "args": ["--config=/etc/flowkeeper/config.json"],
                                "ports": [
                                    {"name": "netflow", "containerPort": 2055, "protocol": "UDP"},
                                    {"name": "metrics", "containerPort": 50046, "protocol": "TCP"},
                                ],
                                **HTTP_PROBES,
                                "volumeMounts": [CONFIG_MOUNT],
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                            }
                        ],
                        "volumes": [CONFIG_VOLUME],
                    },
                },
            },
        }
    )


def test_minimal_services():
    built = children(MINIMAL)
    assert built.service == stamped(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "edge", "namespace": "netflow", "labels": LABELS},
            "spec": {
                "type": "LoadBalancer",
                "selector": SELECTOR,
                "ports": [
                    {"name": "netflow", "protocol": "UDP", "port": 2055, "targetPort": "netflow"}
                ],
                "externalTrafficPolicy": "Local",
            },
        }
    )
    assert built.metrics_service == stamped(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "edge-metrics", "namespace": "netflow", "labels": LABELS},
            "spec": {
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [
                    {"name": "metrics", "protocol": "TCP", "port": 50046, "targetPort": "metrics"}
                ],
            },
        }
    )


def test_full_configmap_holds_the_whole_config():
    assert children(FULL).configmap["data"] == {
        "config.json": render_config(
            {
                "listeners": [
                    {
                        "protocol": "netflow",
                        "listen_addr": "0.0.0.0:2055",
                        "subject": "f.raw.netflow",
                    },
                    {
                        "protocol": "netflow",
                        "listen_addr": "0.0.0.0:514",
                        "subject": "f.raw.netflow",
                    },
                    {"protocol": "sflow", "listen_addr": "0.0.0.0:6343", "subject": "f.raw.sflow"},
                ],
                "nats_url": "nats://nats:4222",
                "stream_name": "events",
                "stream_max_bytes": 10737418240,
                "stream_replicas": 1,
                "nats_creds_file": "/var/run/secrets/flowkeeper/nats/nats.creds",
                "metrics_addr": "0.0.0.0:9100",
                "template_store": {"kv_bucket": "tpl", "kv_history": 2, "kv_ttl_secs": 0},
                "batch_size": 200,
            }
        )
    }


def test_full_daemonset():
    assert children(FULL).daemonset == stamped(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "edge", "namespace": "netflow", "labels": LABELS},
            "spec": {
                "selector": {"matchLabels": SELECTOR},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {
                        "labels": LABELS,
                        "annotations": {CONFIG_HASH_ANNOTATION: config_digest(FULL)},
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": {
                            **POD_SECURITY,
                            "sysctls": [
                                {"name": "net.ipv4.ip_unprivileged_port_start", "value": "514"}
                            ],
                        },
                        "containers": [
                            {
                                "name": "collector",
                                "image": "registry.example.com/collector:2",
                                "imagePullPolicy": "Always",
                                "args": ["--config=/etc/flowkeeper/config.json"],
                                "ports": [
                                    {"name": "netflow", "containerPort": 2055, "protocol": "UDP"},
                                    {"name": "syslog-nf", "containerPort": 514, "protocol": "UDP"},
                                    {"name": "sflow", "containerPort": 6343, "protocol": "UDP"},
                                    {"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
                                ],
                                **HTTP_PROBES,
                                "volumeMounts": [
                                    CONFIG_MOUNT,
                                    {
                                        "name": "nats-creds",
                                        "mountPath": "/var/run/secrets/flowkeeper/nats",
                                        "readOnly": True,
                                    },
                                ],
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                                },
                                "resources": {
                                    "requests": {"cpu": "100m"},
                                    "limits": {"memory": "256Mi"},
                                },
                            }
                        ],
                        "volumes": [
                            CONFIG_VOLUME,
                            {
                                "name": "nats-creds",
                                "secret": {
                                    "secretName": "nats-user",
                                    "items": [{"key": "u.creds", "path": "nats.creds"}],
                                    "defaultMode": 0o440,
                                },
                            },
                        ],
                        "nodeSelector": {"edge": "true"},
                        "tolerations": [
                            {"key": "edge", "operator": "Exists", "effect": "NoSchedule"}
                        ],
                        "affinity": FULL["affinity"],
                        "priorityClassName": "system-node-critical",
                    },
                },
            },
        }
    )


def test_full_service():
    assert children(FULL).service == stamped(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "edge",
                "namespace": "netflow",
                "labels": LABELS,
                "annotations": {"lb.example.com/kind": "udp"},
            },
            "spec": {
                "type": "LoadBalancer",
                "selector": SELECTOR,
                "ports": [
                    {"name": "netflow", "protocol": "UDP", "port": 2055, "targetPort": "netflow"},
                    {
                        "name": "syslog-nf",
                        "protocol": "UDP",
                        "port": 514,
                        "targetPort": "syslog-nf",
                    },
                    {"name": "sflow", "protocol": "UDP", "port": 6343, "targetPort": "sflow"},
                ],
                "externalTrafficPolicy": "Cluster",
                "loadBalancerIP": "203.0.113.7",
            },
        }
    )


def test_metrics_disabled_uses_exec_probes_and_no_metrics_service():
    spec = {**MINIMAL, "metrics": {"enabled": False}}
    built = children(spec)
    assert built.metrics_service is None
    container = built.daemonset["spec"]["template"]["spec"]["containers"][0]
    check = {
        "exec": {
            "command": [
                "/bin/sh",
                "-c",
                "grep -Eqs '^ *[0-9]+: [0-9A-F]+:0807 ' /proc/net/udp /proc/net/udp6",
            ]
        }
    }
    assert container["ports"] == [{"name": "netflow", "containerPort": 2055, "protocol": "UDP"}]
    assert container["readinessProbe"] == {
        **check,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    assert container["livenessProbe"] == {
        **check,
        "initialDelaySeconds": 10,
        "periodSeconds": 20,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def test_udp_bound_script_checks_every_listener():
    listeners = [
        {"name": "a", "protocol": "netflow", "port": 2055},
        {"name": "b", "protocol": "sflow", "port": 65535},
    ]
    assert udp_bound_script(listeners) == (  # type: ignore[arg-type]
        "grep -Eqs '^ *[0-9]+: [0-9A-F]+:0807 ' /proc/net/udp /proc/net/udp6"
        " && grep -Eqs '^ *[0-9]+: [0-9A-F]+:FFFF ' /proc/net/udp /proc/net/udp6"
    )


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"type": "ClusterIP"}, {"type": "ClusterIP"}),
        ({"type": "NodePort"}, {"type": "NodePort", "externalTrafficPolicy": "Local"}),
        (
            {"type": "NodePort", "externalTrafficPolicy": "Cluster"},
            {"type": "NodePort", "externalTrafficPolicy": "Cluster"},
        ),
        ({}, {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
    ],
    ids=["cluster-ip-has-no-traffic-policy", "node-port", "node-port-cluster", "default"],
)
def test_service_type_and_traffic_policy(service, expected):
    body = children({**MINIMAL, "service": service}).service["spec"]
    assert {key: body[key] for key in ("type", "externalTrafficPolicy") if key in body} == expected


def test_host_network():
    spec = {
        **MINIMAL,
        "hostNetwork": True,
        "listeners": [{"name": "nf", "protocol": "netflow", "port": 995}],
    }
    pod = children(spec).daemonset["spec"]["template"]["spec"]
    assert (pod["hostNetwork"], pod["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
    # A host-network pod cannot set a network sysctl; the capability is all it gets.
    assert pod["securityContext"] == POD_SECURITY
    assert pod["containers"][0]["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["NET_BIND_SERVICE"],
    }
    # What the server would default, set by us so that it goes when hostNetwork is turned off.
    assert [(p["containerPort"], p["hostPort"]) for p in pod["containers"][0]["ports"]] == [
        (995, 995),
        (50046, 50046),
    ]


def test_privileged_metrics_port_counts():
    pod = children({**MINIMAL, "metrics": {"port": 80}}).daemonset["spec"]["template"]["spec"]
    assert pod["securityContext"]["sysctls"] == [
        {"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}
    ]


def test_config_change_changes_pod_template_hash():
    before = children(MINIMAL).daemonset["spec"]["template"]["metadata"]["annotations"]
    after = children({**MINIMAL, "config": {"batch_size": 800}}).daemonset["spec"]["template"][
        "metadata"
    ]["annotations"]
    assert before[CONFIG_HASH_ANNOTATION] != after[CONFIG_HASH_ANNOTATION]


def test_children_are_deterministic():
    assert children(FULL) == children(copy.deepcopy(FULL))


def test_children_do_not_share_spec_objects():
    spec = parse_spec(FULL)
    built = build_children(name="edge", namespace="netflow", spec=spec)
    built.daemonset["spec"]["template"]["spec"]["tolerations"][0]["key"] = "changed"
    built.daemonset["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = (
        "2"
    )
    built.service["metadata"]["annotations"]["x"] = "y"
    assert spec == parse_spec(FULL)


def test_desired_hash_ignores_its_annotation_and_owner_references():
    manifest = children(MINIMAL).service
    digest = manifest["metadata"]["annotations"][DESIRED_HASH_ANNOTATION]
    adopted = copy.deepcopy(manifest)
    adopted["metadata"]["ownerReferences"] = [{"kind": "FlowCollector", "name": "edge", "uid": "u"}]
    assert desired_hash(manifest) == desired_hash(adopted) == digest


@pytest.mark.parametrize(
    "change",
    [
        {"image": "collector:2"},
        {"listeners": [{"name": "netflow", "protocol": "netflow", "port": 2056}]},
        {"service": {"type": "NodePort"}},
        {"tolerations": [{"operator": "Exists"}]},
    ],
    ids=["image", "port", "service-type", "tolerations"],
)
def test_desired_hash_follows_the_spec(change):
    before, after = children(MINIMAL), children({**MINIMAL, **change})
    changed = [
        kind for kind in ("daemonset", "service") if getattr(before, kind) != getattr(after, kind)
    ]
    assert changed
    for kind in changed:
        assert (
            getattr(before, kind)["metadata"]["annotations"][DESIRED_HASH_ANNOTATION]
            != getattr(after, kind)["metadata"]["annotations"][DESIRED_HASH_ANNOTATION]
        )


def empty_values(value, path="$"):
    """Paths of empty strings, lists and maps, and of False: the API server omits them, so a
    live object would never contain them and "desired is a subset of live" would never hold."""
    if value in ("", [], {}) or value is False:
        return [path]
    if isinstance(value, dict):
        return [p for key, sub in value.items() for p in empty_values(sub, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, sub in enumerate(value) for p in empty_values(sub, f"{path}[{i}]")]
    return []


# Pointer booleans the API server keeps when false.
KEPT_FALSE = {
    "$.spec.template.spec.automountServiceAccountToken",
    "$.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
}


@pytest.mark.parametrize(
    "spec",
    [MINIMAL, FULL, {**MINIMAL, "metrics": {"enabled": False}}],
    ids=["minimal", "full", "no-metrics"],
)
def test_no_empty_values_in_children(spec):
    for child in children(spec):
        if child is not None:
            assert set(empty_values(child)) <= KEPT_FALSE, child["kind"]
