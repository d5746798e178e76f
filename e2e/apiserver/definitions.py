"""The OpenAPI definitions of the built-in kinds: one copy, of one Kubernetes release.

kubernetes-validate ships each release's OpenAPI turned into JSON Schema as data
(``kubernetes-json-schema/v<release>-local/_definitions.json``: ``$defs`` with ``#/$defs/``
references, keeping the ``x-kubernetes-*`` extensions and patch merge keys). Every reader in
the emulator takes them from here: openapi.py publishes them (``/openapi/v2``, ``/openapi/v3``),
builtin_fields.py finds unknown fields with them, listtypes.py takes the list and map types
server-side apply merges by.

The release is v1.33, chosen rather than the newest kubernetes-validate ships: it is the
release the emulator follows everywhere else (``/version`` answers it, discovery.py; its short
names, categories and printers are 1.33's), and the newest kubectl on this machine is 1.33, so
kubectl's ``explain`` and validation see the fields the server it talks to would know, and
server-side apply merges by the list types that server would use.
"""

import functools
from collections.abc import Mapping
from typing import Any

import kubernetes_validate.utils

from e2e.apiserver.resources import CUSTOM_GROUPS, Resource

KUBERNETES = "1.33.0"
MAJOR, MINOR, _ = KUBERNETES.split(".")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


@functools.cache
def definitions() -> Mapping[str, Any]:
    """Every definition by name (``io.k8s.api.core.v1.ConfigMap``), as shipped: JSON Schema
    with ``#/$defs/`` references. Shared: never change them in place."""
    loaded = kubernetes_validate.utils.schema_contents(
        f"kubernetes-json-schema/v{KUBERNETES}-local/_definitions.json", KUBERNETES
    )
    return dict(loaded["$defs"])


@functools.cache
def _by_kind() -> Mapping[tuple[str, str, str], str]:
    table = {}
    for name, definition in definitions().items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            table[gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")] = name
    return table


def name_of(group: str, version: str, kind: str) -> str | None:
    """The definition of a built-in kind (``io.k8s.api.core.v1.ConfigMap``), None for a kind
    the definitions lack (custom resources among them)."""
    if group in CUSTOM_GROUPS:
        return None
    return _by_kind().get((group, version, kind))


def of_resource(resource: Resource) -> str | None:
    """The definition of a served built-in resource's kind (None for custom resources)."""
    return name_of(resource.group, resource.version, resource.kind)
