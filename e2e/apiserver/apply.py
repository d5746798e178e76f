"""Server-side apply requests: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``.

As kube-apiserver answers them (k8s.io/apiserver ``pkg/endpoints/handlers/patch.go``,
``applyPatcher``; https://kubernetes.io/docs/reference/using-api/server-side-apply/):

* the body is YAML (JSON is YAML) holding one object of the endpoint's kind and version
  (400 ``invalid object type: <group>/<version>, Kind=<kind>`` otherwise), named as the URL;
  ``metadata.managedFields`` must be absent (400);
* ``?fieldManager=`` is required (422 ``PatchOptions.meta.k8s.io "" is invalid: fieldManager:
  Required value: is required for apply patch``), ``?force=true`` takes conflicting fields
  over; ``force`` on any other patch is 422;
* an absent object is created (201) from the configuration; ``/status`` of an absent one is 404;
* the merge, ownership, pruning and conflicts are ``applying.applied``; the result then
  goes through the same write path as every other write (normalisation, defaults, validation,
  generation, no-op detection, watch events);
* with manager ``kubectl`` (``kubectl apply --server-side``), an object that carries
  ``kubectl.kubernetes.io/last-applied-configuration`` gets it rewritten to the applied
  configuration, and conflicts on fields of that annotation are not conflicts (kube's
  ``lastAppliedUpdater``/``lastAppliedManager``, for moving from client-side apply).
"""

import json
from collections.abc import Mapping
from typing import Any

from e2e.apiserver import listtypes, media
from e2e.apiserver.api import Api
from e2e.apiserver.applying import EndpointFilter, applied
from e2e.apiserver.errors import ApiError, invalid, not_found
from e2e.apiserver.fieldpath import FieldSet
from e2e.apiserver.managedfields import FieldManager, stripped
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Key
from e2e.apiserver.structured import SchemaError, compare, field_set

CONTENT_TYPE = "application/apply-patch+yaml"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"


def check_options(params: Mapping[str, str], *, apply: bool) -> None:
    """kube's ValidatePatchOptions: fieldManager required for apply, force only there."""
    if apply and not params.get("fieldManager"):
        cause = ("fieldManager", "Required value: is required for apply patch")
        raise invalid("PatchOptions", "PatchOptions.meta.k8s.io", "", [cause])
    if not apply and "force" in params:
        cause = ("force", "Forbidden: may not be specified for non-apply patch")
        raise invalid("PatchOptions", "PatchOptions.meta.k8s.io", "", [cause])


def _force(params: Mapping[str, str]) -> bool:
    value = params.get("force", "false").lower()
    if value not in ("true", "false", "1", "0", ""):
        raise ApiError(400, f'invalid value for force: "{value}"; allowed: true, false')
    return value in ("true", "1")


def parse(text: str, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
    config = media.load_yaml(text, "error decoding YAML")  # kube's applyPatcher wording
    if not isinstance(config, dict):
        raise ApiError(400, "the body of an apply patch must be an object")
    if (config.get("apiVersion"), config.get("kind")) != (resource.api_version, resource.kind):
        group_version = f"{resource.group}/{resource.version}"
        shown = f"{config.get('apiVersion') or group_version}, Kind={config.get('kind') or ''}"
        raise ApiError(400, f"invalid object type: {shown}")
    metadata = config.get("metadata")
    if not isinstance(metadata, dict):
        raise ApiError(400, "metadata must be an object")
    if metadata.get("managedFields") is not None:
        raise ApiError(400, "metadata.managedFields must be nil")
    if metadata.get("name") != name:
        raise ApiError(
            400,
            f"the name of the object ({metadata.get('name')}) does not match the name on the URL"
            f" ({name})",
        )
    if resource.namespaced and metadata.get("namespace") not in (None, namespace):
        raise ApiError(
            400,
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    return dict(_without_nulls(config))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def serve(
    api: Api,
    key: Key,
    subresource: str,
    text: str,
    params: Mapping[str, str],
    agent: str,
    *,
    dry_run: bool = False,
) -> tuple[dict[str, Any], int]:
    """Apply the request's configuration: the stored (or would-be) object and the HTTP code
    (``params`` passed ``check_options`` first)."""
    resource, namespace, name = key
    config = parse(text, resource, namespace, name)
    force = _force(params)
    writer = FieldManager(params["fieldManager"], subresource)
    has_status = "status" in resource.subresources
    endpoint = EndpointFilter(subresource=subresource, has_status=has_status)
    if subresource == "status":
        config = {
            k: v for k, v in config.items() if k in ("apiVersion", "kind", "metadata", "status")
        }
    elif has_status:
        config.pop("status", None)
    schema = api.schema(resource)
    live = api.store.get(key)
    if live is None:
        if subresource:
            raise not_found(resource.qualified, name)
        empty = {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {}}
        body = applied(schema, empty, config, writer, force=force, endpoint_fields=endpoint)
        created = api.create(
            resource, namespace, body, agent, dry_run=dry_run, field_manager=writer
        )
        return created, 201

    def change(old: dict[str, Any]) -> dict[str, Any]:
        allowed = _last_applied_fields(old, schema) if writer.manager == KUBECTL else None
        merged = applied(
            schema, old, config, writer, force=force, endpoint_fields=endpoint, allowed=allowed
        )
        if writer.manager == KUBECTL and LAST_APPLIED in (
            old.get("metadata", {}).get("annotations") or {}
        ):
            annotations = merged["metadata"].setdefault("annotations", {})
            annotations[LAST_APPLIED] = _last_applied(config)
        return merged

    written = api.write(
        key, change, subresource=subresource, agent=agent, dry_run=dry_run, field_manager=writer
    )
    return written, 200


def _last_applied_fields(live: dict[str, Any], schema: listtypes.Schema) -> FieldSet | None:
    """kube's allowedConflictsFromLastApplied: the fields of the client-side apply's
    annotation (of the live apiVersion) whose values the live object still holds."""
    text = (live.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != live.get("apiVersion"):
        return None
    try:
        fields = field_set(stripped(last), schema, strict=True)
    except SchemaError:
        return None
    differ = compare(stripped(last), stripped(live), schema)
    return fields - differ.modified - differ.added - differ.removed


def _last_applied(config: dict[str, Any]) -> str:
    """What kubectl writes to the annotation: the configuration without it, as JSON."""
    shown = json.loads(json.dumps(config))
    annotations = shown.get("metadata", {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            shown["metadata"].pop("annotations")
    return json.dumps(shown, separators=(",", ":"), sort_keys=True) + "\n"
