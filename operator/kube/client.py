"""The operator's Kubernetes requests besides kopf and the child watches (``watchapi``): read,
create, merge-patch, replace, delete. Every request is counted once, in ``_call``, by verb,
kind and status code.

Synchronous (the kubernetes client is), so callers run these in a thread. Objects are plain
dicts sent to fixed URL paths: no model classes, no discovery round-trips. Patches are JSON
merge patches (RFC 7386), understood by every resource, custom ones included; strategic merge
would not work on FlowCollectors.
"""

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from flowkeeper.operator import metrics
from flowkeeper.operator.kube import identity
from kubernetes.client.exceptions import ApiException

USER_AGENT = "flowkeeper-operator/0.1"
REQUEST_TIMEOUT_SECONDS = 30.0
MERGE_PATCH = "application/merge-patch+json"

Object = dict[str, Any]


class Kind(NamedTuple):
    prefix: str  # /api/v1 or /apis/<group>/<version>
    plural: str


KINDS: Mapping[str, Kind] = {
    "ConfigMap": Kind("/api/v1", "configmaps"),
    "Service": Kind("/api/v1", "services"),
    "DaemonSet": Kind("/apis/apps/v1", "daemonsets"),
    "Deployment": Kind("/apis/apps/v1", "deployments"),
    "FlowCollector": Kind("/apis/flows.flowkeeper.dev/v1alpha1", "flowcollectors"),
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
        self.transient = status in {0, 429} or status >= 500
        self.retry_after = retry_after  # seconds, from a Retry-After header


class AlreadyExistsError(KubeError):
    """Create found the object there: someone (often our own other handler) made it first."""


class ConflictError(KubeError):
    """A write carried a resourceVersion the object no longer has: re-read and retry."""


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
    body: Mapping[str, Any],
    subresource: str = "",
) -> Object:
    path = _path(kind, namespace, name) + (f"/{subresource}" if subresource else "")
    return _call(
        api,
        "PATCH",
        path,
        body=body,
        content_type=MERGE_PATCH,
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
    body: Mapping[str, Any] | None = None,
    content_type: str = "application/json",
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Object:
    headers = {"Accept": "application/json", "Content-Type": content_type}
    request = api.param_serialize(
        method=method,
        resource_path=path,
        header_params=headers,
        body=dict(body) if body is not None else None,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(*request, _request_timeout=timeout)
        data = response.read()  # type: ignore[no-untyped-call]
    except ApiException as error:
        metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=str(error.status or 0)).inc()
        retry = _seconds((error.headers or {}).get("Retry-After"))
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
        retry = _seconds(response.getheader("Retry-After"))  # type: ignore[no-untyped-call]
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


def _seconds(value: object) -> float | None:
    """A Retry-After header in seconds (the HTTP-date form is not used by kube-apiserver)."""
    try:
        return max(0.0, float(str(value))) if value is not None else None
    except ValueError:
        return None
