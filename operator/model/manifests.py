"""Desired child objects of a FlowCollector, as plain dicts. Pure: no I/O.

Only fields the operator means are set: no server defaults, no empty values (the API server
drops those), so a live child can be compared with "desired is a subset of live". Owner
references are left to the handler (kopf.adopt).
"""

import copy
import hashlib
import json
from typing import Any, NamedTuple

from flowkeeper.operator.constants import (
    CONFIG_HASH_ANNOTATION,
    DESIRED_HASH_ANNOTATION,
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    PART_OF_LABEL,
)
from flowkeeper.operator.model.config import (
    CONFIG_DIR,
    CONFIG_KEY,
    CONFIG_PATH,
    NATS_CREDS_DIR,
    NATS_CREDS_FILE,
    NATS_TLS_DIR,
    build_collector_config,
    config_hash,
    render_config,
    tls_files,
)
from flowkeeper.operator.model.spec import FlowCollectorSpec, Listener

APP_NAME = "flow-collector"
CONTAINER_NAME = "collector"
METRICS_PORT_NAME = "metrics"
# The collector reads its whole configuration from this one flag.
CONFIG_FLAG = f"--config={CONFIG_PATH}"
NON_ROOT_ID = 65532  # the conventional "nonroot" user and group of distroless images
PRIVILEGED_PORT_LIMIT = 1024
TERMINATION_GRACE_SECONDS = 30  # time to flush buffered flows to NATS on SIGTERM

Manifest = dict[str, Any]


class Children(NamedTuple):
    configmap: Manifest
    daemonset: Manifest
    service: Manifest
    metrics_service: Manifest | None  # None when metrics are disabled


def labels(name: str) -> dict[str, str]:
    return {
        **selector_labels(name),
        MANAGED_BY_LABEL: MANAGED_BY,
        PART_OF_LABEL: MANAGED_BY,
    }


def selector_labels(name: str) -> dict[str, str]:
    return {NAME_LABEL: APP_NAME, INSTANCE_LABEL: name}


def configmap_name(name: str) -> str:
    return f"{name}-config"


def metrics_service_name(name: str) -> str:
    return f"{name}-metrics"


def desired_hash(manifest: Manifest) -> str:
    """Digest of a child as built, ignoring its own desired-hash annotation and owner references
    (added after building), so it equals the annotation before and after kopf.adopt()."""
    body = copy.deepcopy(manifest)
    metadata = body.get("metadata", {})
    metadata.pop("ownerReferences", None)
    annotations = metadata.get("annotations", {})
    annotations.pop(DESIRED_HASH_ANNOTATION, None)
    if not annotations:
        metadata.pop("annotations", None)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_children(*, name: str, namespace: str, spec: FlowCollectorSpec) -> Children:
    """All children of FlowCollector `name`, each carrying its desired-hash annotation."""
    text = render_config(build_collector_config(spec))
    metrics = build_metrics_service(name=name, namespace=namespace, spec=spec)
    return Children(
        configmap=_stamped(build_configmap(name=name, namespace=namespace, config_text=text)),
        daemonset=_stamped(
            build_daemonset(
                name=name, namespace=namespace, spec=spec, config_digest=config_hash(text)
            )
        ),
        service=_stamped(build_service(name=name, namespace=namespace, spec=spec)),
        metrics_service=_stamped(metrics) if metrics is not None else None,
    )


def build_configmap(*, name: str, namespace: str, config_text: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(configmap_name(name), namespace, name),
        "data": {CONFIG_KEY: config_text},
    }


def build_daemonset(
    *, name: str, namespace: str, spec: FlowCollectorSpec, config_digest: str
) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _metadata(name, namespace, name),
        "spec": {
            "selector": {"matchLabels": selector_labels(name)},
            # One node at a time: the rest keep receiving while a pod restarts.
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": labels(name),
                    # A config change changes the template, which rolls the pods.
                    "annotations": {CONFIG_HASH_ANNOTATION: config_digest},
                },
                "spec": _pod_spec(name, spec),
            },
        },
    }


def build_service(*, name: str, namespace: str, spec: FlowCollectorSpec) -> Manifest:
    service = spec["service"]
    body: Manifest = {
        "type": service["type"],
        "selector": selector_labels(name),
        "ports": [
            {
                "name": listener["name"],
                "protocol": "UDP",
                "port": listener["port"],
                "targetPort": listener["name"],
            }
            for listener in spec["listeners"]
        ],
    }
    # The API refuses externalTrafficPolicy on ClusterIP Services.
    if service["type"] != "ClusterIP":
        body["externalTrafficPolicy"] = service["externalTrafficPolicy"]
    if service["loadBalancerIP"]:
        body["loadBalancerIP"] = service["loadBalancerIP"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace, name, annotations=service["annotations"]),
        "spec": body,
    }


def build_metrics_service(*, name: str, namespace: str, spec: FlowCollectorSpec) -> Manifest | None:
    if not spec["metrics"]["enabled"]:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(metrics_service_name(name), namespace, name),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(name),
            "ports": [
                {
                    "name": METRICS_PORT_NAME,
                    "protocol": "TCP",
                    "port": spec["metrics"]["port"],
                    "targetPort": METRICS_PORT_NAME,
                }
            ],
        },
    }


