"""The operator's own Prometheus metrics (prometheus-client default registry)."""

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

RECONCILES = Counter(
    "flowkeeper_operator_reconciles",
    "FlowCollector reconciles, by what triggered them (spec, child, resync, retry) and their"
    " outcome (unchanged, changed, invalid, conflict, error).",
    ["trigger", "result"],
)
RECONCILE_DURATION = Histogram(
    "flowkeeper_operator_reconcile_duration_seconds",
    "Time one reconcile of one FlowCollector took (API calls included), by trigger.",
    ["trigger"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
API_REQUESTS = Counter(
    "flowkeeper_operator_api_requests",
    "Requests the operator's own clients made (the child watches included), by verb (get,"
    " list, watch, create, patch, update, delete), kind (FlowCollector/status for the status"
    ' subresource) and HTTP status code ("error" when no answer came). kopf\'s own'
    " FlowCollector watch and annotation patches are not included.",
    ["verb", "kind", "code"],
)
RESTORES = Counter(
    "flowkeeper_operator_restores",
    "Children re-created or patched back after a deletion or a hand edit, by kind.",
    ["kind"],
)
INVALID_SPECS = Counter(
    "flowkeeper_operator_invalid_specs",
    "FlowCollector specs refused by the operator (each refusal is counted once, when the"
    " status turns InvalidSpec, or InvalidConfig for a config.json the collector would refuse).",
)
ERRORS = Counter(
    "flowkeeper_operator_errors",
    "Failed reconciles, by cause: transient (retried with backoff), rejected (needs a fix)"
    " or unexpected (a bug; logged with its traceback).",
    ["cause"],
)
API_RETRIES = Counter(
    "flowkeeper_operator_api_retries",
    "Reconciles scheduled again after a transient error (no answer, 409, 429, 5xx), by the"
    " HTTP code of the failed call (0: no answer).",
    ["code"],
)
API_REACHABLE = Gauge(
    "flowkeeper_operator_api_reachable",
    "0 while the API server fails every request with a transient error (an outage: no answer,"
    " 429 or 5xx), 1 otherwise.",
)
API_REACHABLE.set(1)
API_OUTAGES = Counter(
    "flowkeeper_operator_api_outages",
    "API outages ridden out: each starts with a transient failure while the API was reachable"
    " and ends at the next answered request.",
)
EVENT_FAILURES = Counter(
    "flowkeeper_operator_event_failures",
    "Events the operator could not post (the reconcile goes on; each failure is logged).",
)
WATCH_RESTARTS = Counter(
    "flowkeeper_operator_watch_restarts",
    "Child watches listed again, by kind and cause: gone (410, the resourceVersion expired)"
    " or error (the API failed; re-listed after a backoff).",
    ["kind", "cause"],
)
DEPLOYMENTS_REPLACED = Counter(
    "flowkeeper_operator_deployments_replaced",
    "Deployments named in spec.migration.replaceDeployment, by outcome: deleted, missing (no"
    " such Deployment) or failed (the API refused the deletion).",
    ["result"],
)
LEADER = Gauge(
    "flowkeeper_operator_leader",
    "1 while this replica is the one reconciling (it holds the leader Lease, or leader"
    " election is off), 0 while it stands by.",
)

READY_VALUES = ("true", "false", "unknown")
# The statuses of the FlowCollectors this replica knows; set by the reconciler at start-up.
StatusSource = Callable[[], Iterable[Mapping[str, Any]]]
_log = logging.getLogger(__name__)


def count_ready(statuses: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """FlowCollectors by the status of their Ready condition (absent or odd: unknown)."""
    counts = dict.fromkeys(READY_VALUES, 0)
    for status in statuses:
        ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        value = str(ready[0].get("status", "")).lower() if ready else ""
        counts[value if value in counts else "unknown"] += 1
    return counts


class FlowCollectorsByReady(Collector):
    """``flowkeeper_operator_flowcollectors{ready}``, computed when scraped, so a deleted
    FlowCollector leaves the count at once. A standby knows none and reports zeros."""

    def __init__(self) -> None:
        self.source: StatusSource = list

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "flowkeeper_operator_flowcollectors",
            "FlowCollectors this replica reconciles, by the status of their Ready condition.",
            labels=["ready"],
        )
        try:
            counts = count_ready(self.source())
        except RuntimeError:
            # The reconciler changed its index while the scrape thread read it; the next
            # scrape reads it again. Logged, so it is not silent.
            _log.info("FlowCollectors changed while being counted; skipped this scrape")
            return
        for value in READY_VALUES:
            family.add_metric([value], counts[value])
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("flowkeeper_operator_flowcollectors", "", labels=["ready"])


FLOWCOLLECTORS = FlowCollectorsByReady()
REGISTRY.register(FLOWCOLLECTORS)
