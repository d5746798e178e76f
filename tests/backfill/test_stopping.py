"""handling_signals in-process: what the CLI's signal handling promises when the orderly stop
itself goes wrong (the real-process tests are in test_sigterm.py)."""

import os
import signal
import threading
import time

from flowkeeper.backfill.stopping import StopSignal, handling_signals


def test_watchdog_ends_a_stop_that_overruns_its_budget():
    stop, exits = StopSignal(), []
    ended = threading.Event()

    def exit_now(code):
        exits.append(code)
        ended.set()

    with handling_signals(stop, exit_now=exit_now, watchdog_seconds=0.3):
        os.kill(os.getpid(), signal.SIGINT)
        # A stop that never finishes (a request stuck past every timeout).
        assert ended.wait(5)
    assert stop.stopped
    assert exits == [130]


def test_watchdog_stays_quiet_when_the_stop_finishes_in_time():
    stop, exits = StopSignal(), []
    with handling_signals(stop, exit_now=exits.append, watchdog_seconds=0.3):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    time.sleep(0.5)
    assert exits == []
    assert stop.exit_code == 143


def test_second_signal_exits_at_once_with_the_first_signals_code():
    stop, exits = StopSignal(), []
    with handling_signals(stop, exit_now=exits.append, watchdog_seconds=30):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert exits == [143]


def test_handlers_are_restored_after_the_block():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with handling_signals(StopSignal()):
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]
    assert {s: signal.getsignal(s) for s in before} == before
