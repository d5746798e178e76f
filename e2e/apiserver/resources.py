"""The resources the emulator serves: group/version/plural -> kind, scope, subresources."""

from collections.abc import Mapping
from typing import NamedTuple


class Resource(NamedTuple):
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...]

    # A resource is its group/version/plural: a CRD update that changes its scope, kind or
    # subresources still names the same objects.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return (self.group, self.version, self.plural) == (other.group, other.version, other.plural)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.group, self.version, self.plural))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_generation(self) -> bool:
        return self.kind in GENERATION_KINDS or self.custom

    @property
    def custom(self) -> bool:
        """A custom resource (served for a CRD): any group kube-apiserver does not build in."""
        return self.group not in BUILTIN_GROUPS

    @property
    def qualified(self) -> str:
        """``daemonsets.apps``, as kube-apiserver names a resource in its messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


# group/version/plural -> (kind, namespaced, subresources).
RESOURCES: Mapping[str, tuple[str, bool, tuple[str, ...]]] = {
    "v1/namespaces": ("Namespace", False, ("status",)),
    "v1/pods": ("Pod", True, ("status",)),
    "v1/nodes": ("Node", False, ("status",)),
    "v1/services": ("Service", True, ("status",)),
    "v1/configmaps": ("ConfigMap", True, ()),
    "v1/secrets": ("Secret", True, ()),
    "v1/serviceaccounts": ("ServiceAccount", True, ()),
    "v1/persistentvolumeclaims": ("PersistentVolumeClaim", True, ("status",)),
    "v1/persistentvolumes": ("PersistentVolume", False, ("status",)),
    "v1/events": ("Event", True, ()),
    "apps/v1/deployments": ("Deployment", True, ("status", "scale")),
    "apps/v1/daemonsets": ("DaemonSet", True, ("status",)),
    "apps/v1/statefulsets": ("StatefulSet", True, ("status", "scale")),
    "apps/v1/replicasets": ("ReplicaSet", True, ("status", "scale")),
    "batch/v1/jobs": ("Job", True, ("status",)),
    "batch/v1/cronjobs": ("CronJob", True, ("status",)),
    "networking.k8s.io/v1/ingresses": ("Ingress", True, ("status",)),
    "events.k8s.io/v1/events": ("Event", True, ()),
    "coordination.k8s.io/v1/leases": ("Lease", True, ()),
    "policy/v1/poddisruptionbudgets": ("PodDisruptionBudget", True, ("status",)),
    "rbac.authorization.k8s.io/v1/clusterroles": ("ClusterRole", False, ()),
    "rbac.authorization.k8s.io/v1/clusterrolebindings": ("ClusterRoleBinding", False, ()),
    "rbac.authorization.k8s.io/v1/roles": ("Role", True, ()),
    "rbac.authorization.k8s.io/v1/rolebindings": ("RoleBinding", True, ()),
    "apiextensions.k8s.io/v1/customresourcedefinitions": (
        "CustomResourceDefinition",
        False,
        ("status",),
    ),
    "flows.flowkeeper.dev/v1alpha1/flowcollectors": ("FlowCollector", True, ("status",)),
}
# Custom resources are stored as sent (no omitempty, no built-in defaults), as for CRDs;
# their schema, defaults and rules come from their CRD (crds.py).
CUSTOM_GROUPS = frozenset({"flows.flowkeeper.dev"})
BUILTIN_GROUPS = (
    frozenset(key.rsplit("/", 2)[0] if key.count("/") == 2 else "" for key in RESOURCES)
    - CUSTOM_GROUPS
)
# Kinds whose registry strategy counts spec changes in metadata.generation (custom resources
# too); Services, ConfigMaps, Namespaces, Leases... have no generation on a real server.
GENERATION_KINDS = frozenset(
    {"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job", "CronJob", "Ingress", "Pod"}
    | {"CustomResourceDefinition"}
)


def _build() -> dict[tuple[str, str, str], Resource]:
    table = {}
    for key, (kind, namespaced, subresources) in RESOURCES.items():
        *group_version, plural = key.split("/")
        group, version = ("", group_version[0]) if len(group_version) == 1 else group_version
        table[group, version, plural] = Resource(
            group, version, plural, kind, namespaced, subresources
        )
    return table


BY_PATH = _build()
BY_KIND = {(r.group, r.kind): r for r in BY_PATH.values()}


def lookup(group: str, version: str, plural: str) -> Resource | None:
    return BY_PATH.get((group, version, plural))


def of_api_version(api_version: str, kind: str) -> Resource | None:
    """The resource of an ownerReference's apiVersion and kind."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return BY_KIND.get((group, kind))
