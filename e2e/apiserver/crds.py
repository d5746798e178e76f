"""CustomResourceDefinitions as API objects, and what they make the emulator serve.

A CRD written through ``apiextensions.k8s.io/v1 customresourcedefinitions`` (kubectl apply,
Helm's ``crds/``) becomes, for each served version, a resource the emulator serves and
validates against (schema, printer columns, short names, categories); its status gets
``NamesAccepted`` and ``Established`` True, as the apiextensions-apiserver's naming and
establishing controllers set them (a second write right after create or update). The
FlowCollector CRD (crds/flowcollector.yaml) is installed when the emulator starts.

Deleting a CRD is as in kube-apiserver: it gets the
``customresourcecleanup.apiextensions.k8s.io`` finalizer and a ``Terminating`` condition, its
custom resources are deleted (their own finalizers hold them; creating more is refused, 405),
and once none is left the CRD goes and the kind is no longer served (404). The finalizer
controller runs at once, not after a delay.

Custom resources are admitted as k8s.io/apiextensions-apiserver ``pkg/registry/customresource``
does: pruning, defaulting and schema validation (``structural``), then the CEL rules
(``cel``); unknown fields are refused (``fieldValidation=Strict``), reported in ``Warning``
headers (``Warn``, the default) or dropped silently (``Ignore``).
"""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from e2e.apiserver import (
    builtin_fields,
    cel,
    context,
    crd_validation,
    objects,
    resources,
    structural,
)
from e2e.apiserver.errors import ApiError
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Key

if TYPE_CHECKING:
    from e2e.apiserver.api import Api

CRD_GROUP, CRD_PLURAL = "apiextensions.k8s.io", "customresourcedefinitions"
DEFAULT_CRDS = (Path(__file__).resolve().parents[2] / "crds" / "flowcollector.yaml",)
CONTROLLER_AGENT = "apiextensions-controller"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


@dataclass(frozen=True)
class Served:
    """One served version of a CRD."""

    resource: Resource
    schema: structural.Schema
    columns: list[dict[str, Any]] = field(default_factory=list)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    list_kind: str = ""
    storage: bool = False
    crd: str = ""  # the CRD's name


def served_versions(crd: dict[str, Any]) -> list[Served]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        resource = Resource(
            str(spec.get("group", "")),
            str(version.get("name", "")),
            str(names.get("plural", "")),
            str(names.get("kind", "")),
            spec.get("scope", "Namespaced") == "Namespaced",
            tuple(s for s in ("status", "scale") if s in subresources),
        )
        served.append(
            Served(
                resource,
                ((version.get("schema") or {}).get("openAPIV3Schema")) or {},
                list(version.get("additionalPrinterColumns") or []),
                tuple(names.get("shortNames") or ()),
                tuple(names.get("categories") or ()),
                str(names.get("singular") or names.get("kind", "").lower()),
                str(names.get("listKind") or f"{names.get('kind', '')}List"),
                bool(version.get("storage")),
                str((crd.get("metadata") or {}).get("name", "")),
            )
        )
    return served


class Registry:
    """The CRDs in force: group/version/plural -> what is served."""

    def __init__(self) -> None:
        self.served: dict[tuple[str, str, str], Served] = {}
        self.by_crd: dict[str, list[tuple[str, str, str]]] = {}
        self.on_change: list[Callable[[], None]] = []  # e.g. the discovery documents
        self.cache: dict[str, Any] = {}  # documents built from what is served (openapi.py)
        self.terminating: set[str] = set()  # CRDs being deleted, waiting for their resources
        self.finalizing: set[str] = set()  # CRDs whose resources are being deleted right now

    def lookup(self, group: str, version: str, plural: str) -> Resource | None:
        """The resource a request path names: built-in kinds, and custom kinds while a CRD
        serves them."""
        custom = self.served.get((group, version, plural))
        if custom is not None:
            return custom.resource
        builtin = resources.lookup(group, version, plural)
        if builtin is None or builtin.custom:
            return None
        return builtin

    def of(self, resource: Resource) -> Served | None:
        return self.served.get((resource.group, resource.version, resource.plural))

    def install(self, crd: dict[str, Any]) -> list[Served]:
        """Serve what ``crd`` defines (replacing what it defined before)."""
        self.remove(crd)
        versions = served_versions(crd)
        name = crd["metadata"]["name"]
        self.by_crd[name] = []
        for one in versions:
            key = (one.resource.group, one.resource.version, one.resource.plural)
            self.served[key] = one
            self.by_crd[name].append(key)
        self._changed()
        return versions

    def remove(self, crd: dict[str, Any]) -> list[Resource]:
        keys = self.by_crd.pop(crd["metadata"]["name"], [])
        gone = [self.served.pop(key).resource for key in keys]
        if gone:
            self._changed()
        return gone

    def _changed(self) -> None:
        self.cache.clear()
        for listener in self.on_change:
            listener()

    # -- admission of custom resources -----------------------------------------------------

    def admit(
        self, resource: Resource, old: dict[str, Any] | None, new: dict[str, Any]
    ) -> list[structural.Cause]:
        """Prune, default and validate ``new`` in place; the causes of a 422."""
        served = self.of(resource)
        if served is None:
            unknown_fields(resource, new, builtin_fields.drop_unknown(resource, new))
            return crd_validation.validate(new) if is_crd(resource) else []
        if old is None and served.crd in self.terminating:
            raise ApiError(
                405, "create not allowed while custom resource definition is terminating"
            )
        unknown_fields(resource, new, structural.prune_object(new, served.schema))
        structural.default(new, served.schema)
        causes = structural.validate_object(new, served.schema)
        if old is not None:
            causes = _ratchet(causes, old, new)
        if any(reason == "FieldValueTypeInvalid" for _, reason, _ in causes):
            return causes
        rules = cel.check(served.schema, _cel_view(new), _cel_view(old))
        return causes + (_ratchet(rules, old, new) if old is not None else rules)


