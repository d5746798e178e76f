"""The operator's own Prometheus metrics (prometheus-client default registry)."""

from prometheus_client import Counter, Gauge

RECONCILES = Counter(
    "flowkeeper_operator_reconciles",
    "FlowCollector reconciles, by what triggered them (spec, child, resync) and their outcome"
    " (unchanged, changed, invalid, error).",
    ["trigger", "result"],
)
API_WRITES = Counter(
    "flowkeeper_operator_api_writes",
    "Write calls to the Kubernetes API made by the reconciler, by kind and verb.",
    ["kind", "verb"],
)
RESTORES = Counter(
    "flowkeeper_operator_restores",
    "Children re-created or patched back after a deletion or a hand edit, by kind.",
    ["kind"],
)
INVALID_SPECS = Counter(
    "flowkeeper_operator_invalid_specs",
    "FlowCollector specs refused by the operator (each refusal is counted once, when the"
    " status turns InvalidSpec).",
)
ERRORS = Counter(
    "flowkeeper_operator_errors",
    "Failed reconciles, by cause: transient (retried with backoff), rejected (needs a fix)"
    " or unexpected (a bug; logged with its traceback).",
    ["cause"],
)
FLOWCOLLECTORS = Gauge(
    "flowkeeper_operator_flowcollectors",
    "FlowCollectors the operator watches.",
)
API_RETRIES = Counter(
    "flowkeeper_operator_api_retries",
    "API calls retried after a transient error (connection, 429, 5xx), by HTTP code (0: no"
    " answer).",
    ["code"],
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
