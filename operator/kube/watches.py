"""Watches of the children, filtered by the API server with a label selector, and their cache.

kopf's ``labels=`` filter is applied after the objects arrive, so a kopf watch of ConfigMaps
streams (and decodes) every ConfigMap of the cluster. These watches ask the server for ours
only: LIST then WATCH with ``labelSelector`` and ``resourceVersion``, per kind and per served
namespace (one cluster-wide stream with ``-A``, or when a namespace is a glob pattern). A
stream that ends is re-opened from its last resourceVersion (bookmarks keep it fresh); 410
Gone, or any error, re-lists (after ``backoff.delay``). Objects deleted while no stream was
open are reported as DELETED after the re-list, so nothing is missed silently.

What the streams saw is kept (``cached``): the reconciler reads the live children from here
rather than with a GET each, while the stream of that kind and scope is in sync (listed, and
not failed since). ``relist()`` lists every stream's scope again (the resync does, so a child
deleted without any event is noticed). Each change goes to one synchronous handler ``(kind,
event_type, object)``, which only enqueues the owner: memory follows the number of our
children, not of events.
"""

import asyncio
import copy
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import kubernetes.client
from flowkeeper.operator import backoff, logs, metrics
from flowkeeper.operator.constants import CHILD_SELECTOR
from flowkeeper.operator.kube import client, stream
from flowkeeper.operator.kube.health import API

KINDS = ("ConfigMap", "Service", "DaemonSet")
SERVER_TIMEOUT_SECONDS = 300  # the server ends each watch after this; we re-open it
MIN_STREAM_SECONDS = 1.0  # a server closing every watch at once must not make a busy loop

Handler = Callable[[str, str, client.Object], None]  # kind, event type, object
Scope = tuple[str, str]  # kind, namespace ("" for cluster-wide)


