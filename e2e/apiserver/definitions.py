"""The CustomResourceDefinition in force for a custom resource: the stored one (created by a
test, ``kubectl apply`` or Helm), else the repository's own from ``crds/`` (the emulator serves
its kinds from the start, as if that CRD were installed)."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from e2e.apiserver.resources import BY_PATH, Resource
from e2e.apiserver.store import Store

CRDS = Path(__file__).resolve().parents[2] / "crds"
CRD_RESOURCE = BY_PATH["apiextensions.k8s.io", "v1", "customresourcedefinitions"]


@cache
def bundled() -> dict[str, dict[str, Any]]:
    """The repository's CRDs by name (``flowcollectors.flows.flowkeeper.dev``)."""
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found[doc["metadata"]["name"]] = doc
    return found


def of(store: Store, resource: Resource) -> dict[str, Any] | None:
    """The CRD of ``resource`` (None for built-in kinds)."""
    name = resource.qualified
    stored = store.get((CRD_RESOURCE, "", name))
    return stored if stored is not None else bundled().get(name)
