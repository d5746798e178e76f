"""Issue 15, defect 1: the operator rides out an API outage of any length.

The real console script runs against the emulator; then every request of the operator gets
``503 Retry-After: 1`` and every open watch stream is dropped, for longer than kopf's default
request retries last (1+1+2+3+5+8+13+21 = 54 s, after which kopf used to give up on the
FlowCollector watch and the process exited with code 1). While the API is down the process
stays up, says so on ``/healthz`` and in a metric, logs it once; once the API is back it logs
that once and reconciles what changed meanwhile (a deleted child, a new spec).
"""

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import yaml

from e2e.apiserver.faults import Call
from e2e.emulator import TEST_AGENT
from tests.operator.harness import CM, FC
from tests.operator.replicas import Replica

SAMPLE = Path(__file__).parent / "samples" / "good" / "minimal.yaml"
OUTAGE_SECONDS = 60.0  # longer than kopf's default retries (54 s) of one request
GRACE_SECONDS = 3.0  # a process that gave up takes a moment to exit
RECOVERY_SECONDS = 20.0
UNREACHABLE = "API server unreachable"
REACHABLE = "API server reachable again"


def from_operator(call: Call) -> bool:
    return not call.agent.startswith(TEST_AGENT)


async def until(check, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await check():
                return
        except (aiohttp.ClientError, KeyError, AssertionError):
            pass
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.25)


@pytest.mark.timeout(150)
async def test_the_operator_rides_out_an_api_outage(k8s, kubeconfig, tmp_path):
    log = tmp_path / "operator.log"
    replica = Replica("outage", kubeconfig, log, "--resync-seconds", "2")
    base = k8s.url
    async with aiohttp.ClientSession(headers={"User-Agent": TEST_AGENT}) as session:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "netflow"}}
        async with session.post(f"{base}/api/v1/namespaces", json=namespace) as response:
            assert response.status == 201
        await replica.start()
        try:
            fc = yaml.safe_load(SAMPLE.read_text())
            fcs = base + FC.format(ns="netflow")
            async with session.post(fcs, json=fc) as response:
                assert response.status == 201
            configmap = f"{base}{CM.format(ns='netflow')}/edge-config"

            async def applied(generation: int) -> bool:
                async with session.get(f"{fcs}/edge") as got:
                    status = (await got.json()).get("status") or {}
                async with session.get(configmap) as got:
                    return status.get("observedGeneration") == generation and got.status == 200

            await until(lambda: applied(1), 30)

            # The outage: every request of the operator fails, every open stream ends.
            fault = k8s.inject_fault(status=503, retry_after=1, times=None, predicate=from_operator)
            k8s.api.store.close()
            start = asyncio.get_running_loop().time()
            # Meanwhile a user deletes a child and changes the spec.
            async with session.delete(configmap) as response:
                assert response.status == 200
            patch = {"spec": {"listeners": [{"name": "sflow", "protocol": "sflow", "port": 6343}]}}
            headers = {"Content-Type": "application/merge-patch+json"}
            async with session.patch(f"{fcs}/edge", json=patch, headers=headers) as response:
                assert response.status == 200

            async def reported() -> bool:
                health, text = await replica.health(session)
                samples = await replica.scrape(session)
                return (
                    health == 200
                    and json.loads(text).get("api", {}).get("reachable") is False
                    and samples.get("flowkeeper_operator_api_reachable") == 0.0
                )

            seen_during: list[bool] = []
            while asyncio.get_running_loop().time() - start < OUTAGE_SECONDS:
                await asyncio.sleep(2.0)
                try:
                    seen_during.append(await reported())
                except (aiohttp.ClientError, KeyError, ValueError):
                    seen_during.append(False)
            k8s.faults.clear()
            assert fault.hits > 0
            await asyncio.sleep(GRACE_SECONDS)

            assert replica.process is not None
            assert replica.process.returncode is None, log.read_text()[-3000:]
            assert any(seen_during), "the outage was never reported on /healthz and the metric"

            await until(lambda: applied(2), RECOVERY_SECONDS)
            samples = await replica.scrape(session)
            assert samples["flowkeeper_operator_api_reachable"] == 1.0
            assert samples["flowkeeper_operator_api_outages_total"] >= 1.0
            health, text = await replica.health(session)
            assert health == 200
            assert json.loads(text)["api"]["reachable"] is True
        finally:
            code = await replica.stop()
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert output.count(UNREACHABLE) == 1, output[-3000:]
    assert output.count(REACHABLE) == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
