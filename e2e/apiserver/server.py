"""The HTTP face of the emulated API server: routing, lists, watches, faults, the request log.

kmock serves discovery and runs the aiohttp server; every resource request is answered here.
"""

import asyncio
import base64
import collections
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import parsing

from e2e.apiserver import resources, selectors
from e2e.apiserver.admission import Rule
from e2e.apiserver.api import Api
from e2e.apiserver.errors import ApiError, not_found
from e2e.apiserver.faults import Call, Fault, Faults
from e2e.apiserver.objects import apply_patch
from e2e.apiserver.resources import CUSTOM_GROUPS, RESOURCES, SHORT_NAMES, Resource
from e2e.apiserver.store import Key, Watcher

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
TEST_AGENT = "flowkeeper-tests"  # User-Agent of the tests' own client, to tell their calls apart
WRITE_VERBS = frozenset({"create", "patch", "delete", "update", "deletecollection"})


def _to_api(emulator: "Emulator", attribute: "attrs.Attribute[float]", value: float) -> float:
    """Setting ``k8s.gc_delay`` (or ``lb_cleanup_delay``) in a test takes effect at once."""
    if hasattr(emulator, "api"):
        setattr(emulator.api, attribute.name, value)
    return value


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesScaffold):
    """An in-memory API server that behaves like kube-apiserver where a controller notices
    (see e2e/README.md for what it does and does not do)."""

    url: str = ""  # type: ignore[assignment]  # http://127.0.0.1:<port>, once serving
    kubeconfig: Path | None = None  # a kubeconfig pointing at it, once serving
    # Seconds before the garbage collector deletes an orphan, and that the cloud finalizer holds
    # a deleted LoadBalancer Service.
    gc_delay: float = attrs.field(default=2.0, on_setattr=_to_api)
    lb_cleanup_delay: float = attrs.field(default=2.0, on_setattr=_to_api)
    api: Api = attrs.field(init=False)
    faults: Faults = attrs.field(factory=Faults, init=False)
    _log: list[tuple[str, str, str]] = attrs.field(factory=list, init=False)  # agent, verb, what

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.api = Api(gc_delay=self.gc_delay, lb_cleanup_delay=self.lb_cleanup_delay)
        for key, (kind, namespaced, subresources) in RESOURCES.items():
            plural = key.rsplit("/", 1)[1]
            self.resources[key] = kmock.ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=namespaced,
                verbs=VERBS,
                shortnames=SHORT_NAMES.get(plural, []),
                subresources=subresources,
            )

    async def __aexit__(self, *exc: Any) -> None:
        self.api.close()
        await super().__aexit__(*exc)

    # -- what tests use -----------------------------------------------------------------------

    def calls(
        self, *, since: int = 0, agents: Iterable[str] | None = None, writes: bool = False
    ) -> collections.Counter[str]:
        """Requests as "verb resource" counts (e.g. "patch flowcollectors/status").

        ``since`` is a value of ``mark()``; ``agents`` keeps clients whose User-Agent starts with
        one of them (default: everyone but the tests' own client). Discovery is not counted.
        """
        counts: collections.Counter[str] = collections.Counter()
        for agent, verb, resource in self._log[since:]:
            if agents is None and agent.startswith(TEST_AGENT):
                continue
            if agents is not None and not any(agent.startswith(a) for a in agents):
                continue
            if writes and verb not in WRITE_VERBS:
                continue
            counts[f"{verb} {resource}"] += 1
        return counts

    def mark(self) -> int:
        """A point in the request log, for ``calls(since=...)``."""
        return len(self._log)

    def inject_fault(self, **rule: Any) -> Fault:
        """Answer the next matching requests with an error; see ``faults.Fault`` for the fields,
        e.g. ``inject_fault(verb="patch", resource="daemonsets", subresource="status",
        status=503, retry_after=1, times=2)``. The returned rule counts its ``hits``."""
        return self.faults.add(Fault(**rule))

    def enforce_owner_references(
        self, rules: Iterable[Rule] | None, *, exempt: Iterable[str] = (TEST_AGENT,)
    ) -> None:
        """Turn OwnerReferencesPermissionEnforcement on with the callers' RBAC rules (None:
        off). Clients whose User-Agent starts with one of ``exempt`` act as cluster admins."""
        self.api.owner_reference_rules = None if rules is None else list(rules)
        self.api.exempt_agents = tuple(exempt)

    def object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object (e.g. ``object("daemonsets", "ns", "edge")``), or None."""
        for key, obj in self.api.store.objects.items():
            if key[0].plural == plural and key[1:] == (namespace, name):
                return obj
        return None

    # -- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # kmock matches each request against every earlier one, which grows quadratically
        # (0.1 s per request after a few hundred); the log above keeps what tests count.
        del self._requests[:-1]
        if request.resource is None or not request.resource.plural:
            return await super()._handle(request)
        try:
            return await self._serve(request)
        except ApiError as error:
            return aiohttp.web.json_response(
                error.status(), status=error.code, headers=error.headers
            )

    async def _serve(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        assert request.resource is not None
        method = str(request.method.value).upper()
        name, subresource = request.name or "", request.subresource or ""
        params = request.params
        verb = _verb(method, bool(name), params.get("watch") in ("true", "1"))
        agent = _header(request, "User-Agent")
        sub = f"/{subresource}" if subresource else ""
        self._log.append((agent, verb, f"{request.resource.plural}{sub}"))
        namespace = request.namespace or ""
        self.faults.check(
            Call(
                verb,
                str(request.resource.plural),
                subresource,
                namespace,
                name,
                agent,
                request.data,
            )
        )
        resource = resources.lookup(
            str(request.resource.group), str(request.resource.version), str(request.resource.plural)
        )
        if resource is None or (namespace and not resource.namespaced):
            raise ApiError(404, "the server could not find the requested resource")
        if subresource not in ("", "status") or (
            subresource and subresource not in resource.subresources
        ):
            raise ApiError(404, "the server could not find the requested resource")
        key: Key = (resource, namespace, name)
        if verb == "watch":
            return await self._watch(request, resource, request.namespace, name or None)
        if verb == "list":
            return _json(self._list(resource, request.namespace, params))
        if verb == "get":
            obj = self.api.store.get(key)
            if obj is None:
                raise not_found(resource.qualified, name)
            return _json(obj)
        if verb == "create":
            if name:
                raise ApiError(405, "POST is not allowed on a named object")
            return _json(self.api.create(resource, namespace, request.data, agent), 201)
        if verb == "update":
            body = request.data
            return _json(self.api.write(key, lambda _: body, subresource=subresource, agent=agent))
        if verb == "patch":
            content_type = _header(request, "Content-Type") or "application/merge-patch+json"

            def change(old: dict[str, Any]) -> dict[str, Any]:
                return apply_patch(resource, old, request.data, content_type)

            return _json(self.api.write(key, change, subresource=subresource, agent=agent))
        if verb == "delete":
            return _deleted(
                resource, self.api.delete(key, request.data, agent), key in self.api.store.objects
            )
        if verb == "deletecollection":
            matches = selectors.of_query(params)
            chosen = [o for o in self.api.store.items(resource, request.namespace) if matches(o)]
            deleted = []
            for obj in chosen:
                meta = obj["metadata"]
                deleted.append(
                    self.api.delete(
                        (resource, meta.get("namespace", ""), meta["name"]), request.data, agent
                    )
                )
            return _json(_list_body(resource, deleted, str(self.api.store.version)))
        raise ApiError(405, f"{method} is not supported")

    def _list(
        self, resource: Resource, namespace: str | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        matches = selectors.of_query(params)
        version, after = str(self.api.store.version), ""
        if params.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(params["continue"]))
                version, after = str(token["rv"]), str(token["start"])
            except (ValueError, KeyError) as error:
                raise ApiError(400, "continue key is not valid") from error
        items = [
            obj
            for obj in self.api.store.items(resource, namespace)
            if matches(obj) and _position(obj) > after
        ]
        body = _list_body(resource, items, version)
        limit = int(params.get("limit") or 0)
        if limit and len(items) > limit:
            body["items"] = items[:limit]
            token = {"rv": version, "start": _position(items[limit - 1])}
            body["metadata"]["continue"] = base64.urlsafe_b64encode(
                json.dumps(token).encode()
            ).decode()
            body["metadata"]["remainingItemCount"] = len(items) - limit
        return body

    async def _watch(
        self, request: kmock.Request, resource: Resource, namespace: str | None, name: str | None
    ) -> aiohttp.web.StreamResponse:
        params = request.params
        watcher = Watcher(resource, namespace, name, selectors.of_query(params))
        fresh = self.api.store.watch(watcher, params.get("resourceVersion"))
        raw = request._raw_request
        assert raw is not None
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw)
        try:
            if not fresh:
                gone = ApiError(410, "too old resource version", reason="Expired").status()
                await response.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                return response
            timeout = float(params.get("timeoutSeconds") or 0) or None
            async with asyncio.timeout(timeout):
                while (event := await watcher.queue.get()) is not None:
                    await response.write(json.dumps(event).encode() + b"\n")
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.api.store.watchers.discard(watcher)
        return response

    async def _serve_version(self, request: kmock.Request) -> Any:
        served: Any = await super()._serve_version(request)
        served["groupVersion"] = served["groupVersion"].lstrip("/")
        return served


def _header(request: kmock.Request, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), "")


def _verb(method: str, named: bool, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _deleted(resource: Resource, last: dict[str, Any], pending: bool) -> aiohttp.web.Response:
    """202 and the object while finalizers hold it; once gone, 200 and the object for custom
    resources and Pods, a Success Status for the other built-in kinds (ReturnDeletedObject)."""
    if pending:
        return _json(last, 202)
    if resource.group in CUSTOM_GROUPS or resource.kind == "Pod":
        return _json(last)
    metadata = last["metadata"]
    details = {"name": metadata["name"], "kind": resource.plural, "uid": metadata["uid"]}
    if resource.group:
        details["group"] = resource.group
    return _json(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }
    )


def _position(obj: Mapping[str, Any]) -> str:
    metadata = obj["metadata"]
    return f"{metadata.get('namespace', '')}/{metadata['name']}"


def _list_body(resource: Resource, items: list[dict[str, Any]], version: str) -> dict[str, Any]:
    return {
        "apiVersion": resource.api_version,
        "kind": f"{resource.kind}List",
        "metadata": {"resourceVersion": version},
        "items": items,
    }


def _json(body: Any, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(body, status=status)


_NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?(?:/(status|finalize))?/?$")
_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock reads /api/v1/namespaces[/NAME] as a namespace prefix with no resource (and fails
    on the bare list), so namespaces could not be listed, fetched or created."""
    match = _NAMESPACE_PATH.match(path)
    if match is None:
        return _kmock_parse_path(path)
    name, subresource = match.groups()
    return parsing.ParsedPath("", "v1", "namespaces", None, name, subresource)


parsing.parse_path = _parse_path
