"""The HTTP face of the emulated API server: routing, faults, the request log, test helpers.

kmock serves discovery and runs the aiohttp server; every resource request is answered here.
"""

import collections
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock

from e2e.apiserver import (
    apply,
    context,
    crds,
    discovery,
    media,
    openapi,
    paths,
    protobuf,
    selectors,
    tables,
    views,
)
from e2e.apiserver.admission import Rule
from e2e.apiserver.api import Api
from e2e.apiserver.errors import ApiError, no_such_resource, not_found
from e2e.apiserver.faults import Call, Fault, Faults
from e2e.apiserver.managedfields import FieldManager, manager_of
from e2e.apiserver.objects import apply_patch
from e2e.apiserver.resources import BY_PATH, Resource
from e2e.apiserver.store import Key

VERBS = list(discovery.VERBS)  # what tests may count or inject faults for
TEST_AGENT = "flowkeeper-tests"  # User-Agent of the tests' own client, to tell their calls apart
WRITE_VERBS = frozenset({"create", "patch", "delete", "update", "deletecollection"})
paths.install()


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
    # CRD manifests installed at start (crds/flowcollector.yaml); () starts with none, as a
    # fresh cluster does (e.g. for `helm install` or `kubectl apply -f crds/` to create it).
    crd_files: tuple[Path, ...] = crds.DEFAULT_CRDS
    api: Api = attrs.field(init=False)
    faults: Faults = attrs.field(factory=Faults, init=False)
    _log: list[tuple[str, str, str]] = attrs.field(factory=list, init=False)  # agent, verb, what

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.api = Api(
            gc_delay=self.gc_delay, lb_cleanup_delay=self.lb_cleanup_delay, crd_files=self.crd_files
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

    def objects(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The stored objects of a resource (in ``namespace`` when given)."""
        return [
            obj
            for key, obj in self.api.store.objects.items()
            if key[0].plural == plural and namespace in (None, key[1])
        ]

    # -- HTTP ---------------------------------------------------------------------------------

    def served(self) -> list[discovery.Served]:
        """What discovery lists: the built-in kinds, and the custom kinds the CRDs in force
        serve (with their CRD's names)."""
        listed = [discovery.describe(r) for r in BY_PATH.values() if not r.custom]
        for custom in self.api.crds.served.values():
            names = (custom.singular, custom.short_names, custom.categories)
            listed.append(discovery.Served(custom.resource, *names))
        return listed

    def printer(self, resource: Resource) -> tuple[list[dict[str, Any]], tables.Row]:
        """The Table columns of a resource and the function computing a row's cells."""
        custom = self.api.crds.of(resource)
        if custom is not None:
            return tables.custom_printer(tables.printer_columns(custom.columns))
        return tables.builtin_printer(resource)

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # A protobuf body (Helm 4's release Secrets, kubectl 1.32+'s typed commands) becomes
        # JSON, or a 415 if its kind is not decoded; so does any other body the emulator cannot
        # read, before kmock parses it as text.
        try:
            body = await raw.read()
            if media.is_protobuf(raw.method, raw.headers.get("Content-Type", ""), body):
                _as_json(raw, body)
            else:
                media.check_body(raw.method, raw.headers.get("Content-Type", ""), body)
        except ApiError as error:
            self._log.append((raw.headers.get("User-Agent", ""), raw.method.lower(), raw.path))
            return _error_response(error)
        return await super().__call__(raw)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # kmock matches each request against every earlier one, which grows quadratically
        # (0.1 s per request after a few hundred); the log above keeps what tests count.
        del self._requests[:-1]
        if request.url.path.startswith("/openapi/"):
            return openapi.serve(self.api.crds, request)
        if request.resource is None or not request.resource.plural:
            found = discovery.answer(request.url.path, request.headers, self.served(), self.url)
            if found is None:
                return await super()._handle(request)
            code, body, content_type = found
            return aiohttp.web.Response(
                body=json.dumps(body).encode(), status=code, headers={"Content-Type": content_type}
            )
        params = request.params
        method = str(request.method.value).upper()
        asked = context.RequestContext(
            verb=_verb(method, bool(request.name), False),
            field_validation=params.get("fieldValidation") or "Warn",
        )
        token = context.CURRENT.set(asked)
        try:
            response = await self._serve(request)
        except ApiError as error:
            response = _error_response(error)
        finally:
            context.CURRENT.reset(token)
        for warning in asked.warnings:
            response.headers.add("Warning", context.warning_header(warning))
        return response

    async def _serve(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        assert request.resource is not None
        method = str(request.method.value).upper()
        name, subresource = request.name or "", request.subresource or ""
        params = request.params
        verb = _verb(method, bool(name), params.get("watch") in ("true", "1"))
        agent = media.header(request.headers, "User-Agent")
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
        resource = self.api.crds.lookup(
            str(request.resource.group), str(request.resource.version), str(request.resource.plural)
        )
        if resource is None or (namespace and not resource.namespaced):
            raise no_such_resource()
        if subresource not in ("", "status") or (
            subresource and subresource not in resource.subresources
        ):
            raise no_such_resource()
        key: Key = (resource, namespace, name)
        dry = _dry_run(params)
        writer = FieldManager(manager_of(params.get("fieldManager"), agent), subresource)
        target = media.target(request.headers, listing=verb == "list")
        shape = None
        if target.as_ and verb in ("get", "list", "watch"):
            printer = self.printer(resource)

            def shape(body: dict[str, Any]) -> dict[str, Any]:
                return tables.transform(body, target, printer, params)

        if verb == "watch":
            return await views.watch(
                self.api, request, resource, request.namespace, name or None, shape
            )
        if verb == "list":
            listed = views.list_objects(self.api, resource, request.namespace, params)
            return views.json_response(shape(listed) if shape else listed)
        if verb == "get":
            obj = self.api.store.get(key)
            if obj is None:
                raise not_found(resource.qualified, name)
            return views.json_response(shape(obj) if shape else obj)
        content_type = media.header(request.headers, "Content-Type")
        data = media.decode(content_type, request.body, request.data)
        if verb == "create":
            if name:
                raise ApiError(405, "POST is not allowed on a named object")
            return views.json_response(
                self.api.create(
                    resource, namespace, data, agent, dry_run=dry, field_manager=writer
                ),
                201,
            )
        if verb == "update":
            body = data
            return views.json_response(
                self.api.write(
                    key,
                    lambda _: body,
                    subresource=subresource,
                    agent=agent,
                    dry_run=dry,
                    field_manager=writer,
                )
            )
        if verb == "patch":
            content_type = content_type or "application/merge-patch+json"
            is_apply = media.media_type(content_type) == apply.CONTENT_TYPE
            apply.check_options(params, apply=is_apply)
            if is_apply:
                text = request.text or ""
                answer, code = apply.serve(
                    self.api, key, subresource, text, params, agent, dry_run=dry
                )
                return views.json_response(answer, code)

            def change(old: dict[str, Any]) -> dict[str, Any]:
                return apply_patch(resource, old, request.data, content_type)

            return views.json_response(
                self.api.write(
                    key,
                    change,
                    subresource=subresource,
                    agent=agent,
                    dry_run=dry,
                    field_manager=writer,
                )
            )
        if verb == "delete":
            last = self.api.delete(key, data, agent, dry_run=dry)
            return views.deleted(resource, last, bool(last["metadata"].get("deletionTimestamp")))
        if verb == "deletecollection":
            matches = selectors.of_query(params, resource.kind)
            chosen = [o for o in self.api.store.items(resource, request.namespace) if matches(o)]
            deleted = []
            for obj in chosen:
                meta = obj["metadata"]
                deleted.append(
                    self.api.delete(
                        (resource, meta.get("namespace", ""), meta["name"]), data, agent
                    )
                )
            return views.json_response(
                views.list_body(resource, deleted, str(self.api.store.version))
            )
        raise ApiError(405, f"{method} is not supported")


def _as_json(raw: aiohttp.web.BaseRequest, body: bytes) -> None:
    """Replace a protobuf body by its JSON, in place: aiohttp's read(), text() and json()
    return ``_read_bytes`` once the body has been read (a read request cannot be cloned)."""
    try:
        decoded = protobuf.decode(body)
    except (protobuf.DecodeError, UnicodeDecodeError) as error:
        raise media.unsupported() from error
    raw._read_bytes = json.dumps(decoded).encode()


def _error_response(error: ApiError) -> aiohttp.web.Response:
    return aiohttp.web.json_response(error.status(), status=error.code, headers=error.headers)


def _dry_run(params: Mapping[str, str]) -> bool:
    """``?dryRun=All``: the write is checked, normalised and answered, but not stored."""
    value = params.get("dryRun")
    if value not in (None, "All"):
        raise ApiError(400, f"unsupported dryRun value {value!r}: only 'All' is supported")
    return value == "All"


def _verb(method: str, named: bool, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
