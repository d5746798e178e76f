"""Children that must go: the metrics Service once metrics are off (I/O).

Only objects this FlowCollector controls are deleted here; the one exception, a Deployment the
user names for replacement, is ``migration.py``.
"""

import logging

from flowkeeper.operator import logs
from flowkeeper.operator.control import apply
from flowkeeper.operator.control.state import Owner, Runtime, key
from flowkeeper.operator.kube import client, events
from flowkeeper.operator.model import manifests, spec
from flowkeeper.operator.plan import ownership

logger = logging.getLogger(__name__)


async def remove_metrics_service(
    runtime: Runtime, owner: Owner, parsed: spec.FlowCollectorSpec
) -> bool:
    """Delete the metrics Service we made once metrics are turned off (only ours: a Service of
    that name that this FlowCollector does not control is left alone)."""
    if parsed["metrics"]["enabled"]:
        return False
    namespace, name = key(owner)
    stale = manifests.metrics_service_name(name)
    live = await apply.read(
        runtime, kind="Service", namespace=namespace, name=stale, ours_only=True
    )
    if live is None or ownership.verdict(live, owner) != "ours":
        return False
    deleted = await client.call(
        client.delete, api=runtime.api, kind="Service", namespace=namespace, name=stale
    )
    runtime.children.remember("Service", namespace, stale, None)
    if not deleted:
        return False
    fields = {"flowcollector": f"{namespace}/{name}", "kind": "Service", "name": stale}
    logger.info(logs.line("child removed", {**fields, "why": "metrics disabled"}))
    message = f"Removed Service {stale}: metrics are disabled"
    await events.post(runtime.api, owner, reason="Removed", message=message)
    return True
