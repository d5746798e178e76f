"""Events on FlowCollectors, posted with the operator's own client.

Not with kopf's ``kopf.info``/``kopf.warn``: those need kopf's per-handler context and raise
``LookupError`` from any other task (the resync loop, retries), which used to abort the rest
of a reconcile. Posting an Event is best effort: a failure is counted and logged, never raised
nor retried, because the Event describes a write that already happened.
"""

import datetime
import logging
import socket
from collections.abc import Mapping
from typing import Any, Literal

import kubernetes.client
from flowkeeper.operator import metrics
from flowkeeper.operator.kube import client as kube

Type = Literal["Normal", "Warning"]
COMPONENT = "flowkeeper-operator"
MAX_MESSAGE = 1024  # the API refuses longer Event messages
Owner = Mapping[str, Any]  # the FlowCollector the Event is about

logger = logging.getLogger(__name__)


def build_event(owner: Owner, *, type_: Type, reason: str, message: str, now: str) -> kube.Object:
    """A core/v1 Event about ``owner``. Pure."""
    metadata = owner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{metadata['name']}.", "namespace": metadata["namespace"]},
        "involvedObject": {
            "apiVersion": owner.get("apiVersion"),
            "kind": owner.get("kind", "FlowCollector"),
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid"),
        },
        "type": type_,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": socket.gethostname(),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def post(
    api: kubernetes.client.ApiClient,
    owner: Owner,
    *,
    reason: str,
    message: str,
    type_: Type = "Normal",
) -> None:
    """Post an Event about ``owner``; a failure is counted and logged, never raised."""
    body = build_event(owner, type_=type_, reason=reason, message=message, now=now())
    try:
        await kube.call(kube.create, api=api, body=body)
    except Exception as error:  # noqa: BLE001 (an Event must never abort the reconcile)
        metrics.EVENT_FAILURES.inc()
        logger.warning(f"Could not post Event {reason} ({message!r}): {error}")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["build_event", "now", "post"]
