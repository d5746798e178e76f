"""The answers of the reading verbs (LIST pages, WATCH streams) and of DELETE, as JSON."""

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp.web
import kmock

from e2e.apiserver import selectors
from e2e.apiserver.api import Api
from e2e.apiserver.errors import ApiError
from e2e.apiserver.resources import Resource
from e2e.apiserver.store import Watcher


def list_objects(
    api: Api, resource: Resource, namespace: str | None, params: Mapping[str, str]
) -> dict[str, Any]:
    matches = selectors.of_query(params, resource.kind)
    version, after = str(api.store.version), ""
    if params.get("continue"):
        try:
            token = json.loads(base64.urlsafe_b64decode(params["continue"]))
            version, after = str(token["rv"]), str(token["start"])
        except (ValueError, KeyError) as error:
            raise ApiError(400, "continue key is not valid") from error
    items = [
        obj
        for obj in api.store.items(resource, namespace)
        if matches(obj) and _position(obj) > after
    ]
    body = list_body(resource, items, version)
    try:
        limit = int(params.get("limit") or 0)
    except ValueError as error:
        raise ApiError(400, f"limit must be a number: {params['limit']!r}") from error
    if limit and len(items) > limit:
        body["items"] = items[:limit]
        token = {"rv": version, "start": _position(items[limit - 1])}
        body["metadata"]["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        body["metadata"]["remainingItemCount"] = len(items) - limit
    return body


async def watch(
    api: Api,
    request: kmock.Request,
    resource: Resource,
    namespace: str | None,
    name: str | None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> aiohttp.web.StreamResponse:
    """A WATCH stream; ``shape`` turns each event's object into what the client asked for (a
    Table with one row, for ``kubectl get -w``)."""
    params = request.params
    watcher = Watcher(resource, namespace, name, selectors.of_query(params, resource.kind))
    fresh = api.store.watch(watcher, params.get("resourceVersion"))
    raw = request._raw_request
    assert raw is not None
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        await response.prepare(raw)
        if not fresh:
            gone = ApiError(410, "too old resource version", reason="Expired").status()
            await response.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            return response
        timeout = float(params.get("timeoutSeconds") or 0) or None
        async with asyncio.timeout(timeout):
            while (event := await watcher.queue.get()) is not None:
                if shape is not None:
                    event = {"type": event["type"], "object": shape(event["object"])}
                await response.write(json.dumps(event).encode() + b"\n")
    except (TimeoutError, ConnectionError):
        pass
    finally:
        api.store.watchers.discard(watcher)
    return response


def deleted(resource: Resource, last: dict[str, Any], pending: bool) -> aiohttp.web.Response:
    """202 and the object while finalizers hold it; once gone, 200 and the object for custom
    resources and Pods, a Success Status for the other built-in kinds (ReturnDeletedObject)."""
    if pending:
        return json_response(last, 202)
    if resource.custom or resource.kind == "Pod":
        return json_response(last)
    metadata = last["metadata"]
    details = {"name": metadata["name"], "kind": resource.plural, "uid": metadata["uid"]}
    if resource.group:
        details["group"] = resource.group
    return json_response(
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


def list_body(resource: Resource, items: list[dict[str, Any]], version: str) -> dict[str, Any]:
    return {
        "apiVersion": resource.api_version,
        "kind": f"{resource.kind}List",
        "metadata": {"resourceVersion": version},
        "items": items,
    }


def json_response(body: Any, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(body, status=status)
