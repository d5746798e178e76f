"""Real `flowkeeper-operator` processes against the emulator, and reading their endpoints."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from flowkeeper.operator.kube.client import USER_AGENT
from flowkeeper.operator.kube.identity import KOPF_PRODUCT
from prometheus_client.parser import text_string_to_metric_families

from e2e.local import free_port

LEASE_NAMESPACE = "flowkeeper"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/flowkeeper-operator"
# Short timings (lease duration / renew deadline / retry period), so a takeover takes seconds.
FAST_ELECTION = ("--lease-duration", "2", "--renew-deadline", "1.5", "--retry-period", "0.3")


class Replica:
    """One operator process; POD_NAME starts its identity, so its requests can be told apart."""

    def __init__(self, pod: str, kubeconfig: Path, log: Path, *args: str) -> None:
        self.pod, self.kubeconfig, self.log, self.args = pod, kubeconfig, log, args
        self.liveness, self.metrics = free_port(), free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def agents(self) -> list[str]:
        """The User-Agent prefixes of both its clients (ours and kopf's)."""
        return [f"{USER_AGENT} ({self.pod}_", f"{KOPF_PRODUCT} ({self.pod}_"]

    async def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAME": self.pod,
            "POD_NAMESPACE": LEASE_NAMESPACE,
        }
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                Path(sys.executable).parent / "flowkeeper-operator",
                "-A",
                f"--liveness-port={self.liveness}",
                f"--metrics-port={self.metrics}",
                *self.args,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    async def scrape(self, session: aiohttp.ClientSession) -> dict[str, float]:
        """Every sample of its /metrics, keyed by name{labels} as Prometheus prints them."""
        async with session.get(f"http://127.0.0.1:{self.metrics}/metrics") as response:
            text = await response.text()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    async def health(self, session: aiohttp.ClientSession) -> tuple[int, str]:
        async with session.get(f"http://127.0.0.1:{self.liveness}/healthz") as response:
            return response.status, await response.text()
