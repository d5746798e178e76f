"""Objects, resourceVersions, and watch streams with history (synchronous: one event loop).

Every stored object is a fresh dict that is never mutated afterwards, so the history of
events and the streams can share them.
"""

import asyncio
import collections
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from e2e.apiserver.resources import Resource

Key = tuple[Resource, str, str]  # resource, namespace ("" when cluster-scoped), name
HISTORY = 10_000  # events kept per resource for watches that resume from a resourceVersion


@dataclass(eq=False)  # hashed by identity: watchers live in a set
class Watcher:
    resource: Resource
    namespace: str | None
    name: str | None
    matches: Callable[[Mapping[str, Any]], bool]
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def offer(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Queue the event as this watcher sees it: an object that stops matching the
        selector is DELETED for it, one that starts matching is ADDED (as the watch cache does)."""
        metadata = obj["metadata"]
        if self.namespace is not None and metadata.get("namespace", "") != self.namespace:
            return
        if self.name is not None and metadata["name"] != self.name:
            return
        now, before = self.matches(obj), old is not None and self.matches(old)
        if kind == "MODIFIED" and now != before:
            kind = "ADDED" if now else "DELETED"
        elif not now and not (kind == "DELETED" and before):
            return
        self.queue.put_nowait({"type": kind, "object": obj})


class Store:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.by_uid: dict[str, Key] = {}
        self.version = 0
        self._history: dict[Resource, collections.deque[tuple[int, str, Any, Any]]] = (
            collections.defaultdict(lambda: collections.deque(maxlen=HISTORY))
        )
        self._compacted: dict[Resource, int] = collections.defaultdict(int)
        self.watchers: set[Watcher] = set()

    def bump(self) -> str:
        self.version += 1
        return str(self.version)

    def get(self, key: Key) -> dict[str, Any] | None:
        return self.objects.get(key)

    def items(self, resource: Resource, namespace: str | None) -> Iterator[dict[str, Any]]:
        chosen = [
            (key[1:], obj)
            for key, obj in self.objects.items()
            if key[0] == resource and (namespace is None or key[1] == namespace)
        ]
        for _, obj in sorted(chosen, key=lambda item: item[0]):
            yield obj

    def put(self, key: Key, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.objects[key] = obj
        self.by_uid[obj["metadata"]["uid"]] = key
        self._emit(key[0], "MODIFIED" if old is not None else "ADDED", obj, old)

    def remove(self, key: Key, obj: dict[str, Any]) -> None:
        """Forget an object; ``obj`` is its last state (with the deletion's resourceVersion)."""
        old = self.objects.pop(key)
        self.by_uid.pop(old["metadata"]["uid"], None)
        self._emit(key[0], "DELETED", obj, old)

    def _emit(self, resource: Resource, kind: str, obj: dict[str, Any], old: Any) -> None:
        history = self._history[resource]
        if len(history) == history.maxlen:
            self._compacted[resource] = history[0][0]
        history.append((int(obj["metadata"]["resourceVersion"]), kind, obj, old))
        for watcher in list(self.watchers):
            if watcher.resource == resource:
                watcher.offer(kind, obj, old)

    def watch(self, watcher: Watcher, since: str | None) -> bool:
        """Start a watcher: replay what happened after ``since`` (or every object as ADDED
        when it is empty or "0"), then live events. False when ``since`` is too old (410)."""
        if not since or since == "0":
            for obj in self.items(watcher.resource, watcher.namespace):
                watcher.offer("ADDED", obj, None)
        else:
            try:
                start = int(since)
            except ValueError:
                return False
            if start < self._compacted[watcher.resource]:
                return False
            for version, kind, obj, old in self._history[watcher.resource]:
                if version > start:
                    watcher.offer(kind, obj, old)
        self.watchers.add(watcher)
        return True

    def close(self) -> None:
        for watcher in self.watchers:
            watcher.queue.put_nowait(None)
        self.watchers.clear()
