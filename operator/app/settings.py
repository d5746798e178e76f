"""kopf settings, tuned in one startup handler; each value says why it differs from kopf's."""

import logging
import os
from typing import Any

import kopf
from flowkeeper.operator import backoff, flags
from flowkeeper.operator.constants import ANNOTATION_PREFIX
from flowkeeper.operator.kube.health import API

PREFIX = ANNOTATION_PREFIX
# The CLI's variables, read here too under `kopf run`.
RESYNC_ENV = flags.BY_NAME["resync-seconds"].variable
NAMESPACE_ENV = flags.BY_NAME["namespace"].variable
DEFAULT_RESYNC_SECONDS = float(flags.BY_NAME["resync-seconds"].default)


class SpecDiffBase(kopf.AnnotationsDiffBaseStorage):
    """The last-handled configuration is the spec alone (kopf's default essence also holds
    labels and annotations, so a metadata change rewrote this annotation although no handler
    ran). Unused while the only FlowCollector handler is an event handler (kopf stores no diff
    base for those, see app/handlers.py); kept so that a change handler added later would
    react to the spec only."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        essence = super().build(body=body, extra_fields=extra_fields)
        essence.pop("metadata", None)
        return essence


def resync_seconds(memo: kopf.Memo) -> float:
    """From the CLI (memo), else the environment, else five minutes."""
    value = memo.get("resync_seconds") or os.environ.get(RESYNC_ENV) or DEFAULT_RESYNC_SECONDS
    return float(value)


def namespaces(memo: kopf.Memo) -> tuple[str, ...]:
    """The namespaces served (kopf's patterns) for the child watches: from the CLI (memo), else
    the environment (as under ``kopf run``, whose own list handlers cannot see); empty: all."""
    given = memo.get("namespaces") or os.environ.get(NAMESPACE_ENV, "").split(",")
    return tuple(name.strip() for name in given if name.strip())


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # kopf's peering stays off: with several replicas, only the one holding the leader Lease
    # runs kopf at all (see leader.py). Peering would need the KopfPeering CRDs and RBAC for
    # them, writes a heartbeat every few seconds, and does not exclude equal-priority peers.
    settings.peering.standalone = True
    settings.peering.mandatory = False

    # Our own annotation prefix instead of kopf.zalando.org, so users see who wrote them.
    # Annotations, not status: the FlowCollector status schema is structural and would prune
    # a status.kopf stanza. Progress is only written while a handler is retrying.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = SpecDiffBase(
        prefix=PREFIX, key="last-handled-configuration"
    )
    # Never added: there are no deletion handlers, daemons or kopf timers (those would add
    # it); ownerReferences garbage-collect the children. Named ours should that ever change.
    settings.persistence.finalizer = f"{PREFIX}/finalizer"

    # Only the Events we post on purpose (created/updated/restored children, invalid specs),
    # never one per log line: an idle operator must not write to the API.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO

    # Watches end server-side every 10 minutes and are re-opened, so a silently broken
    # connection (a dropped NAT entry, a restarted API server) cannot stall the operator.
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 660
    settings.watching.connect_timeout = 30
    # A single API request should never take longer than this; kopf retries after it.
    settings.networking.request_timeout = 60
    # kopf's default (1, 1, 2 ... 21 s: 9 tries, 54 s) gives up, and a failed watcher stops
    # the whole operator: an API outage of a minute became a crash loop. The operator's one
    # backoff instead, without end: kopf retries until the API answers (capped at 30 s).
    settings.networking.error_backoffs = backoff.KopfBackoffs()
    # kopf logs each failed try as an error; the outage is logged once (kube/health.py).
    # And the operator logs what it did itself: kopf's "succeeded" lines say nothing more.
    for name in KOPF_LOGGERS:
        _quiet(logging.getLogger(name))

    # Only the login handler is synchronous; API calls run in asyncio's own thread pool.
    settings.execution.max_workers = 2


# The loggers kopf's requests log their retries to (each request logs to its caller's), and
# those of its per-event and per-probe "succeeded" lines.
KOPF_LOGGERS = (
    "kopf._cogs.clients.api",
    "kopf._cogs.clients.watching",
    "kopf._cogs.clients.scanning",
    "kopf._core.reactor.observation",
    "kopf.objects",
    "kopf.activities.probe",
)
# kopf's lines for what the operator logs itself (or that say nothing): an event handler and
# the probe succeeding (one line per FlowCollector event, one per /healthz request).
SILENCED = ("Handler 'flowcollector_event' succeeded.", "Activity 'api' succeeded.")


class _KopfFilter(logging.Filter):
    """Turns kopf's "Request attempt #N failed; will retry: ..." lines into outage reports
    (logged once, by ``health.API``), and drops kopf's lines in ``SILENCED``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in SILENCED:
            return False
        if "failed; will retry" not in message:
            return True
        API.failed(message.partition("will retry: ")[2] or message)
        return False


def _quiet(kopf_logger: logging.Logger) -> None:
    if not any(isinstance(f, _KopfFilter) for f in kopf_logger.filters):
        kopf_logger.addFilter(_KopfFilter())