class ChildWatches:
    """The child watches of one operator: ``start()`` at start-up, ``stop()`` at cleanup."""

    def __init__(
        self,
        configuration: kubernetes.client.Configuration,
        *,
        namespaces: Sequence[str],
        handler: Handler,
        logger: Any,
        kinds: Sequence[str] = KINDS,
        selector: str = CHILD_SELECTOR,
        server_timeout: int = SERVER_TIMEOUT_SECONDS,
    ) -> None:
        self._configuration = configuration
        self._scopes = scopes(namespaces)
        # Filtered here when the stream is cluster-wide because of a pattern.
        self._patterns = list(namespaces) if self._scopes == [""] else []
        self._handler, self._logger = handler, logger
        self._kinds, self._selector, self._server_timeout = kinds, selector, server_timeout
        self._tasks: list[asyncio.Task[None]] = []
        self._client: stream.Client | None = None
        # What each stream saw, by "namespace/name"; and the streams in sync with the server.
        self._cache: dict[Scope, dict[str, client.Object]] = {}
        self._synced: set[Scope] = set()
        # The resourceVersion of our own last write of each child: its watch event is an echo.
        self._written: dict[str, str] = {}

    async def start(self) -> None:
        self._client = stream.Client(self._configuration)
        for kind in self._kinds:
            for namespace in self._scopes:
                name = f"watch {kind} {namespace or '(all namespaces)'}"
                self._tasks.append(asyncio.create_task(self._stream(kind, namespace), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._synced.clear()
        if self._client is not None:
            await self._client.close()

    def cached(self, kind: str, namespace: str, name: str) -> tuple[bool, client.Object | None]:
        """(True, the child or None when it does not exist) while the stream of its kind and
        namespace is in sync; (False, None) when only a GET can tell."""
        scope = self._scope(kind, namespace)
        if scope is None or scope not in self._synced:
            return False, None
        found = self._cache.get(scope, {}).get(f"{namespace}/{name}")
        return True, copy.deepcopy(found) if found is not None else None

    def remember(
        self, kind: str, namespace: str, name: str, body: Mapping[str, Any] | None
    ) -> None:
        """The result of our own write (None: deleted), so the next reconcile does not act on
        what the watch has not shown yet; the watch event overwrites it when it comes."""
        written = f"{kind}/{namespace}/{name}"
        if body is None:
            self._written.pop(written, None)
        else:
            self._written[written] = _version(body)
        scope = self._scope(kind, namespace)
        if scope is None or scope not in self._synced:
            return
        objects = self._cache.setdefault(scope, {})
        if body is None:
            objects.pop(f"{namespace}/{name}", None)
        else:
            objects[f"{namespace}/{name}"] = {"kind": kind, **copy.deepcopy(dict(body))}

    def echo(self, kind: str, body: Mapping[str, Any]) -> bool:
        """Whether ``body`` (from a watch event) is the child exactly as we last wrote it: the
        echo of our own write, nothing to act on."""
        metadata = body.get("metadata") or {}
        written = f"{kind}/{metadata.get('namespace', '')}/{metadata.get('name', '')}"
        version = _version(body)
        return bool(version) and self._written.get(written) == version

    async def relist(self) -> None:
        """List every scope again and report what changed since (the resync's safety net).
        Everything is listed before anything is reported, so the caller's requests that follow
        at once coalesce with the reports."""
        assert self._client is not None
        listed: list[tuple[Scope, client.Object]] = []
        for kind in self._kinds:
            for namespace in self._scopes:
                path = collection_path(kind, namespace)
                selector = {"labelSelector": self._selector}
                listed.append(
                    ((kind, namespace), await self._client.list(path, selector, kind=kind))
                )
        for scope, items in listed:
            self._relisted(scope, items)

    def _scope(self, kind: str, namespace: str) -> Scope | None:
        if kind not in self._kinds:
            return None
        if self._scopes == [""]:
            return (kind, "") if served(namespace, self._patterns) else None
        return (kind, namespace) if namespace in self._scopes else None

    async def _stream(self, kind: str, namespace: str) -> None:
        """List, then watch from the list's resourceVersion, forever."""
        assert self._client is not None
        scope: Scope = (kind, namespace)
        path, selector = collection_path(kind, namespace), {"labelSelector": self._selector}
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    listed = await self._client.list(path, selector, kind=kind)
                    version = self._relisted(scope, listed)
                    self._synced.add(scope)
                params = {**selector, "allowWatchBookmarks": "true", "resourceVersion": version}
                opened = asyncio.get_running_loop().time()
                events = self._client.watch(path, params, kind=kind, seconds=self._server_timeout)
                async for event_type, body in events:
                    failures = 0
                    version = body.get("metadata", {}).get("resourceVersion") or version
                    if event_type != "BOOKMARK" and self._ours(body):
                        self._seen(scope, event_type, body)
                failures = 0  # the server ended the stream normally: re-open it at once,
                if asyncio.get_running_loop().time() - opened < MIN_STREAM_SECONDS:
                    await asyncio.sleep(MIN_STREAM_SECONDS)  # unless it ends as soon as opened
            except asyncio.CancelledError:
                raise
            except stream.GoneError:
                metrics.WATCH_RESTARTS.labels(kind=kind, cause="gone").inc()
                fields = {"kind": kind, "namespace": namespace or "(all)", "cause": "410 Gone"}
                self._logger.info(logs.line("watch expired, listing again", fields))
                version = None
            except Exception as error:  # noqa: BLE001  (a watch must outlive any error)
                failures += 1
                self._synced.discard(scope)
                retry_after = error.retry_after if isinstance(error, client.KubeError) else None
                delay = backoff.delay(failures, retry_after)
                metrics.WATCH_RESTARTS.labels(kind=kind, cause="error").inc()
                if client.transient(error):
                    API.failed(error)
                # One line per streak; an outage is logged once, by API.failed.
                if failures == 1 and API.reachable:
                    fields = {
                        "kind": kind,
                        "namespace": namespace or "(all)",
                        "in": f"{delay:.1f}s",
                    }
                    self._logger.warning(
                        logs.line("watch failed, listing again", {**fields, "error": error})
                    )
                version = None
                await asyncio.sleep(delay)

    def _relisted(self, scope: Scope, listed: client.Object) -> str:
        """Report what changed since the cache was filled (deletions included); the list's
        resourceVersion."""
        items = [item for item in listed.get("items") or [] if self._ours(item)]
        objects = self._cache.setdefault(scope, {})
        present = {_qualified(item): item for item in items}
        for gone in set(objects) - set(present):
            self._seen(scope, "DELETED", objects[gone])  # as last seen: it names its owner
        for qualified, item in present.items():
            item.setdefault("kind", scope[0])
            before = objects.get(qualified)
            if before != item:  # the content too: an object may change without a new version
                self._seen(scope, "ADDED" if before is None else "MODIFIED", item)
        return str(listed.get("metadata", {}).get("resourceVersion") or "")

    def _ours(self, body: client.Object) -> bool:
        """The selector again, and the namespace patterns (defence against a lax server)."""
        metadata = body.get("metadata") or {}
        key, _, value = self._selector.partition("=")
        if (metadata.get("labels") or {}).get(key) != value:
            return False
        return served(str(metadata.get("namespace", "")), self._patterns)

    def _seen(self, scope: Scope, event_type: str, body: client.Object) -> None:
        kind = scope[0]
        body.setdefault("kind", kind)  # list items come without it
        objects = self._cache.setdefault(scope, {})
        qualified = _qualified(body)
        if event_type == "DELETED":
            objects.pop(qualified, None)
            self._written.pop(f"{kind}/{qualified}", None)
        else:
            objects[qualified] = body
        self._handler(kind, event_type, body)


def scopes(namespaces: Sequence[str]) -> list[str]:
    """The namespaces to open streams in: "" is cluster-wide (all, or any glob pattern)."""
    if not namespaces or any(_is_pattern(n) for n in namespaces):
        return [""]
    return sorted(set(namespaces))


def served(namespace: str, patterns: Sequence[str]) -> bool:
    """kopf's namespace patterns: globs, and "!glob" to exclude; none means all."""
    wanted = [p for p in patterns if not p.startswith("!")]
    excluded = [p[1:] for p in patterns if p.startswith("!")]
    if wanted and not any(fnmatch.fnmatchcase(namespace, p) for p in wanted):
        return False
    return not any(fnmatch.fnmatchcase(namespace, p) for p in excluded)


def collection_path(kind: str, namespace: str) -> str:
    """The URL path of a kind's collection, in one namespace or ("") in all."""
    prefix, plural = client.KINDS[kind]
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def _is_pattern(namespace: str) -> bool:
    return any(char in namespace for char in "*?[!")


def _version(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


def _qualified(body: client.Object) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
