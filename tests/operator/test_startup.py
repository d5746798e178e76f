"""What the operator cannot start with ends it at once: one line naming the flag, variable or
path, exit code 2, before anything is served (the real console script, as a process). And the
leader gauge is 1 only while kopf really runs."""

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowkeeper.operator import cli, metrics, preflight

from e2e.local import free_port, write_kubeconfig
from tests.operator.harness import Operator

SCRIPT = Path(sys.executable).parent / "flowkeeper-operator"
TIMEOUT = 30


def operator(*argv, env):
    """Run the console script to its end; a process still running after TIMEOUT fails."""
    process = subprocess.Popen(
        [str(SCRIPT), *argv],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"still running after {TIMEOUT} s; stderr:\n{stderr[-3000:]}")
    return process.returncode, stdout, stderr


@pytest.fixture
def reachable(tmp_path):
    """A valid kubeconfig (the server behind it need not answer for these checks)."""
    return {"KUBECONFIG": str(write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1"))}


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something else listens on (loopback, as every test server here)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def one_line(stderr):
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("flowkeeper-operator: error: "), stderr
    return stderr.strip()


def test_metrics_port_in_use(reachable, taken):
    code, _, stderr = operator("--metrics-port", str(taken), "--liveness-port", "0", env=reachable)
    assert code == 2
    line = one_line(stderr)
    assert f"--metrics-port {taken}: cannot listen on 0.0.0.0:{taken}" in line
    assert "FLOWKEEPER_OPERATOR_METRICS_PORT" in line


def test_liveness_port_in_use(reachable, taken):
    env = {**reachable, "FLOWKEEPER_OPERATOR_LIVENESS_PORT": str(taken)}
    code, _, stderr = operator("--metrics-port", "0", env=env)
    assert code == 2
    assert f"--liveness-port {taken}: cannot listen" in one_line(stderr)


@pytest.mark.parametrize("variable", ["/nope.yaml", "/nope.yaml:/nope-either.yaml"])
def test_missing_kubeconfig(variable):
    env = {"KUBECONFIG": variable, "KUBERNETES_SERVICE_HOST": ""}
    code, _, stderr = operator("--metrics-port", "0", "--liveness-port", "0", env=env)
    assert code == 2
    assert one_line(stderr) == (
        "flowkeeper-operator: error: no usable Kubernetes configuration: not in a pod"
        f" (KUBERNETES_SERVICE_HOST is not set) and KUBECONFIG={variable}: no such file"
    )


def test_broken_kubeconfig(tmp_path):
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    env = {"KUBECONFIG": str(path), "KUBERNETES_SERVICE_HOST": ""}
    code, _, stderr = operator("--metrics-port", "0", "--liveness-port", "0", env=env)
    assert code == 2
    line = one_line(stderr)
    assert f"KUBECONFIG={path}: Invalid kube-config file. Expected key current-context" in line


def test_no_kubeconfig_at_all(tmp_path):
    env = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "", "KUBECONFIG": ""}
    code, _, stderr = operator("--metrics-port", "0", "--liveness-port", "0", env=env)
    assert code == 2
    assert "~/.kube/config (KUBECONFIG is not set): no such file" in one_line(stderr)


def test_bad_variable_names_the_variable():
    env = {"FLOWKEEPER_OPERATOR_RESYNC_SECONDS": "soon"}
    code, _, stderr = operator(env=env)
    assert code == 2
    assert one_line(stderr) == (
        "flowkeeper-operator: error: FLOWKEEPER_OPERATOR_RESYNC_SECONDS must be between 1 and"
        " 86400, got 'soon'"
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if "operator_startup" in record.getMessage() and record.levelno >= logging.ERROR:
            self.seen.set()


async def test_not_leading_while_kopf_cannot_start(monkeypatch):
    """Without the CLI's check (serve() alone), kopf retries its start-up for ever: the gauge
    must say this replica reconciles nothing."""
    monkeypatch.setenv("KUBECONFIG", "/nope.yaml")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    metrics.LEADER.set(0)
    records = Records()
    logging.getLogger("kopf").addHandler(records)
    options = cli.parse_args(["--liveness-port", "0", "--metrics-port", "0"], {})
    stop = threading.Event()
    thread = threading.Thread(
        target=asyncio.run, args=(cli.serve(options, stop_flag=stop),), name="operator"
    )
    thread.start()
    try:
        assert await asyncio.to_thread(records.seen.wait, TIMEOUT), records.messages
        assert metrics.LEADER._value.get() == 0
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, TIMEOUT)
        logging.getLogger("kopf").removeHandler(records)
    assert not thread.is_alive()
    assert metrics.LEADER._value.get() == 0


async def test_leads_while_running_and_not_after(kubeconfig):
    metrics.LEADER.set(0)
    running = Operator()
    await running.start()
    try:
        assert metrics.LEADER._value.get() == 1
    finally:
        await running.stop()
    assert metrics.LEADER._value.get() == 0


def test_free_port_is_free():
    # Guard: the checks above cannot pass because every port looks taken.
    port = free_port()
    preflight.check_port_free("liveness-port", port)
