"""Which live objects the operator may write to. Pure: no I/O.

The operator writes only to objects it controls: a controller ownerReference to this very
FlowCollector (same uid). Two more cases are its own children from before and are re-owned:

* a controller reference to a FlowCollector of the *same name* with another uid: the
  FlowCollector was deleted and re-created, and the garbage collector has not removed the old
  children yet (a name is held by one object at a time, so the old owner is gone);
* no controller reference at all, but the managed-by and instance labels and the operator's
  last-applied annotation: an orphan left by ``kubectl delete --cascade=orphan``.

Everything else under a child's name is *foreign* (someone else's object, or another
FlowCollector's child): never written, adopted or deleted. The first owner keeps a name.
"""

from collections.abc import Mapping
from typing import Any, Literal

from flowkeeper.operator.constants import (
    API_VERSION,
    GROUP,
    INSTANCE_LABEL,
    KIND,
    LAST_APPLIED_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
)

Verdict = Literal["ours", "reown", "foreign"]


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """The controller ownerReference every child carries (deleting the owner deletes it)."""
    metadata = owner["metadata"]
    return {
        "apiVersion": str(owner.get("apiVersion") or API_VERSION),
        "kind": KIND,
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller(live: Mapping[str, Any]) -> Mapping[str, Any] | None:
    refs = (live.get("metadata") or {}).get("ownerReferences") or []
    return next((ref for ref in refs if ref.get("controller")), None)


def verdict(live: Mapping[str, Any], owner: Mapping[str, Any]) -> Verdict:
    """Whether ``live`` is this FlowCollector's child, its child from before, or foreign."""
    ref = controller(live)
    name, uid = owner["metadata"]["name"], owner["metadata"]["uid"]
    if ref is not None:
        if ref.get("uid") == uid:
            return "ours"
        ours = ref.get("kind") == KIND and str(ref.get("apiVersion", "")).startswith(f"{GROUP}/")
        return "reown" if ours and ref.get("name") == name else "foreign"
    metadata = live.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotated = LAST_APPLIED_ANNOTATION in (metadata.get("annotations") or {})
    labelled = labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(INSTANCE_LABEL) == name
    return "reown" if labelled and annotated else "foreign"


def reown_patch(live: Mapping[str, Any], owner: Mapping[str, Any]) -> dict[str, Any]:
    """Merge patch moving ``live`` to ``owner`` (other, non-controller references are kept)."""
    metadata = live.get("metadata") or {}
    kept = [ref for ref in metadata.get("ownerReferences") or [] if not ref.get("controller")]
    return {
        "metadata": {
            "ownerReferences": [*kept, owner_reference(owner)],
            "resourceVersion": metadata.get("resourceVersion"),
        }
    }


def describe(live: Mapping[str, Any]) -> str:
    """``Service edge-metrics (controlled by FlowCollector edge)``, for NameConflict messages."""
    name = (live.get("metadata") or {}).get("name")
    ref = controller(live)
    holder = f"controlled by {ref.get('kind')} {ref.get('name')}" if ref else "not controlled by us"
    return f"{live.get('kind', 'object')} {name} ({holder})"