def unknown_fields(resource: Resource, new: dict[str, Any], dropped: list[str]) -> None:
    """What the request's ``fieldValidation`` makes of the fields decoding dropped."""
    request = context.current()
    if dropped and request.field_validation == "Strict":
        raise strict_error(resource, new, dropped, request.verb)
    if dropped and request.field_validation != "Ignore":
        request.warnings += [f'unknown field "{path}"' for path in dropped]


def _cel_view(obj: dict[str, Any] | None) -> Any:
    """The object as CEL rules see it: of metadata, only name and generateName."""
    if obj is None:
        return cel.MISSING
    view = {k: v for k, v in obj.items() if k != "metadata"}
    metadata = obj.get("metadata") or {}
    view["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
    return view


def _ratchet(
    causes: list[structural.Cause], old: dict[str, Any], new: dict[str, Any]
) -> list[structural.Cause]:
    """CRDValidationRatcheting (on by default since v1.30): an update keeps a value that was
    already invalid, where the value did not change."""
    return [c for c in causes if _at(old, c[0]) is _ABSENT or _at(old, c[0]) != _at(new, c[0])]


_ABSENT = object()


def _at(obj: Any, path: str) -> Any:
    current = obj
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1]) if part[1:-1].isdigit() else -1
            if not isinstance(current, list) or not 0 <= index < len(current):
                return _ABSENT
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return _ABSENT
    return current


def strict_error(
    resource: Resource, new: dict[str, Any], dropped: list[str], verb: str
) -> ApiError:
    """``fieldValidation=Strict`` and unknown fields: 400 on create and update (a strict
    decoding error of the body), 422 on patch (patch.go: ``field.Invalid(patch, ...)``)."""
    unknown = ", ".join(f'unknown field "{path}"' for path in dropped)
    if verb == "patch":
        shown = json.dumps(new, sort_keys=True, separators=(",", ":"))
        message = f"Invalid value: {json.dumps(shown)}: strict decoding error: {unknown}"
        return ApiError(
            422,
            f' "" is invalid: patch: {message}',
            details={
                "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]
            },
        )
    return ApiError(
        400,
        f'{resource.kind} in version "{resource.version}" cannot be handled as a'
        f" {resource.kind}: strict decoding error: {unknown}",
    )


