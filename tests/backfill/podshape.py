"""Realistic pod metadata, as kube-apiserver returns it for Deployment-managed pods.

Each object is what a `PartialObjectMetadataList` item looks like on a real cluster: 6-8 labels
(`app.kubernetes.io/*`, `pod-template-hash`, ...), 5 annotations (a sha256 config checksum, a
~1 KB JSON blob, Prometheus scrape hints, and `last-applied-configuration` on one pod in four),
a ReplicaSet ownerReference and 2-3 `managedFields` entries: about 4 KB of JSON per object.

Serialising a million such objects with `json.dumps` would make the list server the bottleneck
of the benchmark, so each of the 12 shape variants is serialised once with placeholder tokens
and every object is the variant's parts joined with its own name, uid, namespace, etc.
"""

import hashlib
import json
import re
from functools import lru_cache
from typing import Any

REPLICAS = 10
NAMESPACES = 40
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_TOKEN = re.compile(r"@(DEP|NS|POD|UID|OUID|RV|HASH|SHA)@")


def _fields_v1_spec() -> dict[str, Any]:
    container = {
        "f:env": {
            f'k:{{"name":"VAR_{i}"}}': {".": {}, "f:name": {}, "f:value": {}} for i in range(6)
        },
        "f:image": {},
        "f:imagePullPolicy": {},
        "f:name": {},
        "f:ports": {'k:{"containerPort":8080,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
        "f:resources": {"f:limits": {"f:memory": {}}, "f:requests": {"f:cpu": {}}},
        "f:terminationMessagePath": {},
        "f:volumeMounts": {'k:{"mountPath":"/etc/config"}': {".": {}, "f:mountPath": {}}},
    }
    return {
        "f:metadata": {
            "f:annotations": {".": {}, "f:checksum/config": {}, "f:prometheus.io/port": {}},
            "f:generateName": {},
            "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
            "f:ownerReferences": {'k:{"uid":"@OUID@"}': {}},
        },
        "f:spec": {
            "f:containers": {'k:{"name":"app"}': container},
            "f:dnsPolicy": {},
            "f:enableServiceLinks": {},
            "f:restartPolicy": {},
            "f:schedulerName": {},
            "f:securityContext": {},
            "f:terminationGracePeriodSeconds": {},
            "f:volumes": {'k:{"name":"config"}': {".": {}, "f:configMap": {}, "f:name": {}}},
        },
    }


def _fields_v1_status() -> dict[str, Any]:
    condition = {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}}
    return {
        "f:status": {
            "f:conditions": {
                f'k:{{"type":"{kind}"}}': condition
                for kind in ("ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready")
            },
            "f:containerStatuses": {},
            "f:hostIP": {},
            "f:phase": {},
            "f:podIP": {},
            "f:podIPs": {".": {}, 'k:{"ip":"10.1.2.3"}': {".": {}, "f:ip": {}}},
            "f:startTime": {},
        }
    }


def _metadata(version: bool, chart: bool, last_applied: bool) -> dict[str, Any]:
    labels = {
        "app": "@DEP@",
        "app.kubernetes.io/name": "@DEP@",
        "app.kubernetes.io/instance": "@DEP@-prod",
        "app.kubernetes.io/component": "api",
        "pod-template-hash": "@HASH@",
        "team": "payments",
    }
    if version:
        labels["app.kubernetes.io/version"] = "1.24.3"
    if chart:
        labels["helm.sh/chart"] = "shop-4.2.0"
    blob = {
        "build": {"commit": "@SHA@", "pipeline": "release-2025-01", "runner": "ci-17"},
        "owners": [f"team-{i}@example.com" for i in range(6)],
        "limits": {f"endpoint-{i}": {"rps": 100 * i, "burst": 20 * i} for i in range(12)},
        "notes": "rolled out by the release pipeline; see the runbook for rollbacks " * 3,
    }
    annotations = {
        "checksum/config": "@SHA@",
        "deploy.example.com/build-info": json.dumps(blob, separators=(",", ":")),
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
    }
    if last_applied:
        applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "@POD@"}}
        annotations[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
    else:
        annotations["kubectl.kubernetes.io/restartedAt"] = "2025-01-20T08:00:00Z"
    managed = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2025-01-20T08:00:01Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1_spec(),
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2025-01-20T08:00:09Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1_status(),
            "subresource": "status",
        },
    ]
    if chart:
        managed.append(
            {
                "manager": "kubectl-annotate",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2025-01-21T10:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {"f:prometheus.io/scrape": {}}}},
            }
        )
    return {
        "name": "@DEP@-@HASH@-@POD@",
        "generateName": "@DEP@-@HASH@-",
        "namespace": "@NS@",
        "uid": "@UID@",
        "resourceVersion": "@RV@",
        "creationTimestamp": "2025-01-20T08:00:00Z",
        "labels": labels,
        "annotations": annotations,
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "@DEP@-@HASH@",
                "uid": "@OUID@",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "managedFields": managed,
    }


@lru_cache(maxsize=32)
def _template(variant: int, partial: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The variant serialised once, split into literal parts and the tokens between them."""
    metadata = _metadata(bool(variant & 1), bool(variant & 2), bool(variant & 4))
    if partial:
        item = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
        item["metadata"] = metadata  # type: ignore[assignment]
    else:
        item = {"metadata": metadata}
        item["spec"] = {"containers": [{"name": "app", "image": "registry.example.com/@DEP@"}]}  # type: ignore[assignment]
    text = json.dumps(item, separators=(",", ":"))
    pieces = _TOKEN.split(text)
    return tuple(pieces[0::2]), tuple(pieces[1::2])


def realistic_pod(index: int, partial: bool = True) -> bytes:
    """The JSON of pod `index` (deterministic), a `PartialObjectMetadata` item or a full pod."""
    deployment = index // REPLICAS
    variant = (deployment % 2) | (deployment % 3 == 0) << 1 | (index % 4 == 0) << 2
    literals, tokens = _template(variant, partial)
    values = {
        "DEP": f"svc-{deployment:06d}",
        "NS": f"team-{deployment % NAMESPACES:02d}",
        "POD": f"{index % 100000:05x}",
        "UID": f"5f2b6c1e-{index >> 32 & 0xFFFF:04x}-4a7d-9e3b-{index & 0xFFFFFFFFFFFF:012x}",
        "OUID": f"0c9d8e7f-0000-4b1a-8c2d-{deployment:012x}",
        "RV": str(48_000_000 + index),
        "HASH": f"{deployment * 2654435761 % (1 << 40):010x}",
        "SHA": hashlib.sha256(str(deployment).encode()).hexdigest(),
    }
    out = [literals[0]]
    for token, literal in zip(tokens, literals[1:], strict=True):
        out.append(values[token])
        out.append(literal)
    return "".join(out).encode()
