"""Pure steps of a write: apply a patch, keep server-owned fields, normalise, default."""

import copy
import datetime
from collections.abc import Mapping
from typing import Any

import jsonpatch

from e2e.apiserver import defaults, media, normalize, services, strategic
from e2e.apiserver.errors import ApiError
from e2e.apiserver.resources import Resource

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
# Fields of metadata only the server sets; a write cannot change them.
SERVER_METADATA = (
    "uid",
    "creationTimestamp",
    "name",
    "namespace",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_patch(
    resource: Resource, old: dict[str, Any], body: Any, content_type: str
) -> dict[str, Any]:
    kind = media.media_type(content_type)
    if kind == JSON_PATCH or isinstance(body, list):
        if not isinstance(body, list):
            raise ApiError(400, "a JSON patch must be a list of operations")
        try:
            patched = jsonpatch.apply_patch(old, body, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise ApiError(
                422, f"the server rejected our request due to an error in our request: {error}"
            ) from error
        return dict(patched)
    if kind not in (MERGE_PATCH, STRATEGIC_PATCH):
        raise ApiError(415, f"the body of the request was in an unknown format: {kind}")
    if not isinstance(body, dict):
        raise ApiError(400, "a merge patch must be a JSON object")
    if kind == MERGE_PATCH:
        return dict(merge_patch(old, body))
    if resource.custom:
        raise ApiError(
            415,
            "the body of the request was in an unknown format - accepted media types include:"
            " application/json-patch+json, application/merge-patch+json,"
            " application/apply-patch+yaml",
        )
    return dict(strategic.apply(old, body))


def only_what_the_endpoint_writes(
    resource: Resource, old: dict[str, Any], new: dict[str, Any], subresource: str
) -> dict[str, Any]:
    """``/status`` writes only the status; the object's endpoint writes all but the status."""
    if "status" not in resource.subresources:
        return new
    if subresource == "status":
        result = copy.deepcopy(old)
        if "status" in new:
            result["status"] = new["status"]
        else:
            result.pop("status", None)
        # The caller's resourceVersion still guards the write (optimistic concurrency).
        rv = new.get("metadata", {}).get("resourceVersion")
        result.setdefault("metadata", {})["resourceVersion"] = rv
        return result
    result = dict(new)
    if "status" in old:
        result["status"] = old["status"]
    else:
        result.pop("status", None)
    return result


def keep_server_fields(resource: Resource, old: dict[str, Any], new: dict[str, Any]) -> None:
    new["apiVersion"], new["kind"] = resource.api_version, resource.kind
    metadata = new.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise ApiError(400, "metadata must be an object")
    for key in SERVER_METADATA:
        if key in old.get("metadata", {}):
            metadata[key] = old["metadata"][key]
        else:
            metadata.pop(key, None)


def essence(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What ``generation`` counts changes of: everything but metadata and status."""
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def normalise(
    resource: Resource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    allocator: services.Allocator,
) -> list[tuple[str, str]]:
    """Store ``new`` as a real server would: omitempty, canonical quantities, defaults.

    Returns the validation causes of refused quantities (422).
    """
    new["metadata"] = normalize.prune_metadata(new.get("metadata") or {})
    if resource.custom:
        return []
    pruned = normalize.prune_top(new)
    new.clear()
    new.update(pruned)
    errors = normalize.canonical_resources({k: v for k, v in new.items() if k != "status"})
    if resource.kind == "Service":
        errors += services.default(new, old, allocator)
    elif resource.kind == "Lease":
        errors += normalize.lease_times(new)
    elif resource.kind in defaults.WORKLOADS:
        defaults.WORKLOADS[resource.kind](new)
    return errors
