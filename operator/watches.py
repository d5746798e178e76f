"""Watches of the children, filtered by the API server with a label selector.

kopf's ``labels=`` filter is applied after the objects arrive, so a kopf watch of ConfigMaps
streams (and decodes) every ConfigMap of the cluster. These watches ask the server for ours
only: LIST then WATCH with ``labelSelector`` and ``resourceVersion``, per kind and per served
namespace (one cluster-wide stream with ``-A``, or when a namespace is a glob pattern). A
stream that ends is re-opened from its last resourceVersion (bookmarks keep it fresh); 410
Gone, or any error, re-lists after a backoff. Objects deleted while no stream was open are
reported as DELETED after the re-list, so nothing is missed silently.

Events go to one handler ``(kind, event_type, object)``. Each object has at most one event in
flight and keeps only its newest pending one, so a slow reconcile never blocks a stream and
memory is bounded by the number of our children.
"""

import asyncio
import fnmatch
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import kubernetes.client
from flowkeeper.operator import kube, metrics, watchsession

SELECTOR = "app.kubernetes.io/managed-by=flowkeeper"
KINDS = ("ConfigMap", "Service", "DaemonSet")
SERVER_TIMEOUT_SECONDS = 300  # the server ends each watch after this; we re-open it
MAX_BACKOFF_SECONDS = 30.0

Handler = Callable[[str, str, kube.Object], Awaitable[None]]
Key = tuple[str, str, str]  # kind, namespace, name