def established(crd: dict[str, Any], now: str) -> dict[str, Any]:
    """The status the naming and establishing controllers give an accepted CRD."""
    spec = crd.get("spec") or {}
    old = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or []}

    def condition(kind: str, reason: str, message: str) -> dict[str, Any]:
        before = old.get(kind)
        if before and before.get("status") == "True" and before.get("reason") == reason:
            return dict(before)
        return {
            "type": kind,
            "status": "True",
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    names = copy.deepcopy(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stored = list((crd.get("status") or {}).get("storedVersions") or [])
    for version in spec.get("versions") or []:
        if version.get("storage") and version.get("name") not in stored:
            stored.append(version["name"])
    return {
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    }


def is_crd(resource: Resource) -> bool:
    return (resource.group, resource.plural) == (CRD_GROUP, CRD_PLURAL)


def written(api: "Api", key: Key, new: dict[str, Any]) -> None:
    """A CRD was created or updated: serve it, prune and default what is stored as
    kube-apiserver does when it reads an object (with the schema in force), and set its status
    as the controllers do."""
    if new["metadata"].get("deletionTimestamp"):
        return
    for one in api.crds.install(new):
        for stored_key, obj in list(api.store.objects.items()):
            if stored_key[0] == one.resource:
                read = copy.deepcopy(obj)
                structural.prune_object(read, one.schema)
                structural.default(read, one.schema)
                if read != obj:
                    api.store.objects[stored_key] = read
    status = established(new, objects.now())
    if new.get("status") == status:
        return

    def set_status(current: dict[str, Any]) -> dict[str, Any]:
        current["status"] = status
        return current

    api.write(key, set_status, subresource="status", agent=CONTROLLER_AGENT)


def removed(api: "Api", crd: dict[str, Any]) -> None:
    """A CRD is gone: its kinds are no longer served (its custom resources went before)."""
    for resource in api.crds.remove(crd):
        for key, obj in list(api.store.objects.items()):
            if key[0] == resource:  # none after the cleanup; kept for a CRD removed otherwise
                gone = copy.deepcopy(obj)
                gone["metadata"]["resourceVersion"] = api.store.bump()
                api._remove(key, gone)


def start_deletion(api: "Api", key: Key, crd: dict[str, Any]) -> dict[str, Any]:
    """The first DELETE of a CRD (apiextensions-apiserver
    ``registry/customresourcedefinition/etcd.go`` ``REST.Delete``): the deletion is stamped,
    the ``customresourcecleanup.apiextensions.k8s.io`` finalizer added and the CRD marked
    ``Terminating``; then the finalizer controller deletes the custom resources."""
    if crd["metadata"].get("deletionTimestamp"):
        return crd
    new = copy.deepcopy(crd)
    metadata = new["metadata"]
    metadata["deletionTimestamp"] = objects.now()
    if CLEANUP_FINALIZER not in (metadata.get("finalizers") or []):
        metadata["finalizers"] = [*(metadata.get("finalizers") or []), CLEANUP_FINALIZER]
    _set_condition(new, "Terminating", "True", *_PENDING)
    metadata["resourceVersion"] = api.store.bump()
    api.store.put(key, new, crd)
    api.crds.terminating.add(metadata["name"])
    finalize(api, metadata["name"])
    return api.store.get(key) or new


def finalize(api: "Api", name: str) -> None:
    """The CRD finalizer controller (``pkg/controller/finalizer/crd_finalizer.go``): delete
    every custom resource (their own finalizers are honoured), and once none is left, drop the
    cleanup finalizer so that the CRD goes."""
    crd_resource = resources.lookup(CRD_GROUP, "v1", CRD_PLURAL)
    assert crd_resource is not None
    key: Key = (crd_resource, "", name)
    kinds = {api.crds.served[k].resource for k in api.crds.by_crd.get(name, [])}
    instances = [k for k in api.store.objects if k[0] in kinds]
    api.crds.finalizing.add(name)
    try:
        for instance in instances:
            obj = api.store.get(instance)
            if obj is not None and not obj["metadata"].get("deletionTimestamp"):
                api.delete(instance, agent=CONTROLLER_AGENT)
    finally:
        api.crds.finalizing.discard(name)
    if any(k[0] in kinds for k in api.store.objects):
        if (api.store.get(key) or {}).get("status", {}).get("conditions"):
            api.write(
                key, _terminating(*_IN_PROGRESS), subresource="status", agent=CONTROLLER_AGENT
            )
        return
    api.crds.terminating.discard(name)

    def release(current: dict[str, Any]) -> dict[str, Any]:
        current = _terminating(*_COMPLETED)(current)
        finalizers = current["metadata"].get("finalizers") or []
        current["metadata"]["finalizers"] = [f for f in finalizers if f != CLEANUP_FINALIZER]
        return current

    if api.store.get(key) is not None:
        api.write(key, release, agent=CONTROLLER_AGENT)


def instance_removed(api: "Api", resource: Resource) -> None:
    """A custom resource is gone: a terminating CRD waiting for it may go now."""
    served = api.crds.of(resource)
    if served is not None and served.crd in api.crds.terminating - api.crds.finalizing:
        finalize(api, served.crd)


_PENDING = (
    "InstanceDeletionPending",
    "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
)
_IN_PROGRESS = ("InstanceDeletionInProgress", "CustomResource deletion is in progress")
_COMPLETED = ("InstanceDeletionCompleted", "removed all instances")


def _terminating(reason: str, message: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(current: dict[str, Any]) -> dict[str, Any]:
        _set_condition(
            current, "Terminating", "False" if reason == _COMPLETED[0] else "True", reason, message
        )
        return current

    return change


def _set_condition(crd: dict[str, Any], kind: str, status: str, reason: str, message: str) -> None:
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    before = next((c for c in conditions if c.get("type") == kind), None)
    same = before is not None and before.get("status") == status
    condition = {
        "type": kind,
        "status": status,
        "lastTransitionTime": before["lastTransitionTime"] if same and before else objects.now(),
        "reason": reason,
        "message": message,
    }
    crd["status"]["conditions"] = [c for c in conditions if c.get("type") != kind] + [condition]


def preinstall(api: "Api", files: tuple[Path, ...] = DEFAULT_CRDS) -> None:
    """The CRDs served from the start (crds/flowcollector.yaml unless told otherwise)."""
    crd_resource = resources.lookup(CRD_GROUP, "v1", CRD_PLURAL)
    assert crd_resource is not None
    for path in files:
        api.create(crd_resource, "", yaml.safe_load(path.read_text()), CONTROLLER_AGENT)
