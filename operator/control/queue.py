"""Hand watch events to a handler without blocking the stream or piling them up.

Each object has at most one event in flight and keeps only its newest pending one (a child's
newest state is all a level-based reconcile needs), so a slow reconcile never stalls a watch
stream, and memory is bounded by the number of objects, not of events.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from flowkeeper.operator import metrics
from flowkeeper.operator.kube import client as kube

Handler = Callable[[str, str, kube.Object], Awaitable[None]]  # kind, event type, object
Key = tuple[str, str, str]  # kind, namespace, name


class Dispatcher:
    def __init__(self, handler: Handler, logger: Any) -> None:
        self._handler, self._logger = handler, logger
        self._inflight: dict[Key, asyncio.Task[None]] = {}
        self._pending: dict[Key, tuple[str, kube.Object]] = {}

    def submit(self, kind: str, event_type: str, body: kube.Object) -> None:
        """Handle an event at once, or after the object's event in flight (newest wins)."""
        metadata = body.get("metadata") or {}
        key = (kind, str(metadata.get("namespace", "")), str(metadata.get("name", "")))
        self._pending[key] = (event_type, body)
        if key not in self._inflight:
            self._inflight[key] = asyncio.create_task(self._drain(key))

    async def stop(self) -> None:
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()

    async def _drain(self, key: Key) -> None:
        try:
            while key in self._pending:
                event_type, body = self._pending.pop(key)
                try:
                    await self._handler(key[0], event_type, body)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad event must not end the others
                    metrics.ERRORS.labels(cause="unexpected").inc()
                    self._logger.exception(f"Handling {event_type} {key[0]} {key[2]} failed")
        finally:
            self._inflight.pop(key, None)