class GoneError(Exception):
    """The resourceVersion we hold is too old (410): list again."""


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
        selector: str = SELECTOR,
        server_timeout: int = SERVER_TIMEOUT_SECONDS,
    ) -> None:
        self._configuration = configuration
        self._scopes = scopes(namespaces)
        self._patterns = [n for n in namespaces if _is_pattern(n)]
        self._handler, self._logger = handler, logger
        self._kinds, self._selector, self._server_timeout = kinds, selector, server_timeout
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[Key, asyncio.Task[None]] = {}
        self._pending: dict[Key, tuple[str, kube.Object]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = watchsession.open_session(self._configuration)
        for kind in self._kinds:
            for namespace in self._scopes:
                name = f"watch {kind} {namespace or '(all namespaces)'}"
                self._tasks.append(asyncio.create_task(self._stream(kind, namespace), name=name))

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._inflight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()

    async def _stream(self, kind: str, namespace: str) -> None:
        """List, then watch from the list's resourceVersion, forever."""
        known: set[str] = set()  # names seen in this scope, to report deletions missed
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    version = await self._relist(kind, namespace, known)
                async for event_type, body in self._watch(kind, namespace, version):
                    version = body.get("metadata", {}).get("resourceVersion") or version
                    if event_type != "BOOKMARK":
                        self._seen(kind, event_type, body, known)
                failures = 0  # the server ended the stream normally: re-open it at once
            except asyncio.CancelledError:
                raise
            except GoneError:
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

    async def _relist(self, kind: str, namespace: str, known: set[str]) -> str:
        """LIST our objects of a kind; report each, and the ones gone since, as events."""
        listed = await self._get(kind, namespace, {})
        items = [i for i in listed.get("items") or [] if self._ours(i)]
        present = {_qualified(item) for item in items}
        for gone in known - present:
            ns, _, name = gone.partition("/")
            self._seen(kind, "DELETED", {"metadata": {"namespace": ns, "name": name}}, known)
        for item in items:
            item.setdefault("kind", kind)
            self._seen(kind, "ADDED", item, known)
        return str(listed.get("metadata", {}).get("resourceVersion") or "")

    async def _watch(
        self, kind: str, namespace: str, version: str
    ) -> AsyncIterator[tuple[str, kube.Object]]:
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(self._server_timeout),
        }
        if version:
            params["resourceVersion"] = version
        session = self._require_session()
        url = self._configuration.host + collection_path(kind, namespace)
        timeout = aiohttp.ClientTimeout(total=self._server_timeout + 30, sock_connect=30)
        params["labelSelector"] = self._selector
        headers = await asyncio.to_thread(watchsession.auth_headers, self._configuration)
        async with session.get(url, params=params, headers=headers, timeout=timeout) as response:
            await _check(response, f"watch {kind}")
            async for line in _lines(response.content):
                event = json.loads(line)
                event_type, body = str(event.get("type")), event.get("object") or {}
                if event_type == "ERROR":
                    if body.get("code") == 410:
                        raise GoneError()
                    raise RuntimeError(f"watch {kind}: {body.get('message') or body}")
                if event_type == "BOOKMARK" or self._ours(body):
                    body.setdefault("kind", kind)
                    yield event_type, body

    async def _get(self, kind: str, namespace: str, params: dict[str, str]) -> kube.Object:
        session = self._require_session()
        url = self._configuration.host + collection_path(kind, namespace)
        query = {**params, "labelSelector": self._selector}
        headers = await asyncio.to_thread(watchsession.auth_headers, self._configuration)
        timeout = aiohttp.ClientTimeout(total=kube.REQUEST_TIMEOUT_SECONDS)
        async with session.get(url, params=query, headers=headers, timeout=timeout) as response:
            await _check(response, f"list {kind}")
            listed: kube.Object = await response.json()
            return listed

    def _ours(self, body: kube.Object) -> bool:
        """The selector again, and the namespace patterns (defence against a lax server)."""
        metadata = body.get("metadata") or {}
        key, _, value = self._selector.partition("=")
        if (metadata.get("labels") or {}).get(key) != value:
            return False
        namespace = str(metadata.get("namespace", ""))
        return not self._patterns or any(fnmatch.fnmatchcase(namespace, p) for p in self._patterns)

    def _seen(self, kind: str, event_type: str, body: kube.Object, known: set[str]) -> None:
        """Hand an event to the handler: at once, or after the object's event in flight."""
        qualified = _qualified(body)
        if event_type == "DELETED":
            known.discard(qualified)
        else:
            known.add(qualified)
        ns, _, name = qualified.partition("/")
        key = (kind, ns, name)
        self._pending[key] = (event_type, body)  # a newer event replaces one not yet handled
        if key not in self._inflight:
            self._inflight[key] = asyncio.create_task(self._drain(key))

    async def _drain(self, key: Key) -> None:
        try:
            while key in self._pending:
                event_type, body = self._pending.pop(key)
                try:
                    await self._handler(key[0], event_type, body)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad event must not end the others
                    metrics.ERRORS.labels(cause="unexpected").inc()
                    self._logger.exception(f"Handling {event_type} {key[0]} {key[2]} failed")
        finally:
            self._inflight.pop(key, None)

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("ChildWatches.start() was not called")
        return self._session


def scopes(namespaces: Sequence[str]) -> list[str]:
    """The namespaces to open streams in: "" is cluster-wide (all, or any glob pattern)."""
    if not namespaces or any(_is_pattern(n) for n in namespaces):
        return [""]
    return sorted(set(namespaces))


def collection_path(kind: str, namespace: str) -> str:
    """The URL path of a kind's collection, in one namespace or ("") in all."""
    prefix, plural = kube.KINDS[kind]
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def _is_pattern(namespace: str) -> bool:
    return any(char in namespace for char in "*?[!")


def _qualified(body: kube.Object) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Non-empty lines of a watch stream. aiohttp's own line iterator refuses lines longer
    than its buffer (128 KiB), and a DaemonSet or ConfigMap may be longer than that."""
    buffer = b""
    async for chunk in content.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


async def _check(response: aiohttp.ClientResponse, action: str) -> None:
    if response.status == 410:
        raise GoneError()
    if response.status >= 300:
        text = await response.text()
        raise kube.KubeError(action, response.status, text[:200])
