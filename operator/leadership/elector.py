"""Leader election: one thread that takes, renews and gives back the operator's Lease.

A thread of its own, with blocking calls bounded by timeouts, so nothing kopf does to its
event loop (it cancels every task it did not start when it stops) can delay a renewal or the
decision to give up. The records are built by ``lease`` (pure); this module only does I/O and
timing, and reports through two callbacks: became leader, stopped leading.
"""

import datetime
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import kubernetes.client
from flowkeeper.operator import metrics

# client-go's JitterFactor: candidates spread their tries so they do not collide every time.
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.leadership import lease

JITTER = 1.2
MIN_TIMEOUT_SECONDS = 0.1
EPSILON_SECONDS = 0.01  # past the expiry, not at it

_log = logging.getLogger(__name__)


class Election(NamedTuple):
    namespace: str
    name: str
    timings: lease.Timings


class Elector:
    """Acquire the Lease, renew it every retry period, give up after the renew deadline."""

    def __init__(
        self,
        api: kubernetes.client.ApiClient,
        election: Election,
        *,
        identity: str,
        on_started_leading: Callable[[], object],
        on_stopped_leading: Callable[[], object],
    ) -> None:
        self.api, self.election, self.identity = api, election, identity
        self._started, self._stopped = on_started_leading, on_stopped_leading
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._observed: Mapping[str, Any] = {}
        self._observed_at = 0.0
        self._last: kube.Object | None = None  # the Lease as we last wrote it

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, release: bool) -> None:
        """Stop trying; when ``release`` and we lead, hand the Lease back first."""
        self._stop.set()
        self._thread.join()
        if release and self._last is not None and lease.holder(self._last) == self.identity:
            try:
                kube.replace(
                    self.api,
                    body=lease.release(self._last, now=_now()),
                    timeout=self.election.timings.retry_period,
                )
                _log.info(f"Released the leader Lease {self._where()}")
            except kube.KubeError as error:
                _log.warning(f"Could not release the leader Lease (it expires by itself): {error}")
        metrics.LEADER.set(0)

    def _run(self) -> None:
        try:
            self._elect()
        except Exception:  # noqa: BLE001  (reported: the replica must not lead blind)
            # A bug here must not leave a leader reconciling without renewing its Lease (another
            # replica would take over: two leaders), nor a standby that can never lead.
            _log.exception("Leader election failed")
            metrics.LEADER.set(0)
            self._stopped()

    def _elect(self) -> None:
        timings = self.election.timings
        _log.info(f"Waiting to lead as {self.identity} (Lease {self._where()})")
        while not self._try(timeout=timings.renew_deadline):
            if self._stop.wait(self._pause()):
                return
        _log.info(f"Became the leader (Lease {self._where()}, held by {self.identity})")
        metrics.LEADER.set(1)
        self._started()
        renewed = time.monotonic()
        while not self._stop.wait(timings.retry_period):
            left = timings.renew_deadline - (time.monotonic() - renewed)
            if self._try(timeout=max(left, MIN_TIMEOUT_SECONDS)):
                renewed = time.monotonic()
            elif time.monotonic() - renewed >= timings.renew_deadline:
                _log.error(
                    f"Lost the leader Lease {self._where()}: not renewed within"
                    f" {timings.renew_deadline:g}s; stopping reconciling"
                )
                metrics.LEADER.set(0)
                self._stopped()
                return

    def _pause(self) -> float:
        """The retry period with jitter, or less when the Lease expires sooner."""
        pause = self.election.timings.retry_period * random.uniform(1.0, JITTER)  # noqa: S311
        expiry = lease.expires_in(
            {"spec": self._observed},
            identity=self.identity,
            observed_at=self._observed_at,
            now=time.monotonic(),
            lease_duration=self.election.timings.lease_duration,
        )
        # Expired already and still not ours (a failed try): the normal pace, not a busy loop.
        return expiry + EPSILON_SECONDS if 0 < expiry + EPSILON_SECONDS < pause else pause

    def _try(self, *, timeout: float) -> bool:
        """One try to acquire or renew (client-go's tryAcquireOrRenew)."""
        namespace, name, timings = self.election
        try:
            current = kube.read(
                self.api, kind="Lease", namespace=namespace, name=name, timeout=timeout
            )
            now = time.monotonic()
            if lease.record(current) != self._observed:
                self._observed, self._observed_at = lease.record(current), now
            if not lease.may_take(
                current,
                identity=self.identity,
                observed_at=self._observed_at,
                now=now,
                lease_duration=timings.lease_duration,
            ):
                return False
            body = lease.claim(
                current,
                name=name,
                namespace=namespace,
                identity=self.identity,
                lease_duration=timings.lease_duration,
                now=_now(),
            )
            write = kube.create if current is None else kube.replace
            self._last = write(self.api, body=body, timeout=timeout)
        except kube.KubeError as error:
            # 409: another candidate wrote first (it wins); anything else: try again later.
            # Counted in flowkeeper_operator_api_requests_total by code.
            if error.status != 409:
                _log.warning(f"Leader election try failed: {error}")
            return False
        self._observed, self._observed_at = lease.record(self._last), time.monotonic()
        return True

    def _where(self) -> str:
        return f"{self.election.namespace}/{self.election.name}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
