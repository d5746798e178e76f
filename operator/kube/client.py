"""The operator's Kubernetes requests besides kopf and the child watches (``watchapi``): read,
create, merge-patch, replace, delete. Every request is counted once, in ``_call``, by verb,
kind and status code.

Synchronous (the kubernetes client is), so callers run these in a thread (``call``). Objects
are plain dicts sent to fixed URL paths: no model classes, no discovery round-trips. Patches are
JSON merge patches (RFC 7386), understood by every resource, custom ones included (strategic
merge would not work on FlowCollectors), or JSON patches (RFC 6902) where a ``test`` operation
must guard the write (the status, bound to the FlowCollector's uid).

``transient`` is the one place that decides which failures are worth retrying later.
"""

import asyncio
import importlib.metadata
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

import aiohttp
import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from flowkeeper.operator import metrics
from flowkeeper.operator.constants import API_VERSION, KIND, PLURAL
from flowkeeper.operator.kube import identity
from kubernetes.client.exceptions import ApiException

# The package's version, as --version prints it (pyproject.toml is its one source).
USER_AGENT = f"flowkeeper-operator/{importlib.metadata.version('flowkeeper')}"
REQUEST_TIMEOUT_SECONDS = 30.0
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
# Worth retrying later: no answer (0), a conflict with a concurrent writer (409), throttling
# (429) and server errors (5xx). Everything else needs a change to the request or the object.
TRANSIENT_CODES = frozenset({0, 409, 429})
T = TypeVar("T")

Object = dict[str, Any]


class Kind(NamedTuple):
    prefix: str  # /api/v1 or /apis/<group>/<version>
    plural: str


KINDS: Mapping[str, Kind] = {
    "ConfigMap": Kind("/api/v1", "configmaps"),
    "Service": Kind("/api/v1", "services"),
    "DaemonSet": Kind("/apis/apps/v1", "daemonsets"),
    "Deployment": Kind("/apis/apps/v1", "deployments"),
    KIND: Kind(f"/apis/{API_VERSION}", PLURAL),
    "Event": Kind("/api/v1", "events"),
    "Lease": Kind("/apis/coordination.k8s.io/v1", "leases"),
}
# The status-code label of a request that got no HTTP answer (refused, reset, timed out).
NO_ANSWER = "error"


