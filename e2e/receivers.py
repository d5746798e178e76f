"""Real remote_write receivers (Prometheus, VictoriaMetrics) started on loopback.

Plain functions for any code (the demo) and session-scoped pytest fixtures for the tests:

    with start_prometheus() as prom:            # or start_victoriametrics()
        run_something(prom.write_url)
        prom.flush()
        prom.series('{__name__=~"kube_.*"}')    # -> [{"__name__": ..., ...}, ...]
        prom.query("count(kube_pod_labels)")    # -> the API's data.result list

Each receiver gets a free port and its own temporary directory, is waited for until ready,
and is stopped (terminate, then kill) when the context exits. When a binary is missing the
fixtures skip, unless FLOWKEEPER_REQUIRE_RECEIVERS=1 (CI), where they fail.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests

from e2e.local import free_port

PROMETHEUS_BINARY = "prometheus"
VICTORIAMETRICS_BINARY = "victoria-metrics"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
QUERY_AHEAD_SECONDS = 5.0
PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1h
storage:
  tsdb:
    # Backfilled samples are older than the newest ones; without a window they get 400.
    out_of_order_time_window: 30d
"""


class ReceiverUnavailableError(RuntimeError):
    """The binary is missing or the receiver did not become ready."""


@dataclass
class Receiver:
    name: str
    base_url: str
    write_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    _session: requests.Session = field(default_factory=requests.Session)

    def query(self, promql: str, time_s: float | None = None) -> list[Any]:
        """Instant query; returns `data.result`. The default evaluation time is a few seconds
        ahead, because VictoriaMetrics does not show a sample written in the last second."""
        at = time.time() + QUERY_AHEAD_SECONDS if time_s is None else time_s
        params: dict[str, str] = {"query": promql, "time": str(at)}
        return list(self._get("/api/v1/query", params)["result"])

    def series(self, match: str, start: float | None = None) -> list[dict[str, str]]:
        """`/api/v1/series` for one matcher over the last 30 days (or from `start`)."""
        params = {
            "match[]": match,
            "start": str(start if start is not None else time.time() - 30 * 86400),
            "end": str(time.time() + 60),
        }
        return [dict(item) for item in self._get("/api/v1/series", params)]

    def flush(self) -> None:
        """Make everything written so far queryable (VictoriaMetrics buffers for ~3 s)."""
        if self.name == "victoriametrics":
            self._session.get(
                f"{self.base_url}/internal/force_flush", timeout=30
            ).raise_for_status()

    def stop(self) -> None:
        self._session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self._session.get(f"{self.base_url}{path}", params=params, timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"{self.name} {path}: {body}")
        return body["data"]


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise ReceiverUnavailableError(f"{name} is not installed (apt-get install {name})")
    return path


@contextmanager
def start_prometheus(workdir: Path | None = None) -> Iterator[Receiver]:
    """Prometheus with the remote-write receiver enabled and a 30-day out-of-order window."""
    with _workdir(workdir, "prometheus") as directory:
        config = directory / "prometheus.yml"
        config.write_text(PROMETHEUS_CONFIG)
        port = free_port()
        command = [
            binary(PROMETHEUS_BINARY),
            "--web.enable-remote-write-receiver",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--config.file={config}",
        ]
        base = f"http://127.0.0.1:{port}"
        with _running("prometheus", command, directory, base, "/-/ready", "/api/v1/write") as r:
            yield r


@contextmanager
def start_victoriametrics(
    workdir: Path | None = None, scrape_config: str | None = None
) -> Iterator[Receiver]:
    """Single-node VictoriaMetrics; write to `/api/v1/write`. With `scrape_config` (Prometheus'
    `scrape_configs` syntax, Kubernetes service discovery included) it also scrapes."""
    with _workdir(workdir, "victoriametrics") as directory:
        port = free_port()
        scrape = []
        if scrape_config is not None:
            (directory / "scrape.yml").write_text(scrape_config)
            scrape = [f"-promscrape.config={directory / 'scrape.yml'}"]
        command = [
            binary(VICTORIAMETRICS_BINARY),
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={directory / 'data'}",
            "-retentionPeriod=1",
            # Queries at "now" would otherwise hide the last 30 s, i.e. what a test just wrote.
            "-search.latencyOffset=0s",
            # The benchmark counts a million series in one query (default limit 300k).
            "-search.maxUniqueTimeseries=5000000",
            *scrape,
        ]
        base = f"http://127.0.0.1:{port}"
        with _running("victoriametrics", command, directory, base, "/health", "/api/v1/write") as r:
            yield r


@contextmanager
def _workdir(workdir: Path | None, name: str) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix=f"flowkeeper-{name}-") as directory:
        yield Path(directory)


@contextmanager
def _running(
    name: str, command: list[str], directory: Path, base: str, ready: str, write: str
) -> Iterator[Receiver]:
    log_path = directory / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    receiver = Receiver(name, base, f"{base}{write}", process, directory, log_path)
    try:
        _wait_ready(receiver, f"{base}{ready}")
        yield receiver
    finally:
        receiver.stop()


def _wait_ready(receiver: Receiver, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if receiver.process.poll() is not None:
            break
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    tail = receiver.log_path.read_text(errors="replace")[-2000:]
    receiver.stop()
    raise ReceiverUnavailableError(f"{receiver.name} did not become ready at {url}:\n{tail}")


def _required() -> bool:
    return os.environ.get("FLOWKEEPER_REQUIRE_RECEIVERS", "") == "1"


def skip_unless_required(error: ReceiverUnavailableError) -> NoReturn:
    """Skip the test for a missing binary, or fail it when FLOWKEEPER_REQUIRE_RECEIVERS=1."""
    if _required():
        pytest.fail(f"FLOWKEEPER_REQUIRE_RECEIVERS=1 but {error}")
    pytest.skip(str(error))


@contextmanager
def _fixture_receiver(start: Any) -> Iterator[Receiver]:
    try:
        context = start()
        receiver = context.__enter__()
    except ReceiverUnavailableError as error:
        skip_unless_required(error)
    try:
        yield receiver
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Receiver]:
    with _fixture_receiver(start_prometheus) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def victoriametrics() -> Iterator[Receiver]:
    with _fixture_receiver(start_victoriametrics) as receiver:
        yield receiver
