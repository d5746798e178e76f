"""The work queue: every trigger only enqueues a FlowCollector's key; one reconcile per key.

controller-runtime's shape (client-go's rate-limited work queue):

* ``add(key, trigger)``: a FlowCollector event (kopf), a child's event (mapped to its owner),
  the resync tick, the API coming back. Requests for one key coalesce: the newest wins, and a
  key already waiting runs once;
* at most one reconcile per key in flight (a request arriving meanwhile runs after it), and at
  most ``workers`` keys at once;
* a reconcile that raises is retried after ``backoff.delay(failures, Retry-After)``, per key
  (failures in a row, reset by a success); a newer request for the key runs at once;
* level-based: the reconcile reads what it needs itself, so the queue carries only keys.

Nothing is lost silently: each failure is counted (``flowkeeper_operator_errors_total``,
``flowkeeper_operator_api_retries_total``) and logged (the first of a streak as a warning,
a bug with its traceback).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from flowkeeper.operator import backoff, logs, metrics
from flowkeeper.operator.kube import client
from flowkeeper.operator.kube.health import API

Key = tuple[str, str]  # namespace, name of a FlowCollector
Reconcile = Callable[[Key, str], Awaitable[None]]  # key, trigger; raises to be retried
DEFAULT_WORKERS = 4

logger = logging.getLogger(__name__)


class WorkQueue:
    def __init__(self, reconcile: Reconcile, *, workers: int = DEFAULT_WORKERS) -> None:
        self._reconcile = reconcile
        self._slots = asyncio.Semaphore(workers)
        self._pending: dict[Key, str] = {}  # key -> trigger of its newest request
        self._unconditional: set[Key] = set()
        self._conditions: dict[Key, list[Callable[[], bool]]] = {}
        self._running: dict[Key, asyncio.Task[None]] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._failures: dict[Key, int] = {}
        self._stopped = False

    def add(self, key: Key, trigger: str, *, needed: Callable[[], bool] | None = None) -> None:
        """Reconcile ``key`` as soon as possible (after its reconcile in flight, if any).

        ``needed``, asked when the key's turn comes, may say the request has become moot (the
        child event was the echo of our own write); the key still runs if any request for it
        is unconditional or still needed."""
        if self._stopped:
            return
        if needed is None:
            self._unconditional.add(key)
        else:
            self._conditions.setdefault(key, []).append(needed)
        self._pending[key] = trigger
        if key not in self._running:
            self._running[key] = asyncio.create_task(self._drain(key), name=f"reconcile {key}")

    def add_after(self, key: Key, seconds: float) -> None:
        """Reconcile ``key`` in ``seconds`` (a retry); an earlier request wins."""
        if self._stopped or key in self._timers:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(seconds, self._fire, key)

    def retry_now(self) -> None:
        """Run every key waiting for a retry now (the API is back); failures are kept."""
        for key in list(self._timers):
            self._timers.pop(key).cancel()
            self.add(key, "retry")

    def failures(self, key: Key) -> int:
        return self._failures.get(key, 0)

    def waiting(self) -> list[Key]:
        """Keys waiting for a retry."""
        return list(self._timers)

    async def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()
        self._unconditional.clear()
        self._conditions.clear()

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key, "retry")

    async def _drain(self, key: Key) -> None:
        try:
            while key in self._pending:
                async with self._slots:
                    trigger = self._pending.pop(key, "")
                    if not trigger:
                        break
                    unconditional = key in self._unconditional
                    self._unconditional.discard(key)
                    conditions = self._conditions.pop(key, [])
                    if unconditional or any(needed() for needed in conditions):
                        await self._once(key, trigger)
        finally:
            self._running.pop(key, None)

    async def _once(self, key: Key, trigger: str) -> None:
        try:
            await self._reconcile(key, trigger)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 (counted, logged, retried)
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            retry_after = error.retry_after if isinstance(error, client.KubeError) else None
            wait = backoff.delay(failures, retry_after)
            self._failed(key, trigger, error, failures, wait)
            if key not in self._pending:  # a newer request runs at once anyway
                self.add_after(key, wait)
            return
        API.answered()
        self._failures.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()  # a retry scheduled before this success has nothing left to do

    def _failed(self, key: Key, trigger: str, error: Exception, failures: int, wait: float) -> None:
        namespace, name = key
        fields = {
            "flowcollector": f"{namespace}/{name}",
            "trigger": trigger,
            "failures": failures,
            "retry_in": f"{wait:.1f}s",
        }
        if client.transient(error):
            metrics.ERRORS.labels(cause="transient").inc()
            status = error.status if isinstance(error, client.KubeError) else 0
            metrics.API_RETRIES.labels(code=str(status)).inc()
            API.failed(error)
            # The first of a streak is logged; an outage is logged once by API.failed.
            log = logger.warning if failures == 1 and API.reachable else logger.debug
            log(logs.line("reconcile failed", {**fields, "error": error}))
        elif isinstance(error, client.KubeError):
            metrics.ERRORS.labels(cause="rejected").inc()
            logger.warning(logs.line("reconcile failed", {**fields, "error": error}))
        else:
            # A bug: logged with its traceback, and retried like the rest.
            metrics.ERRORS.labels(cause="unexpected").inc()
            logger.error(logs.line("reconcile failed", {**fields, "bug": True}), exc_info=error)
