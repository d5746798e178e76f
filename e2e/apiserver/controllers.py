"""What a cluster does on its own after writes: the garbage collector and the cloud
controller's load-balancer cleanup finalizer, each after a delay (timers on the event loop).
"""

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from e2e.apiserver import services
from e2e.apiserver.errors import ApiError
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Key

if TYPE_CHECKING:
    from e2e.apiserver.api import Api

GC_AGENT = "generic-garbage-collector"
CLOUD_AGENT = "service-controller"


class Controllers:
    def __init__(self, api: "Api") -> None:
        self.api = api
        self._timers: set[asyncio.TimerHandle] = set()

    def removed(self, last: dict[str, Any]) -> None:
        """An object is gone: its dependents are checked after the collector's delay."""
        uid = last["metadata"]["uid"]
        dependents = [k for k, obj in self.api.store.objects.items() if _owned_by(obj, {uid})]
        if dependents:
            self._later(self.api.gc_delay, self.collect, dependents)

    def written(
        self, resource: Resource, key: Key, old: dict[str, Any] | None, new: dict[str, Any]
    ) -> None:
        refs = new["metadata"].get("ownerReferences") or []
        before = (old or {}).get("metadata", {}).get("ownerReferences") or []
        if refs != before and any(r.get("uid") not in self.api.store.by_uid for r in refs):
            self._later(self.api.gc_delay, self.collect, [key])
        if resource.kind == "Service":
            self._cloud(key, old, new)

    def collect(self, keys: Iterable[Key]) -> None:
        """The garbage collector: delete what no live owner holds, drop dangling owners."""
        for key in keys:
            obj = self.api.store.get(key)
            refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
            if obj is None or not refs:
                continue
            live = [r for r in refs if r.get("uid") in self.api.store.by_uid]
            if not live:
                self.api.delete(key, agent=GC_AGENT)
            elif len(live) < len(refs):
                self.api.write(key, functools.partial(_with_owners, refs=live), agent=GC_AGENT)

    def orphan(self, uid: str) -> None:
        for key, obj in list(self.api.store.objects.items()):
            if _owned_by(obj, {uid}):
                kept = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid]
                self.api.write(key, functools.partial(_with_owners, refs=kept), agent=GC_AGENT)

    def _cloud(self, key: Key, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
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
                delay = self.api.lb_cleanup_delay if deleting else 0
                self._later(delay, self._set_lb_finalizer, key, False)

    def _set_lb_finalizer(self, key: Key, present: bool) -> None:
        obj = self.api.store.get(key)
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

        self.api.write(key, change, agent=CLOUD_AGENT)

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


def _owned_by(obj: dict[str, Any], uids: set[str]) -> bool:
    return any(r.get("uid") in uids for r in obj["metadata"].get("ownerReferences") or [])


def _with_owners(obj: dict[str, Any], refs: list[dict[str, Any]]) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = refs
    return obj
