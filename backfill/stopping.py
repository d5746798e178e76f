"""SIGTERM (a Job deleted, a node drained): stop the run within 10 s and exit 143.

The handler only sets an event. The pipeline polls it between pages and batches, retry waits
are cut short by it, and the batch in flight gets a grace period; what is left is abandoned
so that the run summary (marked failed) can still be sent before the kubelet's SIGKILL.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from flowkeeper.backfill.errors import Interrupted

log = logging.getLogger("flowkeeper.backfill")

EXIT_TERMINATED = 128 + signal.SIGTERM
# Kubernetes' default terminationGracePeriodSeconds is 30 s; the issue asks for 10 s.
STOP_BUDGET_SECONDS = 10.0


class StopSignal:
    """Set once by SIGTERM; `remaining()` is what is left of the stop budget."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._at = 0.0

    def stop(self) -> None:
        if not self.event.is_set():
            self._at = time.monotonic()
            self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def remaining(self) -> float:
        return max(0.0, STOP_BUDGET_SECONDS - (time.monotonic() - self._at))

    def sleep(self, seconds: float) -> None:
        """A retry wait that ends the retrying at once when the run is stopped."""
        if self.event.wait(seconds):
            raise Interrupted("stopped by SIGTERM")


@contextmanager
def handling_sigterm(stop: StopSignal) -> Iterator[None]:
    """Route SIGTERM to `stop` while the run lasts (only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stop.stopped:
            log.warning("SIGTERM received: stopping", extra={"fields": {"signal": signum}})
        stop.stop()

    previous: Callable[[int, FrameType | None], object] | int | None = signal.signal(
        signal.SIGTERM, handler
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