class KubeError(Exception):
    """An API call that failed; ``transient`` says whether retrying later can help."""

    def __init__(
        self, action: str, status: int, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(
            f"{action}: HTTP {status}: {message}" if status else f"{action}: {message}"
        )
        self.status = status
        self.message = message  # the API's own words, as shown in a Ready=False condition
        self.transient = status in TRANSIENT_CODES or status >= 500
        self.retry_after = retry_after  # seconds, from a Retry-After header


class AlreadyExistsError(KubeError):
    """Create found the object there: someone (often our own other handler) made it first."""


class ConflictError(KubeError):
    """A write carried a resourceVersion the object no longer has: re-read and retry."""


def transient(error: BaseException) -> bool:
    """Whether retrying later may succeed: a transient API answer, or no answer at all (a
    refused, reset or timed-out connection, from either HTTP client)."""
    if isinstance(error, KubeError):
        return error.transient
    return isinstance(
        error, OSError | TimeoutError | urllib3.exceptions.HTTPError | aiohttp.ClientError
    )


async def call(function: Callable[..., T], /, **kwargs: object) -> T:
    """``function(**kwargs)`` off the event loop. Not retried here: a failure ends the
    reconcile, and the work queue retries the whole of it with backoff."""
    return await asyncio.to_thread(function, **kwargs)


def load_configuration() -> kubernetes.client.Configuration:
    """In-cluster service account, else the kubeconfig named by $KUBECONFIG (read now)."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        # Passed explicitly: the library's own default was frozen when it was imported.
        path = os.environ.get("KUBECONFIG") or "~/.kube/config"
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, client_configuration=configuration
        )
    return configuration


def connect(configuration: kubernetes.client.Configuration) -> kubernetes.client.ApiClient:
    api = kubernetes.client.ApiClient(configuration)
    api.user_agent = identity.user_agent(USER_AGENT)
    return api


def read(
    api: kubernetes.client.ApiClient,
    *,
    kind: str,
    namespace: str,
    name: str,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Object | None:
    try:
        return _call(
            api,
            "GET",
            _path(kind, namespace, name),
            kind=kind,
            verb="get",
            action=f"get {kind} {name}",
            timeout=timeout,
        )
    except KubeError as error:
        if error.status == 404:
            return None
        raise


def create(
    api: kubernetes.client.ApiClient,
    *,
    body: Mapping[str, Any],
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Object:
    return _send(api, "POST", "create", body, timeout=timeout)


def replace(
    api: kubernetes.client.ApiClient,
    *,
    body: Mapping[str, Any],
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Object:
    """PUT the whole object; with ``metadata.resourceVersion`` set, a concurrent writer gets 409."""
    return _send(api, "PUT", "update", body, timeout=timeout)


def _send(
    api: kubernetes.client.ApiClient,
    method: str,
    verb: str,
    body: Mapping[str, Any],
    *,
    timeout: float,
) -> Object:
    """A whole object: POSTed to its collection, or PUT to its own path."""
    kind, metadata = str(body["kind"]), body["metadata"]
    name = metadata.get("name") or metadata.get("generateName", "")
    return _call(
        api,
        method,
        _path(kind, metadata["namespace"], metadata["name"] if method == "PUT" else ""),
        body=body,
        kind=kind,
        verb=verb,
        action=f"{verb} {kind} {name}",
        timeout=timeout,
    )


def patch(
    api: kubernetes.client.ApiClient,
    *,
    kind: str,
    namespace: str,
    name: str,
    body: Mapping[str, Any] | list[Mapping[str, Any]],
    subresource: str = "",
    content_type: str = MERGE_PATCH,
) -> Object:
    """A merge patch (a dict), or a JSON patch (a list of operations, ``content_type``
    JSON_PATCH)."""
    path = _path(kind, namespace, name) + (f"/{subresource}" if subresource else "")
    return _call(
        api,
        "PATCH",
        path,
        body=body,
        content_type=content_type,
        kind=f"{kind}/{subresource}" if subresource else kind,
        verb="patch",
        action=f"patch {kind} {name}{'/' + subresource if subresource else ''}",
    )


def delete(api: kubernetes.client.ApiClient, *, kind: str, namespace: str, name: str) -> bool:
    """Delete an object; False when it was already gone."""
    try:
        _call(
            api,
            "DELETE",
            _path(kind, namespace, name),
            kind=kind,
            verb="delete",
            action=f"delete {kind} {name}",
        )
    except KubeError as error:
        if error.status == 404:
            return False
        raise
    return True


def _path(kind: str, namespace: str, name: str = "") -> str:
    prefix, plural = KINDS[kind]
    return f"{prefix}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")


def _call(
    api: kubernetes.client.ApiClient,
    method: str,
    path: str,
    *,
    kind: str,
    verb: str,
    action: str,
    body: Mapping[str, Any] | list[Mapping[str, Any]] | None = None,
    content_type: str = "application/json",
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Object:
    headers = {"Accept": "application/json", "Content-Type": content_type}
    request = api.param_serialize(
        method=method,
        resource_path=path,
        header_params=headers,
        body=body if isinstance(body, list) else dict(body) if body is not None else None,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(*request, _request_timeout=timeout)
        data = response.read()  # type: ignore[no-untyped-call]
    except ApiException as error:
        metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=str(error.status or 0)).inc()
        retry = seconds((error.headers or {}).get("Retry-After"))
        raise KubeError(
            action, int(error.status or 0), str(error.reason), retry_after=retry
        ) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=NO_ANSWER).inc()
        raise KubeError(action, 0, str(error)) from error
    metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=str(response.status)).inc()
    if not 200 <= response.status <= 299:
        message = _message(data)
        if response.status == 409:
            conflict = AlreadyExistsError if method == "POST" else ConflictError
            raise conflict(action, response.status, message)
        retry = seconds(response.getheader("Retry-After"))  # type: ignore[no-untyped-call]
        raise KubeError(action, response.status, message, retry_after=retry)
    decoded: Object = json.loads(data) if data else {}
    return decoded


def _message(data: bytes | None) -> str:
    """The Status message of an error answer, or its raw text."""
    text = (data or b"").decode("utf-8", "replace")
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text[:200]


def seconds(value: object) -> float | None:
    """A Retry-After header in seconds (the HTTP-date form is not used by kube-apiserver)."""
    try:
        return max(0.0, float(str(value))) if value is not None else None
    except ValueError:
        return None
