"""SIGTERM (a Job deleted, a node drained) or SIGINT (Ctrl-C): stop the run within 10 s and
exit 128 + the signal's number (143, 130).

The handler only sets an event. The pipeline polls it between pages and batches and in every
hand-over, retry waits are cut short by it, and the batch in flight gets a grace period; what
is left is abandoned so that the run summary (marked failed) can still be sent before the
kubelet's SIGKILL. No signal sequence leaves the process hanging: a second signal ends it at
once, and a watchdog started by the first ends it if the orderly stop overruns its budget.
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from flowkeeper.backfill.errors import Interrupted

log = logging.getLogger("flowkeeper.backfill")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
EXIT_TERMINATED = 128 + signal.SIGTERM
EXIT_INTERRUPTED = 128 + signal.SIGINT
# Kubernetes' default terminationGracePeriodSeconds is 30 s; the issue asks for 10 s.
STOP_BUDGET_SECONDS = 10.0
# The orderly stop has its budget plus this much before the watchdog ends the process.
WATCHDOG_MARGIN_SECONDS = 3.0


class StopSignal:
    """Set once by the first SIGTERM or SIGINT; `remaining()` is what is left of the stop
    budget, `exit_code` the code the run ends with (128 + the signal's number)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._at = 0.0
        self.signum = 0

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if not self.event.is_set():
            self._at = time.monotonic()
            self.signum = signum
            self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum or signal.SIGTERM).name

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGTERM)

    def remaining(self) -> float:
        return max(0.0, STOP_BUDGET_SECONDS - (time.monotonic() - self._at))

    def sleep(self, seconds: float) -> None:
        """A retry wait that ends the retrying at once when the run is stopped."""
        if self.event.wait(seconds):
            raise Interrupted(f"stopped by {self.name}")


def _exit_now(code: int) -> None:
    """End the process without waiting for any thread (a request may be stuck in one)."""
    for stream in (sys.stderr, sys.stdout):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextmanager
def handling_signals(
    stop: StopSignal,
    *,
    exit_now: Callable[[int], None] = _exit_now,
    watchdog_seconds: float = STOP_BUDGET_SECONDS + WATCHDOG_MARGIN_SECONDS,
) -> Iterator[None]:
    """Route SIGTERM and SIGINT to `stop` while the block lasts (only possible in the main
    thread). A second signal ends the process at once; so does the watchdog, if the block
    has not ended `watchdog_seconds` after the first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    finished = threading.Event()

    def watchdog() -> None:
        if not finished.wait(watchdog_seconds):
            log.error(
                "stop overran its budget: exiting now",
                extra={"fields": {"seconds": watchdog_seconds}},
            )
            exit_now(stop.exit_code)

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.stopped:
            log.warning(f"{name} received again: exiting now", extra={"fields": {"signal": signum}})
            exit_now(stop.exit_code)
            return
        log.warning(f"{name} received: stopping", extra={"fields": {"signal": signum}})
        stop.stop(signum)
        threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()

    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {
        signum: signal.signal(signum, handler) for signum in SIGNALS
    }
    try:
        yield
    finally:
        finished.set()
        for signum, action in previous.items():
            signal.signal(signum, action)