def _pod_spec(name: str, spec: FlowCollectorSpec) -> Manifest:
    privileged = _privileged_ports(spec)
    security: Manifest = {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_ID,
        "runAsGroup": NON_ROOT_ID,
        "fsGroup": NON_ROOT_ID,  # lets the non-root user read the 0440 NATS creds file
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if privileged and not spec["hostNetwork"]:
        # Added capabilities are not effective for a non-root process without file
        # capabilities; lowering the pod's unprivileged port start works for any image.
        security["sysctls"] = [
            {"name": "net.ipv4.ip_unprivileged_port_start", "value": str(min(privileged))}
        ]
    pod: Manifest = {
        "automountServiceAccountToken": False,  # the collector never calls the API
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": security,
        "containers": [_container(spec, privileged=bool(privileged))],
        "volumes": _volumes(name, spec),
    }
    if spec["hostNetwork"]:
        pod["hostNetwork"] = True
        # Without it, a host-network pod resolves with the node's DNS and cannot reach NATS
        # by its Service name.
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    optional = {
        "nodeSelector": spec["nodeSelector"],
        "tolerations": spec["tolerations"],
        "affinity": spec["affinity"],
        "priorityClassName": spec["priorityClassName"],
    }
    pod.update({key: copy.deepcopy(value) for key, value in optional.items() if value})
    return pod


def _container(spec: FlowCollectorSpec, *, privileged: bool) -> Manifest:
    ports: list[Manifest] = [
        {"name": listener["name"], "containerPort": listener["port"], "protocol": "UDP"}
        for listener in spec["listeners"]
    ]
    metrics = spec["metrics"]
    if metrics["enabled"]:
        ports.append(
            {"name": METRICS_PORT_NAME, "containerPort": metrics["port"], "protocol": "TCP"}
        )
    if spec["hostNetwork"]:
        # The API server would default hostPort to containerPort with host networking; set
        # here, it is in the last-applied record, so turning hostNetwork off removes it again.
        for port in ports:
            port["hostPort"] = port["containerPort"]
    capabilities: Manifest = {"drop": ["ALL"]}
    if privileged:
        capabilities["add"] = ["NET_BIND_SERVICE"]
    mounts: list[Manifest] = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}]
    if "credsSecretRef" in spec["nats"]:
        mounts.append({"name": "nats-creds", "mountPath": NATS_CREDS_DIR, "readOnly": True})
    if "tls" in spec["nats"]:
        mounts.append({"name": "nats-tls", "mountPath": NATS_TLS_DIR, "readOnly": True})
    container: Manifest = {
        "name": CONTAINER_NAME,
        "image": spec["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "args": [CONFIG_FLAG],
        "ports": ports,
        **_probes(spec),
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": capabilities,
        },
    }
    if spec["resources"]:
        container["resources"] = copy.deepcopy(spec["resources"])
    return container


def _probes(spec: FlowCollectorSpec) -> Manifest:
    if spec["metrics"]["enabled"]:
        check: Manifest = {"httpGet": {"path": "/metrics", "port": METRICS_PORT_NAME}}
    else:
        check = {"exec": {"command": ["/bin/sh", "-c", udp_bound_script(spec["listeners"])]}}
    return {
        "readinessProbe": {
            **check,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            **check,
            "initialDelaySeconds": 10,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
    }


def udp_bound_script(listeners: list[Listener]) -> str:
    """Shell check that every listener's UDP port is bound in the pod's network namespace.

    Used when metrics are off, so no HTTP endpoint exists. It reads the local-address column of
    /proc/net/udp{,6} (ports in upper-case hex), so it needs only `sh` and `grep` in the image.
    """
    return " && ".join(
        f"grep -Eqs '^ *[0-9]+: [0-9A-F]+:{listener['port']:04X} ' /proc/net/udp /proc/net/udp6"
        for listener in listeners
    )


def _volumes(name: str, spec: FlowCollectorSpec) -> list[Manifest]:
    volumes: list[Manifest] = [
        {
            "name": "config",
            "configMap": {
                "name": configmap_name(name),
                "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}],
            },
        }
    ]
    creds = spec["nats"].get("credsSecretRef")
    if creds is not None:
        file = NATS_CREDS_FILE.rsplit("/", 1)[1]
        volumes.append(_secret_volume("nats-creds", creds["name"], [(creds["key"], file)]))
    tls = spec["nats"].get("tls")
    if tls is not None:
        # The keys are projected to the fixed names config.json's `security` block points at.
        files = [(key, file) for _, key, file in tls_files(tls)]
        volumes.append(_secret_volume("nats-tls", tls["secretName"], files))
    return volumes


def _secret_volume(volume: str, secret: str, files: list[tuple[str, str]]) -> Manifest:
    """Secret keys projected to fixed file names, readable by the pod's group only (fsGroup)."""
    return {
        "name": volume,
        "secret": {
            "secretName": secret,
            "items": [{"key": key, "path": path} for key, path in files],
            "defaultMode": 0o440,
        },
    }


def _privileged_ports(spec: FlowCollectorSpec) -> list[int]:
    ports = [listener["port"] for listener in spec["listeners"]]
    if spec["metrics"]["enabled"]:
        ports.append(spec["metrics"]["port"])
    return [port for port in ports if port < PRIVILEGED_PORT_LIMIT]


def _metadata(
    child: str, namespace: str, owner: str, *, annotations: dict[str, str] | None = None
) -> Manifest:
    metadata: Manifest = {"name": child, "namespace": namespace, "labels": labels(owner)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def _stamped(manifest: Manifest) -> Manifest:
    manifest["metadata"].setdefault("annotations", {})[DESIRED_HASH_ANNOTATION] = desired_hash(
        manifest
    )
    return manifest
