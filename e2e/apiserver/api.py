"""The API's semantics without HTTP: create, write (patch/update), delete, and the server-side
controllers a cluster runs on its own (garbage collector, cloud load-balancer finalizer).
"""

import asyncio
import contextlib
import copy
import functools
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from e2e.apiserver import admission, objects, services
from e2e.apiserver.errors import ApiError, already_exists, conflict, invalid, not_found
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Key, Store

GC_AGENT = "generic-garbage-collector"
CLOUD_AGENT = "service-controller"


class Api:
    def __init__(self, *, gc_delay: float = 2.0, lb_cleanup_delay: float = 2.0) -> None:
        self.store = Store()
        self.allocator = services.Allocator()
        self.gc_delay = gc_delay
        self.lb_cleanup_delay = lb_cleanup_delay
        # RBAC rules of the caller for OwnerReferencesPermissionEnforcement; None: disabled.
        self.owner_reference_rules: list[admission.Rule] | None = None
        self.exempt_agents: tuple[str, ...] = ()
        self._timers: set[asyncio.TimerHandle] = set()

    # -- writes -------------------------------------------------------------------------------

    def create(
        self, resource: Resource, namespace: str, body: Any, agent: str = ""
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
        new["apiVersion"], new["kind"] = resource.api_version, resource.kind
        for field in objects.SERVER_METADATA[4:]:
            metadata.pop(field, None)
        metadata.pop("resourceVersion", None)
        self._admit(resource, None, new, agent)
        metadata = new["metadata"]
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=objects.now())
        if resource.has_generation:
            metadata["generation"] = 1
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
    ) -> dict[str, Any]:
        """Patch or update: ``change`` builds the new object from a copy of the stored one."""
        resource, _, name = key
        old = self.store.get(key)
        if old is None:
            raise not_found(resource.qualified, name)
        new = change(copy.deepcopy(old))
        if not isinstance(new, dict):
            raise ApiError(400, "the object must be a JSON object")
        new = objects.only_what_the_endpoint_writes(resource, old, new, subresource)
        sent_version = (new.get("metadata") or {}).get("resourceVersion")
        if sent_version and sent_version != old["metadata"]["resourceVersion"]:
            raise conflict(resource.qualified, name)
        objects.keep_server_fields(resource, old, new)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._admit(resource, old, new, agent)
        if "generation" in old["metadata"] and objects.essence(new) != objects.essence(old):
            new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
        if new == old:
            return old  # nothing changed: no new resourceVersion, no event
        new["metadata"]["resourceVersion"] = self.store.bump()
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(key, new)
            return new
        self.store.put(key, new, old)
        self._after_write(resource, key, old, new)
        return new

    def delete(self, key: Key, options: Any = None, agent: str = "") -> dict[str, Any]:
        resource, _, name = key
        old = self.store.get(key)
        if old is None:
            raise not_found(resource.qualified, name)
        options = options if isinstance(options, dict) else {}
        preconditions = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if preconditions.get(field) and preconditions[field] != old["metadata"].get(field):
                raise conflict(resource.qualified, name)
        if options.get("propagationPolicy") == "Orphan":
            self._orphan(old["metadata"]["uid"])
        if resource.kind == "Namespace":
            # The namespace controller's part, at once: everything in it goes too.
            for inner in [k for k in self.store.objects if k[0].namespaced and k[1] == name]:
                with contextlib.suppress(ApiError):
                    self.delete(inner, agent="namespace-controller")
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

    # -- checks -------------------------------------------------------------------------------

    def _admit(
        self, resource: Resource, old: dict[str, Any] | None, new: dict[str, Any], agent: str
    ) -> None:
        causes = objects.normalise(resource, old, new, self.allocator)
        causes += admission.validate(resource, old, new)
        if causes:
            raise admission_error(resource, new["metadata"].get("name", ""), causes)
        if not agent.startswith((GC_AGENT, CLOUD_AGENT, *self.exempt_agents)):
            admission.check_owner_references(
                self.owner_reference_rules, resource, old, new, agent or "system:anonymous"
            )

    # -- controllers --------------------------------------------------------------------------

    def _remove(self, key: Key, last: dict[str, Any]) -> None:
        self.store.remove(key, last)
        if key[0].kind == "Service":
            self.allocator.release(last)
        uid = last["metadata"]["uid"]
        dependents = [k for k, obj in self.store.objects.items() if _owned_by(obj, {uid})]
        if dependents:
            self._later(self.gc_delay, self._collect, dependents)

    def _after_write(
        self, resource: Resource, key: Key, old: dict[str, Any] | None, new: dict[str, Any]
    ) -> None:
        refs = new["metadata"].get("ownerReferences") or []
        before = (old or {}).get("metadata", {}).get("ownerReferences") or []
        if refs != before and any(r.get("uid") not in self.store.by_uid for r in refs):
            self._later(self.gc_delay, self._collect, [key])
        if resource.kind == "Service":
            self._cloud_controller(key, old, new)

    def _collect(self, keys: Iterable[Key]) -> None:
        """The garbage collector: delete what no live owner holds, drop dangling owners."""
        for key in keys:
            obj = self.store.get(key)
            refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
            if obj is None or not refs:
                continue
            live = [r for r in refs if r.get("uid") in self.store.by_uid]
            if not live:
                self.delete(key, agent=GC_AGENT)
            elif len(live) < len(refs):
                self.write(key, functools.partial(_with_owners, refs=live), agent=GC_AGENT)

    def _orphan(self, uid: str) -> None:
        for key, obj in list(self.store.objects.items()):
            if _owned_by(obj, {uid}):
                kept = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid]
                self.write(key, functools.partial(_with_owners, refs=kept), agent=GC_AGENT)

    def _cloud_controller(self, key: Key, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """A LoadBalancer Service gets the cleanup finalizer; it goes a while after deletion
        is requested (or at once when the Service stops being a LoadBalancer)."""
        finalizers = new["metadata"].get("finalizers") or []
        is_lb = (new.get("spec") or {}).get("type") == "LoadBalancer"
        deleting = bool(new["metadata"].get("deletionTimestamp"))
        if is_lb and not deleting and services.LB_CLEANUP_FINALIZER not in finalizers:
            self._later(0, self._set_lb_finalizer, key, True)
        elif services.LB_CLEANUP_FINALIZER in finalizers and (deleting or not is_lb):
            was_deleting = bool((old or {}).get("metadata", {}).get("deletionTimestamp"))
            if not was_deleting or not is_lb:
                delay = self.lb_cleanup_delay if deleting else 0
                self._later(delay, self._set_lb_finalizer, key, False)

    def _set_lb_finalizer(self, key: Key, present: bool) -> None:
        obj = self.store.get(key)
        if obj is None:
            return
        finalizers = [
            f for f in obj["metadata"].get("finalizers") or [] if f != services.LB_CLEANUP_FINALIZER
        ]
        if present:
            if obj["metadata"].get("deletionTimestamp"):
                return
            finalizers.append(services.LB_CLEANUP_FINALIZER)

        def change(current: dict[str, Any]) -> dict[str, Any]:
            current["metadata"]["finalizers"] = finalizers
            return current

        self.write(key, change, agent=CLOUD_AGENT)

    def _later(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            self._timers.discard(handle)
            # An object that changed meanwhile is left alone; its next write reschedules.
            with contextlib.suppress(ApiError):
                callback(*args)

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self.store.close()


def admission_error(resource: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    return invalid(resource.kind, resource.qualified, name, causes)


def _owned_by(obj: dict[str, Any], uids: set[str]) -> bool:
    return any(r.get("uid") in uids for r in obj["metadata"].get("ownerReferences") or [])


def _with_owners(obj: dict[str, Any], refs: list[dict[str, Any]]) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = refs
    return obj
