"""Watches of the children, filtered by the API server with a label selector.

kopf's ``labels=`` filter is applied after the objects arrive, so a kopf watch of ConfigMaps
streams (and decodes) every ConfigMap of the cluster. These watches ask the server for ours
only: LIST then WATCH with ``labelSelector`` and ``resourceVersion``, per kind and per served
namespace (one cluster-wide stream with ``-A``, or when a namespace is a glob pattern). A
stream that ends is re-opened from its last resourceVersion (bookmarks keep it fresh); 410
Gone, or any error, re-lists after a backoff. Objects deleted while no stream was open are
reported as DELETED after the re-list, so nothing is missed silently.

Events go to one handler ``(kind, event_type, object)`` through a ``dispatch.Dispatcher``.
"""

import asyncio
import fnmatch
from collections.abc import Sequence
from typing import Any

import kubernetes.client
from flowkeeper.operator import metrics
from flowkeeper.operator.control import queue as dispatch
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import stream as watchapi

SELECTOR = "app.kubernetes.io/managed-by=flowkeeper"
KINDS = ("ConfigMap", "Service", "DaemonSet")
SERVER_TIMEOUT_SECONDS = 300  # the server ends each watch after this; we re-open it
MAX_BACKOFF_SECONDS = 30.0
MIN_STREAM_SECONDS = 1.0  # a server closing every watch at once must not make a busy loop


class ChildWatches:
    """The child watches of one operator: ``start()`` at start-up, ``stop()`` at cleanup."""

    def __init__(
        self,
        configuration: kubernetes.client.Configuration,
        *,
        namespaces: Sequence[str],
        handler: dispatch.Handler,
        logger: Any,
        kinds: Sequence[str] = KINDS,
        selector: str = SELECTOR,
        server_timeout: int = SERVER_TIMEOUT_SECONDS,
    ) -> None:
        self._configuration = configuration
        self._scopes = scopes(namespaces)
        # Filtered here when the stream is cluster-wide because of a pattern.
        self._patterns = list(namespaces) if self._scopes == [""] else []
        self._logger = logger
        self._kinds, self._selector, self._server_timeout = kinds, selector, server_timeout
        self._tasks: list[asyncio.Task[None]] = []
        self._dispatcher = dispatch.Dispatcher(handler, logger)
        self._client: watchapi.Client | None = None

    async def start(self) -> None:
        self._client = watchapi.Client(self._configuration)
        for kind in self._kinds:
            for namespace in self._scopes:
                name = f"watch {kind} {namespace or '(all namespaces)'}"
                self._tasks.append(asyncio.create_task(self._stream(kind, namespace), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._dispatcher.stop()
        if self._client is not None:
            await self._client.close()

    async def _stream(self, kind: str, namespace: str) -> None:
        """List, then watch from the list's resourceVersion, forever."""
        assert self._client is not None
        path, selector = collection_path(kind, namespace), {"labelSelector": self._selector}
        known: set[str] = set()  # objects seen in this scope, to report deletions missed
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    listed = await self._client.list(path, selector, kind=kind)
                    version = self._relisted(kind, listed, known)
                params = {**selector, "allowWatchBookmarks": "true", "resourceVersion": version}
                opened = asyncio.get_running_loop().time()
                events = self._client.watch(path, params, kind=kind, seconds=self._server_timeout)
                async for event_type, body in events:
                    version = body.get("metadata", {}).get("resourceVersion") or version
                    if event_type != "BOOKMARK" and self._ours(body):
                        self._seen(kind, event_type, body, known)
                failures = 0  # the server ended the stream normally: re-open it at once,
                if asyncio.get_running_loop().time() - opened < MIN_STREAM_SECONDS:
                    await asyncio.sleep(MIN_STREAM_SECONDS)  # unless it ends as soon as opened
            except asyncio.CancelledError:
                raise
            except watchapi.GoneError:
                metrics.WATCH_RESTARTS.labels(kind=kind, cause="gone").inc()
                self._logger.info(f"Watch of {kind} expired (410 Gone), listing again")
                version = None
            except Exception as error:  # noqa: BLE001  (a watch must outlive any error)
                failures += 1
                delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2.0**failures)
                metrics.WATCH_RESTARTS.labels(kind=kind, cause="error").inc()
                self._logger.warning(f"Watch of {kind} failed, re-listing in {delay:g}s: {error}")
                version = None
                await asyncio.sleep(delay)

    def _relisted(self, kind: str, listed: kube.Object, known: set[str]) -> str:
        """Report each listed object, and those gone since the last list; the list's version."""
        items = [item for item in listed.get("items") or [] if self._ours(item)]
        present = {_qualified(item) for item in items}
        for gone in known - present:
            namespace, _, name = gone.partition("/")
            self._seen(kind, "DELETED", {"metadata": {"namespace": namespace, "name": name}}, known)
        for item in items:
            self._seen(kind, "ADDED", item, known)
        return str(listed.get("metadata", {}).get("resourceVersion") or "")

    def _ours(self, body: kube.Object) -> bool:
        """The selector again, and the namespace patterns (defence against a lax server)."""
        metadata = body.get("metadata") or {}
        key, _, value = self._selector.partition("=")
        if (metadata.get("labels") or {}).get(key) != value:
            return False
        return served(str(metadata.get("namespace", "")), self._patterns)

    def _seen(self, kind: str, event_type: str, body: kube.Object, known: set[str]) -> None:
        qualified = _qualified(body)
        if event_type == "DELETED":
            known.discard(qualified)
        else:
            known.add(qualified)
        body.setdefault("kind", kind)  # list items come without it
        self._dispatcher.submit(kind, event_type, body)


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
    prefix, plural = kube.KINDS[kind]
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def _is_pattern(namespace: str) -> bool:
    return any(char in namespace for char in "*?[!")


def _qualified(body: kube.Object) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
