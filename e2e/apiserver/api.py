"""The API's semantics without HTTP: create, write (patch/update) and delete, each checked,
normalised and stored; the controllers a cluster runs on its own react to them."""

import contextlib
import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e.apiserver import admission, crds, listtypes, objects, services
from e2e.apiserver.controllers import CLOUD_AGENT, GC_AGENT, Controllers
from e2e.apiserver.errors import ApiError, already_exists, conflict, invalid, not_found
from e2e.apiserver.managedfields import FieldManager, manager_of, working_copy
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Key, Store


class Api:
    def __init__(
        self,
        *,
        gc_delay: float = 2.0,
        lb_cleanup_delay: float = 2.0,
        crd_files: tuple[Path, ...] = crds.DEFAULT_CRDS,
    ) -> None:
        self.store = Store()
        self.allocator = services.Allocator()
        self.gc_delay = gc_delay
        self.lb_cleanup_delay = lb_cleanup_delay
        # RBAC rules of the caller for OwnerReferencesPermissionEnforcement; None: disabled.
        self.owner_reference_rules: list[admission.Rule] | None = None
        self.exempt_agents: tuple[str, ...] = ()
        self.controllers = Controllers(self)
        self.crds = crds.Registry()  # what CRDs make served, and their schemas
        crds.preinstall(self, crd_files)

    # -- writes -------------------------------------------------------------------------------

    def create(
        self,
        resource: Resource,
        namespace: str,
        body: Any,
        agent: str = "",
        *,
        dry_run: bool = False,
        field_manager: FieldManager | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be a JSON object")
        new = copy.deepcopy(body)
        metadata = new.get("metadata")
        if not isinstance(metadata, dict):
            metadata = new["metadata"] = {}
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        if not metadata.get("name"):
            raise admission_error(
                resource,
                "",
                [("metadata.name", "Required value: name or generateName is required")],
            )
        if resource.namespaced:
            if metadata.get("namespace") and namespace and metadata["namespace"] != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent"
                    " on the request",
                )
            metadata["namespace"] = namespace or metadata.get("namespace") or "default"
        else:
            metadata.pop("namespace", None)
        key: Key = (resource, metadata.get("namespace", ""), metadata["name"])
        if key in self.store.objects:
            raise already_exists(resource.qualified, metadata["name"])
        if "status" in resource.subresources:
            new.pop("status", None)
        if resource.kind == "Namespace":
            new["status"] = {"phase": "Active"}  # the namespace strategy's PrepareForCreate
        new["apiVersion"], new["kind"] = resource.api_version, resource.kind
        for field in objects.SERVER_METADATA[4:]:
            metadata.pop(field, None)
        metadata.pop("resourceVersion", None)
        self._admit(resource, None, new, agent, dry_run=dry_run)
        metadata = new["metadata"]
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=objects.now())
        if resource.has_generation:
            metadata["generation"] = 1
        self._record(resource, None, new, field_manager or FieldManager(manager_of(None, agent)))
        if dry_run:
            return new  # what would be stored, without a resourceVersion
        metadata["resourceVersion"] = self.store.bump()
        self.store.put(key, new, None)
        self._after_write(resource, key, None, new)
        return new

    def write(
        self,
        key: Key,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        subresource: str = "",
        agent: str = "",
        dry_run: bool = False,
        field_manager: FieldManager | None = None,
    ) -> dict[str, Any]:
        """Patch or update: ``change`` builds the new object from a copy of the stored one.

        With ``dry_run``, the object as it would be stored is returned and nothing changes."""
        resource, _, name = key
        old = self.store.get(key)
        if old is None:
            raise not_found(resource.qualified, name)
        new = change(working_copy(old))
        if not isinstance(new, dict):
            raise ApiError(400, "the object must be a JSON object")
        new = objects.only_what_the_endpoint_writes(resource, old, new, subresource)
        sent_version = (new.get("metadata") or {}).get("resourceVersion")
        if sent_version and sent_version != old["metadata"]["resourceVersion"]:
            raise conflict(resource.qualified, name)
        objects.keep_server_fields(resource, old, new)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._admit(resource, old, new, agent, dry_run=dry_run)
        if "generation" in old["metadata"] and objects.essence(new) != objects.essence(old):
            new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
        writer = field_manager or FieldManager(manager_of(None, agent), subresource)
        self._record(resource, old, new, writer)
        if new == old:
            return old  # nothing changed: no new resourceVersion, no event
        if dry_run:
            return new
        new["metadata"]["resourceVersion"] = self.store.bump()
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(key, new)
            return new
        self.store.put(key, new, old)
        self._after_write(resource, key, old, new)
        return new

    def delete(
        self, key: Key, options: Any = None, agent: str = "", *, dry_run: bool = False
    ) -> dict[str, Any]:
        resource, _, name = key
        old = self.store.get(key)
        if old is None:
            raise not_found(resource.qualified, name)
        options = options if isinstance(options, dict) else {}
        preconditions = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if preconditions.get(field) and preconditions[field] != old["metadata"].get(field):
                raise conflict(resource.qualified, name)
        if dry_run:
            if not old["metadata"].get("finalizers"):
                return old
            held = copy.deepcopy(old)
            held["metadata"].setdefault("deletionTimestamp", objects.now())
            return held
        if options.get("propagationPolicy") == "Orphan":
            self.controllers.orphan(old["metadata"]["uid"])
        if resource.kind == "Namespace":
            # The namespace controller's part, at once: everything in it goes too.
            for inner in [k for k in self.store.objects if k[0].namespaced and k[1] == name]:
                with contextlib.suppress(ApiError):
                    self.delete(inner, agent="namespace-controller")
        if crds.is_crd(resource):
            return crds.start_deletion(self, key, old)  # its finalizer, then its resources
        if not old["metadata"].get("finalizers"):
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = self.store.bump()
            self._remove(key, gone)
            return gone
        if old["metadata"].get("deletionTimestamp"):
            return old
        new = copy.deepcopy(old)
        new["metadata"].update(deletionTimestamp=objects.now(), deletionGracePeriodSeconds=0)
        if "generation" in new["metadata"]:
            new["metadata"]["generation"] += 1
        new["metadata"]["resourceVersion"] = self.store.bump()
        self.store.put(key, new, old)
        self._after_write(resource, key, old, new)
        return new

    # -- field management ---------------------------------------------------------------------

    def schema(self, resource: Resource) -> listtypes.Schema:
        """What server-side apply merges by (a custom resource's from the CRD serving it)."""
        served = self.crds.of(resource)
        return listtypes.of_resource(resource, served.schema if served else None)

    def _record(
        self,
        resource: Resource,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        writer: FieldManager,
    ) -> None:
        built_in = listtypes.is_built_in(resource)
        writer.record(self.schema(resource), old, new, built_in=built_in)

    # -- checks -------------------------------------------------------------------------------

    def _admit(
        self,
        resource: Resource,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        agent: str,
        *,
        dry_run: bool = False,
    ) -> None:
        # A refused or dry-run write allocates no cluster IP or node port for good.
        saved = self.allocator.snapshot()
        try:
            self._check(resource, old, new, agent)
        except ApiError:
            self.allocator.restore(saved)
            raise
        if dry_run:
            self.allocator.restore(saved)

    def _check(
        self, resource: Resource, old: dict[str, Any] | None, new: dict[str, Any], agent: str
    ) -> None:
        # Custom resources against their CRD (crds.py), and CRDs themselves.
        causes: list[tuple[str, str] | tuple[str, str, str]] = [
            *self.crds.admit(resource, old, new)
        ]
        causes += objects.normalise(resource, old, new, self.allocator)
        causes += admission.validate(resource, old, new)
        if causes:
            raise admission_error(resource, new["metadata"].get("name", ""), causes)
        if not agent.startswith((GC_AGENT, CLOUD_AGENT, *self.exempt_agents)):
            admission.check_owner_references(
                self.owner_reference_rules, resource, old, new, agent or "system:anonymous"
            )

    def _remove(self, key: Key, last: dict[str, Any]) -> None:
        self.store.remove(key, last)
        if key[0].kind == "Service":
            self.allocator.release(last)
        self.controllers.removed(last)
        if crds.is_crd(key[0]):
            crds.removed(self, last)
        elif key[0].custom:
            crds.instance_removed(self, key[0])

    def _after_write(
        self, resource: Resource, key: Key, old: dict[str, Any] | None, new: dict[str, Any]
    ) -> None:
        self.controllers.written(resource, key, old, new)
        if crds.is_crd(resource):
            crds.written(self, key, new)

    def close(self) -> None:
        self.controllers.close()
        self.store.close()


def admission_error(
    resource: Resource, name: str, causes: "list[tuple[str, str] | tuple[str, str, str]]"
) -> ApiError:
    return invalid(resource.kind, resource.qualified, name, causes)
