"""The `run` fixture: the whole CLI against the paginating list server and a capturing
receiver (real HTTP)."""

import pytest
from flowkeeper.backfill.cli import main

from e2e.local import write_kubeconfig
from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.listserver import serving


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run the CLI against `server`; returns (exit code, receiver)."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)

    def run_cli(server, *args, script=None):
        with serving(server) as url, capturing(CaptureReceiver(script=script or [])) as receiver:
            kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
            code = main(
                [
                    f"--kubeconfig={kubeconfig}",
                    f"--remote-write-url={receiver.url}",
                    "--max-retry-seconds=5",
                    *args,
                ]
            )
        return code, receiver

    return run_cli
