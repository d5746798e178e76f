"""SIGTERM on the real CLI (a subprocess, a real signal): stop listing, finish or abandon the
batch in flight, send the run summary marked failed, exit 143, all within 10 s."""

import signal
import subprocess
import time

import pytest

from e2e.local import free_port
from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.clirun import cli_command
from tests.backfill.listserver import Faults, ListServer, serving

STOP_BUDGET = 10.0


def start_cli(tmp_path, api_url, receiver_url, *extra):
    command, env = cli_command(
        tmp_path,
        api_url,
        f"--remote-write-url={receiver_url}",
        "--resources=pods",
        "--page-size=10",
        "--batch-size=10",
        *extra,
    )
    return subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def terminate(process):
    return stop_with(process, signal.SIGTERM)


def stop_with(process, *signals, gap=0.5):
    """Send `signals` one after the other (`gap` apart while the process lives); the exit
    code, the seconds from the first signal to the exit, and stderr."""
    first = time.monotonic()
    try:
        for index, signum in enumerate(signals):
            if index:
                time.sleep(gap)
            if process.poll() is None:
                process.send_signal(signum)
        code = process.wait(timeout=STOP_BUDGET + 5)
        seconds = time.monotonic() - first
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with process.stderr:
        return code, seconds, process.stderr.read().decode()


def summary(receiver):
    """The run's unlabelled series (`shard`, on every run series, aside)."""
    last = receiver.requests[-1].write_request().timeseries
    return {
        ts.labels[0].value: ts.samples[0].value
        for ts in last
        if [lb.name for lb in ts.labels[1:]] == ["shard"]
    }


def test_sigterm_while_listing_stops_listing_and_sends_failed_summary(tmp_path):
    # Slow pages: the run would take a minute.
    server = ListServer(counts={"pods": 1000}, faults=Faults(delays={"pods": [0.1] * 100}))
    with serving(server) as api, capturing(CaptureReceiver()) as receiver:
        process = start_cli(tmp_path, api, receiver.url)
        wait_for(lambda: len(receiver.requests) >= 2)
        code, seconds, err = terminate(process)
        lists_at_exit = len(server.requests)
        time.sleep(0.3)
        assert len(server.requests) == lists_at_exit  # nothing listed after the exit
    assert code == 143
    assert seconds < STOP_BUDGET
    assert lists_at_exit < 100
    values = summary(receiver)
    assert values["kube_backfill_success"] == 0.0
    assert "kube_backfill_last_success_timestamp_seconds" not in values
    assert "SIGTERM received: stopping" in err
    assert "result=interrupted" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["receiver", "api"])
def test_sigterm_with_a_request_hanging_abandons_it_within_10s(tmp_path, where):
    delays = {"pods": [0.0, 60.0]} if where == "api" else {}
    server = ListServer(counts={"pods": 30}, faults=Faults(delays=delays))
    script = [(204, {}, 60.0)] if where == "receiver" else []
    with serving(server) as api, capturing(CaptureReceiver(script=script)) as receiver:
        process = start_cli(tmp_path, api, receiver.url, "--timeout=120")
        wait_for(lambda: len(receiver.requests) >= 1 and len(server.requests) >= 2)
        time.sleep(0.3)
        code, seconds, err = terminate(process)
    assert code == 143
    assert seconds < STOP_BUDGET
    values = summary(receiver)
    assert values["kube_backfill_success"] == 0.0
    assert "Traceback" not in err


# SIGINT (Ctrl-C) and signal sequences (issue 16, item 1): a real signal to the real CLI.


def closed_port_url(path="/api/v1/write"):
    """A loopback URL nothing listens on: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}{path}"


def test_sigint_against_an_unreachable_receiver_stops_the_run_with_130(tmp_path):
    # The case: SIGINT 3 s into a run whose receiver refuses every connection; the
    # sender is inside its retry waits. Before: nothing logged, retries went on.
    server = ListServer(counts={"pods": 30})
    with serving(server) as api:
        process = start_cli(tmp_path, api, closed_port_url(), "--max-retry-seconds=300")
        time.sleep(3)
        assert process.poll() is None
        code, seconds, err = stop_with(process, signal.SIGINT)
    assert code == 130
    assert seconds < STOP_BUDGET
    assert "SIGINT received: stopping" in err
    assert "result=interrupted" in err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err


@pytest.mark.parametrize(
    "signals",
    [
        (signal.SIGINT, signal.SIGTERM),  # the sequence: it never exited
        (signal.SIGTERM, signal.SIGINT),
        (signal.SIGINT, signal.SIGINT),
        (signal.SIGTERM, signal.SIGTERM),
    ],
    ids=["int-term", "term-int", "int-int", "term-term"],
)
def test_no_signal_sequence_leaves_it_hanging(tmp_path, signals):
    server = ListServer(counts={"pods": 30})
    with serving(server) as api:
        process = start_cli(tmp_path, api, closed_port_url(), "--max-retry-seconds=300")
        time.sleep(2)
        code, seconds, err = stop_with(process, *signals)
    assert code == 128 + signals[0]
    assert seconds < STOP_BUDGET
    assert "Traceback" not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_api_retries_stops_at_once(tmp_path, signum):
    # The API server's port is closed: the lister is inside its retry waits.
    with capturing(CaptureReceiver()) as receiver:
        process = start_cli(tmp_path, closed_port_url(""), receiver.url, "--max-retry-seconds=300")
        time.sleep(2)
        code, seconds, err = stop_with(process, signum)
    assert code == 128 + signum
    assert seconds < 3
    assert f"{signal.Signals(signum).name} received: stopping" in err
    assert "Traceback" not in err


def test_second_signal_ends_the_process_at_once(tmp_path):
    # The receiver holds the batch in flight for 60 s: the orderly stop would wait its 7 s
    # grace; a second Ctrl-C does not wait for it.
    server = ListServer(counts={"pods": 30})
    with serving(server) as api, capturing(CaptureReceiver(script=[(204, {}, 60.0)])) as rx:
        process = start_cli(tmp_path, api, rx.url, "--timeout=120")
        wait_for(lambda: len(rx.requests) >= 1)
        code, seconds, err = stop_with(process, signal.SIGINT, signal.SIGINT, gap=0.5)
    assert code == 130
    assert seconds < 3
    assert "SIGINT received again: exiting now" in err
