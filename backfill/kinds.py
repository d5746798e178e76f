"""The resource kinds the backfill can enumerate, where the API serves them, and the identity
labels kube-state-metrics v2.20 puts on their `_labels` / `_annotations` series."""

from typing import NamedTuple

NAME, NAMESPACE, UID = "name", "namespace", "uid"


class Kind(NamedTuple):
    """One listable resource: `plural` is the flag value, `singular` names the series.

    `identity` is KSM's `desc<Kind>LabelsDefaultLabels` for the kind, in KSM's order, each
    label paired with the metadata field it comes from (`name`, `namespace` or `uid`).
    """

    plural: str
    singular: str
    api_prefix: str
    namespaced: bool
    identity: tuple[tuple[str, str], ...]

    @property
    def list_path(self) -> str:
        return f"{self.api_prefix}/{self.plural}"

    @property
    def identity_labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.identity)


def _namespaced(plural: str, singular: str, api_prefix: str, *, name_label: str = "") -> Kind:
    """`namespace,<kind>` (KSM's rule for most namespaced kinds)."""
    identity = ((NAMESPACE, NAMESPACE), (name_label or singular, NAME))
    return Kind(plural, singular, api_prefix, True, identity)


def _with_uid(plural: str, singular: str, api_prefix: str) -> Kind:
    """`namespace,<kind>,uid`: only pods, services and serviceaccounts in KSM."""
    identity = ((NAMESPACE, NAMESPACE), (singular, NAME), (UID, UID))
    return Kind(plural, singular, api_prefix, True, identity)


def _cluster(plural: str, singular: str, api_prefix: str, *, name_label: str = "") -> Kind:
    """`<kind>` for cluster-scoped kinds (`namespace` for the Namespace kind itself)."""
    return Kind(plural, singular, api_prefix, False, ((name_label or singular, NAME),))


KINDS: dict[str, Kind] = {
    kind.plural: kind
    for kind in (
        _cluster("namespaces", "namespace", "/api/v1"),
        _with_uid("pods", "pod", "/api/v1"),
        _cluster("nodes", "node", "/api/v1"),
        _namespaced("deployments", "deployment", "/apis/apps/v1"),
        _namespaced("statefulsets", "statefulset", "/apis/apps/v1"),
        _namespaced("daemonsets", "daemonset", "/apis/apps/v1"),
        _namespaced("replicasets", "replicaset", "/apis/apps/v1"),
        # `job_name`, not `job`: `job` is Prometheus's own target label.
        _namespaced("jobs", "job", "/apis/batch/v1", name_label="job_name"),
        _namespaced("cronjobs", "cronjob", "/apis/batch/v1"),
        _with_uid("services", "service", "/api/v1"),
        _namespaced("persistentvolumeclaims", "persistentvolumeclaim", "/api/v1"),
        _cluster("persistentvolumes", "persistentvolume", "/api/v1"),
        _namespaced("ingresses", "ingress", "/apis/networking.k8s.io/v1"),
        _namespaced("configmaps", "configmap", "/api/v1"),
        _namespaced("secrets", "secret", "/api/v1"),
        _with_uid("serviceaccounts", "serviceaccount", "/api/v1"),
        _namespaced("networkpolicies", "networkpolicy", "/apis/networking.k8s.io/v1"),
        _namespaced("poddisruptionbudgets", "poddisruptionbudget", "/apis/policy/v1"),
        _namespaced("horizontalpodautoscalers", "horizontalpodautoscaler", "/apis/autoscaling/v2"),
        _cluster("storageclasses", "storageclass", "/apis/storage.k8s.io/v1"),
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
