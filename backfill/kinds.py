"""The resource kinds the backfill can enumerate, and where the API serves them."""

from typing import NamedTuple


class Kind(NamedTuple):
    """One listable resource: `plural` is the flag value, `singular` names the series."""

    plural: str
    singular: str
    api_prefix: str
    namespaced: bool

    @property
    def list_path(self) -> str:
        return f"{self.api_prefix}/{self.plural}"


KINDS: dict[str, Kind] = {
    kind.plural: kind
    for kind in (
        Kind("namespaces", "namespace", "/api/v1", namespaced=False),
        Kind("pods", "pod", "/api/v1", namespaced=True),
        Kind("nodes", "node", "/api/v1", namespaced=False),
        Kind("deployments", "deployment", "/apis/apps/v1", namespaced=True),
        Kind("statefulsets", "statefulset", "/apis/apps/v1", namespaced=True),
        Kind("daemonsets", "daemonset", "/apis/apps/v1", namespaced=True),
        Kind("replicasets", "replicaset", "/apis/apps/v1", namespaced=True),
        Kind("jobs", "job", "/apis/batch/v1", namespaced=True),
        Kind("cronjobs", "cronjob", "/apis/batch/v1", namespaced=True),
        Kind("services", "service", "/api/v1", namespaced=True),
        Kind("persistentvolumeclaims", "persistentvolumeclaim", "/api/v1", namespaced=True),
        Kind("persistentvolumes", "persistentvolume", "/api/v1", namespaced=False),
        Kind("ingresses", "ingress", "/apis/networking.k8s.io/v1", namespaced=True),
        Kind("configmaps", "configmap", "/api/v1", namespaced=True),
        Kind("secrets", "secret", "/api/v1", namespaced=True),
        Kind("serviceaccounts", "serviceaccount", "/api/v1", namespaced=True),
        Kind("networkpolicies", "networkpolicy", "/apis/networking.k8s.io/v1", namespaced=True),
        Kind("poddisruptionbudgets", "poddisruptionbudget", "/apis/policy/v1", namespaced=True),
        Kind("horizontalpodautoscalers", "horizontalpodautoscaler", "/apis/autoscaling/v2", True),
        Kind("storageclasses", "storageclass", "/apis/storage.k8s.io/v1", namespaced=False),
    )
}

DEFAULT_RESOURCES: tuple[str, ...] = (
    "namespaces",
    "pods",
    "nodes",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "services",
    "persistentvolumeclaims",
    "persistentvolumes",
    "ingresses",
)
