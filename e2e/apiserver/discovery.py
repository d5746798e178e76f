"""Discovery documents as kube-apiserver serves them: ``/version``, legacy (``/api``, ``/apis``,
``/api/v1``, ``/apis/<group>[/<version>]``) and aggregated (``apidiscovery.k8s.io`` v2 and
v2beta1 ``APIGroupDiscoveryList`` on ``/api`` and ``/apis``, which kubectl 1.27+ asks for first).

Built-in kinds carry kube-apiserver's short names and categories (``kubectl get ns``,
``kubectl get all``); custom resources those of their CRD. Subresources carry none (kubectl
would otherwise warn that ``fc`` could also match ``flowcollectors/status``).
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from e2e.apiserver import media
from e2e.apiserver.definitions import KUBERNETES, MAJOR, MINOR
from e2e.apiserver.resources import Resource

# The short names and categories of the built-in resources served (kube-apiserver 1.33).
SHORT_NAMES = {
    "namespaces": ("ns",),
    "pods": ("po",),
    "nodes": ("no",),
    "services": ("svc",),
    "configmaps": ("cm",),
    "serviceaccounts": ("sa",),
    "persistentvolumeclaims": ("pvc",),
    "persistentvolumes": ("pv",),
    "events": ("ev",),
    "deployments": ("deploy",),
    "daemonsets": ("ds",),
    "statefulsets": ("sts",),
    "replicasets": ("rs",),
    "cronjobs": ("cj",),
    "ingresses": ("ing",),
    "poddisruptionbudgets": ("pdb",),
    "customresourcedefinitions": ("crd", "crds"),
}
CATEGORIES = {
    "pods": ("all",),
    "services": ("all",),
    "deployments": ("all",),
    "daemonsets": ("all",),
    "statefulsets": ("all",),
    "replicasets": ("all",),
    "jobs": ("all",),
    "cronjobs": ("all",),
    "customresourcedefinitions": ("api-extensions",),
}
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Namespaces have no deletecollection in kube-apiserver.
RESOURCE_VERBS = {"namespaces": tuple(v for v in VERBS if v != "deletecollection")}
SUBRESOURCE_VERBS = ("get", "patch", "update")
SUBRESOURCE_KINDS = {"scale": ("autoscaling", "v1", "Scale")}
# kube-apiserver's group order (its discovery priorities); custom groups follow by name.
GROUP_ORDER = (
    "",
    "apps",
    "events.k8s.io",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
)
AGGREGATED = "apidiscovery.k8s.io"
# GET /version: the release whose behaviour the emulator follows (aggregated discovery v2,
# kubectl's newest here; the OpenAPI definitions' release, definitions.py). Helm checks a
# chart's kubeVersion against it.
VERSION = {
    "major": MAJOR,
    "minor": MINOR,
    "emulationMajor": MAJOR,
    "emulationMinor": MINOR,
    "minCompatibilityMajor": MAJOR,
    "minCompatibilityMinor": str(int(MINOR) - 1),
    "gitVersion": f"v{KUBERNETES}+flowkeeper.emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_PATH = re.compile(r"^/(?:api|apis(?:/(?P<group>[^/]+))?)(?:/(?P<version>[^/]+))?/?$")


class Served(NamedTuple):
    """A served resource with what discovery says about it."""

    resource: Resource
    singular: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]


def describe(resource: Resource) -> Served:
    """The discovery facts of a built-in resource (custom ones come from their CRD)."""
    return Served(
        resource,
        resource.kind.lower(),
        SHORT_NAMES.get(resource.plural, ()),
        CATEGORIES.get(resource.plural, ()),
    )


def _group_key(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group), "") if group in GROUP_ORDER else (len(GROUP_ORDER), group)


def _groups(served: Iterable[Served]) -> dict[str, dict[str, list[Served]]]:
    groups: dict[str, dict[str, list[Served]]] = {}
    for entry in served:
        resource = entry.resource
        groups.setdefault(resource.group, {}).setdefault(resource.version, []).append(entry)
    return {group: groups[group] for group in sorted(groups, key=_group_key)}


def _verbs(resource: Resource) -> list[str]:
    return list(RESOURCE_VERBS.get(resource.plural, VERBS))


def resource_list(served: Iterable[Served], group: str, version: str) -> dict[str, Any] | None:
    """``APIResourceList`` of one group version (None when it is not served)."""
    entries = _groups(served).get(group, {}).get(version)
    if entries is None:
        return None
    resources: list[dict[str, Any]] = []
    for entry in entries:
        resource = entry.resource
        main: dict[str, Any] = {
            "name": resource.plural,
            "singularName": entry.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": _verbs(resource),
        }
        if entry.short_names:
            main["shortNames"] = list(entry.short_names)
        if entry.categories:
            main["categories"] = list(entry.categories)
        resources.append(main)
        for sub in resource.subresources:
            sub_group, sub_version, sub_kind = SUBRESOURCE_KINDS.get(sub, ("", "", resource.kind))
            item = {
                "name": f"{resource.plural}/{sub}",
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": sub_kind,
                "verbs": list(SUBRESOURCE_VERBS),
            }
            if sub_group:
                item |= {"group": sub_group, "version": sub_version}
            resources.append(item)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _group(name: str, versions: Iterable[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list(served: Iterable[Served]) -> dict[str, Any]:
    groups = [_group(g, versions) for g, versions in _groups(served).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _aggregated_resource(entry: Served) -> dict[str, Any]:
    resource = entry.resource
    found: dict[str, Any] = {
        "resource": resource.plural,
        "responseKind": {
            "group": resource.group,
            "version": resource.version,
            "kind": resource.kind,
        },
        "scope": "Namespaced" if resource.namespaced else "Cluster",
        "singularResource": entry.singular,
        "verbs": _verbs(resource),
    }
    if entry.short_names:
        found["shortNames"] = list(entry.short_names)
    if entry.categories:
        found["categories"] = list(entry.categories)
    subresources = []
    for sub in resource.subresources:
        group, version, kind = SUBRESOURCE_KINDS.get(
            sub, (resource.group, resource.version, resource.kind)
        )
        subresources.append(
            {
                "subresource": sub,
                "responseKind": {"group": group, "version": version, "kind": kind},
                "verbs": list(SUBRESOURCE_VERBS),
            }
        )
    if subresources:
        found["subresources"] = subresources
    return found


def aggregated(served: Iterable[Served], *, core: bool, version: str) -> dict[str, Any]:
    """``APIGroupDiscoveryList`` of ``/api`` (``core``) or of ``/apis``."""
    items = []
    for group, versions in _groups(served).items():
        if (group == "") != core:
            continue
        metadata: dict[str, Any] = {"creationTimestamp": None}
        if group:
            metadata["name"] = group
        items.append(
            {
                "metadata": metadata,
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated_resource(e) for e in entries],
                        "freshness": "Current",
                    }
                    for v, entries in versions.items()
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"{AGGREGATED}/{version}",
        "metadata": {},
        "items": items,
    }


def aggregated_version(headers: Mapping[str, str]) -> str:
    """``v2`` or ``v2beta1`` when the Accept header asks for aggregated discovery first; ""
    for the legacy documents."""
    accept = media.header(headers, "Accept")
    for kind, params in media.parse(accept):
        if params.get("g") == AGGREGATED and params.get("as") == "APIGroupDiscoveryList":
            if kind == media.JSON and params.get("v") in ("v2", "v2beta1"):
                return params["v"]
            continue
        if kind in (media.JSON, "*/*", "application/*"):
            return ""
    return ""


def answer(
    path: str, headers: Mapping[str, str], served: list[Served], server: str
) -> tuple[int, dict[str, Any], str] | None:
    """(status, body, content type) of a discovery path; None for other paths."""
    if path.rstrip("/") == "/version":
        return 200, dict(VERSION), media.JSON
    match = _PATH.match(path)
    if match is None:
        return None
    group, version = match["group"], match["version"]
    if path.startswith("/api/") or path.rstrip("/") == "/api":
        if group is not None:  # pragma: no cover - the pattern keeps /api groupless
            return None
        if version:
            listed = resource_list(served, "", version)
            return (200, listed, media.JSON) if listed else None
        wanted = aggregated_version(headers)
        if wanted:
            return 200, aggregated(served, core=True, version=wanted), _aggregated_type(wanted)
        return (
            200,
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": server}
                ],
            },
            media.JSON,
        )
    if group is None:
        wanted = aggregated_version(headers)
        if wanted:
            return 200, aggregated(served, core=False, version=wanted), _aggregated_type(wanted)
        return 200, group_list(served), media.JSON
    if version:
        listed = resource_list(served, group, version)
        return (200, listed, media.JSON) if listed else None
    versions = _groups(served).get(group)
    if not versions:
        return None
    return 200, {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}, media.JSON


def _aggregated_type(version: str) -> str:
    return f"{media.JSON};g={AGGREGATED};v={version};as=APIGroupDiscoveryList"
