"""Is the API server answering? One record for the whole process, fed by every client.

An outage starts with the first transient failure (no answer, 429, 5xx) seen while the API was
reachable, and ends with the next request that is answered. Each is logged once when it starts
and once when it ends, shown on ``/healthz`` and in ``flowkeeper_operator_api_reachable``, and
counted in ``flowkeeper_operator_api_outages_total``. The operator never exits because of one:
every client backs off (``backoff.py``) and tries again, for as long as it lasts.
"""

import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from flowkeeper.operator import backoff, logs, metrics
from flowkeeper.operator.kube import client

logger = logging.getLogger(__name__)


class ApiHealth:
    def __init__(self) -> None:
        self.reachable = True
        self.since = time.monotonic()
        self.since_wall = _now()
        self.last_error = ""
        self.outages = 0
        self._on_recovery: list[Callable[[], object]] = []

    def on_recovery(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` when an outage ends; returns a function that unregisters it."""
        self._on_recovery.append(callback)
        return lambda: self._on_recovery.remove(callback)

    def failed(self, error: object) -> None:
        """A request failed transiently (callers check ``client.transient`` first); a 409 is
        a concurrent writer, not an outage."""
        if isinstance(error, client.KubeError) and error.status == 409:
            return
        self.last_error = str(error)
        if not self.reachable:
            return
        self.reachable, self.since, self.since_wall = False, time.monotonic(), _now()
        self.outages += 1
        metrics.API_REACHABLE.set(0)
        metrics.API_OUTAGES.inc()
        fields = {"error": error, "retry_max": f"{backoff.MAX_SECONDS:g}s"}
        logger.warning(logs.line("API server unreachable, retrying until it answers", fields))

    def answered(self) -> None:
        """A request got an answer (any status but a transient one)."""
        if self.reachable:
            return
        lasted = time.monotonic() - self.since
        self.reachable, self.since, self.since_wall = True, time.monotonic(), _now()
        metrics.API_REACHABLE.set(1)
        logger.warning(logs.line("API server reachable again", {"after": f"{lasted:.1f}s"}))
        for callback in list(self._on_recovery):
            callback()

    def report(self) -> dict[str, Any]:
        """For /healthz: reachable, since when, outages so far, the last error seen."""
        report: dict[str, Any] = {
            "reachable": self.reachable,
            "since": self.since_wall,
            "outages": self.outages,
        }
        if not self.reachable:
            report["error"] = self.last_error
        return report


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The process's one record: kopf's requests, the child watches and the reconciles report to it.
API = ApiHealth()
