"""The Apply operation over the managers of an object: structured-merge-diff's
``merge.Updater.Apply`` (``merge/update.go``: merge, ``prune``, then ``update`` with its
conflicts) and kube's ``NewConflictError`` wording (k8s.io/apimachinery ``pkg/util/
managedfields/internal/conflict.go``), as the Kubernetes documentation describes them
(https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts).
"""

import json
from typing import Any, NamedTuple

from e2e.apiserver import fieldpath, objects, structured
from e2e.apiserver.errors import ApiError
from e2e.apiserver.fieldpath import FieldSet
from e2e.apiserver.listtypes import Schema
from e2e.apiserver.managedfields import (
    APPLY,
    UPDATE,
    Entry,
    FieldManager,
    Identity,
    decode,
    recordable,
    stripped,
)


class Conflict(NamedTuple):
    identity: Identity
    api_version: str
    path: fieldpath.Path


def applied(
    schema: Schema,
    live: dict[str, Any],
    config: dict[str, Any],
    writer: FieldManager,
    *,
    force: bool,
    endpoint_fields: "EndpointFilter",
    allowed: FieldSet | None = None,
) -> dict[str, Any]:
    """structured-merge-diff's ``Updater.Apply``: merge ``config`` into ``live``, own exactly
    its fields, remove the fields this manager applied before and no manager owns any more
    (``prune``), and take the changed fields from the others: a conflict (409) unless ``force``
    (or, for ``kubectl``, unless every conflict is a field of the client-side
    last-applied-configuration that still holds the live value, as kube's
    ``lastAppliedManager`` allows; the others are the conflicts reported). Sets
    ``writer.applied``; returns the merged object."""
    managers = decode(live.get("metadata", {}).get("managedFields"))
    identity = Identity(writer.manager, APPLY, writer.subresource)
    try:
        fields = endpoint_fields(
            recordable(structured.field_set(stripped(config), schema, strict=True))
        )
    except structured.SchemaError as error:
        raise ApiError(500, f"failed to create typed patch object: {error}") from error
    merged = structured.merge(live, config, schema)
    last = managers.get(identity)
    same = last is not None and last.same_fields and last.fields == fields
    managers[identity] = Entry(fields, objects.now(), config["apiVersion"], same)
    if last is not None and last.fields:
        owned = fieldpath.with_ancestors(f for e in managers.values() for f in e.fields)
        gone = structured.all_paths(stripped(merged), schema) & fieldpath.with_ancestors(
            last.fields
        )
        merged = structured.remove(merged, recordable(gone - owned), schema)
    change = structured.compare(stripped(live), stripped(merged), schema)
    taken = recordable(change.added | change.modified)
    conflicts = [
        Conflict(other, entry.api_version, path)
        for other, entry in managers.items()
        if other != identity
        for path in sorted(entry.fields & taken)
    ]
    if conflicts and not force:
        remaining = [c for c in conflicts if allowed is None or c.path not in allowed]
        if remaining:
            raise conflict_error(remaining)
    for other, entry in list(managers.items()):
        if other == identity:
            continue
        kept = entry.fields - taken - change.removed
        if not kept:
            del managers[other]
        elif len(kept) < len(entry.fields):
            managers[other] = entry._replace(fields=kept, same_fields=False)
    if merged == live and last is not None:
        managers[identity] = managers[identity]._replace(time=last.time)
    writer.applied = managers
    return dict(merged)


class EndpointFilter:
    """The fields an endpoint writes: the main one all but ``status`` (when the kind has a
    status subresource), ``/status`` only ``status`` (kube's reset fields)."""

    def __init__(self, *, subresource: str, has_status: bool) -> None:
        self.subresource = subresource
        self.has_status = has_status

    def __call__(self, fields: FieldSet) -> FieldSet:
        if self.subresource == "status":
            return {p for p in fields if p[:1] == ("f:status",)}
        if self.has_status:
            return {p for p in fields if p[:1] != ("f:status",)}
        return fields


def conflict_error(conflicts: list[Conflict]) -> ApiError:
    """409 as kube's ``NewConflictError`` words it."""

    def who(c: Conflict) -> str:
        shown = json.dumps(c.identity.manager)
        if c.identity.subresource:
            shown += f" with subresource {json.dumps(c.identity.subresource)}"
        if c.identity.operation == UPDATE:
            shown += f" using {c.api_version}"
        return shown

    if len(conflicts) == 1:
        only = conflicts[0]
        where = fieldpath.to_string(only.path)
        message = f"Apply failed with 1 conflict: conflict with {who(only)}: {where}"
    else:
        lines = []
        for manager in sorted({who(c) for c in conflicts}):
            lines.append(f"conflicts with {manager}:")
            lines += [f"- {fieldpath.to_string(c.path)}" for c in conflicts if who(c) == manager]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    causes = [
        {
            "type": "FieldManagerConflict",
            "message": f"conflict with {who(c)}",
            "field": fieldpath.to_string(c.path),
        }
        for c in conflicts
    ]
    return ApiError(409, message, details={"causes": causes})
