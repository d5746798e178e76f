"""Emulated Kubernetes API for tests and the demo (kmock, made realistic).

kmock 0.8 serves objects over real HTTP but leaves server-owned fields to the test. This
subclass fills the gaps listed in TESTING.md, so clients behave as against a real API server:

* create: uid, resourceVersion, generation (objects with a spec), creationTimestamp, names from
  ``generateName``, 201 Created; ``status`` is dropped for resources with a status subresource;
* patch: resourceVersion on every write, generation +1 only when something outside metadata
  and status changed; ``/status`` changes only the status, the main endpoint never does;
  merge patches follow RFC 7386 (null deletes), JSON patches are applied as such;
* discovery says "v1" for the core group (kmock says "/v1"); lists carry a resourceVersion;
* every request is kept, so tests can count calls by verb, resource and client.

Use it with pytest (fixtures ``k8s`` and ``kubeconfig``) or without (``serve()``, the demo).
"""

import collections
import contextlib
import copy
import datetime
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import kmock
import pytest
import pytest_asyncio
from kmock._internal import dicts, parsing, rendering

from e2e.local import write_kubeconfig

# The resources the operator, the backfill and the tests use:
# group/version/plural -> (kind, namespaced, subresources).
RESOURCES: Mapping[str, tuple[str, bool, tuple[str, ...]]] = {
    "v1/namespaces": ("Namespace", False, ("status",)),
    "v1/pods": ("Pod", True, ("status",)),
    "v1/nodes": ("Node", False, ("status",)),
    "v1/services": ("Service", True, ("status",)),
    "v1/configmaps": ("ConfigMap", True, ()),
    "v1/persistentvolumeclaims": ("PersistentVolumeClaim", True, ("status",)),
    "v1/persistentvolumes": ("PersistentVolume", False, ("status",)),
    "v1/events": ("Event", True, ()),
    "apps/v1/deployments": ("Deployment", True, ("status", "scale")),
    "apps/v1/daemonsets": ("DaemonSet", True, ("status",)),
    "apps/v1/statefulsets": ("StatefulSet", True, ("status", "scale")),
    "apps/v1/replicasets": ("ReplicaSet", True, ("status", "scale")),
    "batch/v1/jobs": ("Job", True, ("status",)),
    "batch/v1/cronjobs": ("CronJob", True, ("status",)),
    "networking.k8s.io/v1/ingresses": ("Ingress", True, ("status",)),
    "events.k8s.io/v1/events": ("Event", True, ()),
    "apiextensions.k8s.io/v1/customresourcedefinitions": (
        "CustomResourceDefinition",
        False,
        ("status",),
    ),
    "flows.flowkeeper.dev/v1alpha1/flowcollectors": ("FlowCollector", True, ("status",)),
    "coordination.k8s.io/v1/leases": ("Lease", True, ()),
}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SHORT_NAMES = {"flowcollectors": ["fc"], "configmaps": ["cm"], "services": ["svc"]}
TEST_AGENT = "flowkeeper-tests"  # User-Agent of the tests' own client, to tell their calls apart
_VERB_OF_ACTION = {
    kmock.action.LIST: "list",
    kmock.action.WATCH: "watch",
    kmock.action.FETCH: "get",
    kmock.action.CREATE: "create",
    kmock.action.UPDATE: "patch",
    kmock.action.DELETE: "delete",
}
WRITE_VERBS = frozenset({"create", "patch", "delete", "update"})


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


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator with the server-side behaviour clients rely on."""

    url: str = ""  # http://127.0.0.1:<port>, once serving
    kubeconfig: Path | None = None  # a kubeconfig pointing at it, once serving
    _version: int = 0
    _log: list[tuple[str, str, str]] = attrs.field(factory=list, init=False)  # agent, verb, what

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
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
        self.fallback[kmock.method.PUT] << self._serve_put

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

    def _record(self, request: kmock.Request) -> None:
        verb = _VERB_OF_ACTION.get(request.action) if request.action else None
        if request.method == kmock.method.PUT:
            verb = "update"
        if request.resource is None or not request.resource.plural or verb is None:
            return
        sub = f"/{request.subresource}" if request.subresource else ""
        agent = request.headers.get("User-Agent", "")
        self._log.append((agent, verb, f"{request.resource.plural}{sub}"))

    def _has_status(self, resource: kmock.resource) -> bool:
        return resource in self.resources and "status" in self.resources[resource].subresources

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)

    async def _handle(self, request: kmock.Request) -> Any:
        self._record(request)
        # kmock matches each request against every earlier one, which grows quadratically
        # (0.1 s per request after a few hundred); the log above keeps what tests count.
        del self._requests[:-1]
        # Fill in what the server owns before kmock stores the request data. No await happens
        # between reading the stored object here and kmock applying the patch, so this is
        # atomic in the event loop.
        if request.resource is not None and request.action == kmock.action.CREATE:
            self._on_create(request)
        elif request.resource is not None and request.action == kmock.action.UPDATE:
            self._on_patch(request)
        return await super()._handle(request)

    def _on_create(self, request: kmock.Request) -> None:
        assert request.resource is not None
        body: dict[str, Any] = request.data
        metadata = body.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        if request.namespace and not metadata.get("namespace"):
            metadata["namespace"] = request.namespace
        metadata.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._bump(),
            creationTimestamp=_now(),
        )
        if "spec" in body:
            metadata["generation"] = 1
        if self._has_status(request.resource):
            body.pop("status", None)

    def _on_patch(self, request: kmock.Request) -> None:
        assert request.resource is not None
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return  # kmock answers 404
        current = self.objects[key].raw
        data = _only_status(request) if self._has_status(request.resource) else request.data
        after = dicts.patch_dict(current, data)
        server: dict[str, Any] = {"resourceVersion": self._bump()}
        if "generation" in current.get("metadata", {}) and _essence(after) != _essence(current):
            server["generation"] = int(current["metadata"]["generation"]) + 1
        if isinstance(data, list):
            data = [
                *data,
                *({"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in server.items()),
            ]
        else:
            data = {**data, "metadata": {**(data.get("metadata") or {}), **server}}
        # Request is frozen; its data is what kmock stores, so swap the parsed body in place.
        object.__setattr__(request, "data", data)

    async def _serve_put(self, request: kmock.Request) -> Any:
        """PUT with optimistic concurrency: a stale ``resourceVersion`` gets 409 Conflict.
        (Minimal: the stored object is merged with the body, enough for Leases.)"""
        assert request.resource is not None
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return _status(404, "NotFound", f"{request.name} not found")
        current = self.objects[key].raw
        sent = (request.data.get("metadata") or {}).get("resourceVersion")
        if sent and sent != current["metadata"].get("resourceVersion"):
            return _status(409, "Conflict", "the object has been modified; please apply again")
        body = copy.deepcopy(request.data)
        body["metadata"] = {
            **current["metadata"],
            **body.get("metadata", {}),
            "resourceVersion": self._bump(),
        }
        self.objects[key].patch(body)
        raw = self.objects[key].raw
        await self._buses[request.resource].put({"type": "MODIFIED", "object": raw})
        return rendering.Response(status=200, payload=raw)

    async def _serve_create(self, request: kmock.Request) -> Any:
        created = await super()._serve_create(request)
        return rendering.Response(status=201, payload=created)

    async def _serve_list(self, request: kmock.Request) -> Any:
        listed = await super()._serve_list(request)
        listed["metadata"] = {"resourceVersion": str(self._version)}
        return listed

    async def _serve_version(self, request: kmock.Request) -> Any:
        served = await super()._serve_version(request)
        served["groupVersion"] = served["groupVersion"].lstrip("/")
        return served


def _status(code: int, reason: str, message: str) -> rendering.Response:
    payload = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    return rendering.Response(
        status=code, payload={**payload, "reason": reason, "message": message}
    )


def _only_status(request: kmock.Request) -> Any:
    """What a write may change: only the status via /status, anything but it otherwise."""
    on_status = request.subresource == "status"
    if isinstance(request.data, list):
        return [op for op in request.data if op.get("path", "").startswith("/status") == on_status]
    if on_status:
        return {"status": request.data.get("status")} if "status" in request.data else {}
    return {key: value for key, value in request.data.items() if key != "status"}


def _essence(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in ("metadata", "status")}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.asynccontextmanager
async def serve(
    *, kubeconfig: Path | None = None, port: int | None = None
) -> AsyncIterator[Emulator]:
    """Run the emulator on 127.0.0.1 (a free port unless given) until the block ends.

    A kubeconfig pointing at it is written to ``kubeconfig`` (or a temporary file) and kept in
    ``emulator.kubeconfig``; set $KUBECONFIG to it before starting clients.
    """
    with tempfile.TemporaryDirectory(prefix="flowkeeper-emulator-") as scratch:
        async with Emulator() as emulator, kmock.Server(emulator, port=port) as server:
            emulator.url = f"http://{server.host}:{server.port}"
            emulator.kubeconfig = write_kubeconfig(
                kubeconfig or Path(scratch) / "kubeconfig", emulator.url
            )
            yield emulator


@pytest_asyncio.fixture()
async def k8s(tmp_path: Path) -> AsyncIterator[Emulator]:
    """A fresh emulated API server for one test."""
    async with serve(kubeconfig=tmp_path / "kubeconfig") as emulator:
        yield emulator


@pytest.fixture
def kubeconfig(k8s: Emulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a kubeconfig for ``k8s``; also exported as $KUBECONFIG for the test."""
    assert k8s.kubeconfig is not None
    monkeypatch.setenv("KUBECONFIG", str(k8s.kubeconfig))
    return k8s.kubeconfig


__all__ = ["RESOURCES", "TEST_AGENT", "Emulator", "k8s", "kubeconfig", "serve"]
