"""The operator's /metrics, scraped over HTTP from the real console script, move as they should.

Faults are injected in the emulated API server (answered once with 500 or 409), so the status
codes counted are ones the client really received.
"""

import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import yaml

from e2e.cluster import eventually, rolled_out_status
from e2e.emulator import Emulator
from tests.operator.replicas import FAST_ELECTION, LEASE, Replica

SAMPLE = Path(__file__).parent / "samples" / "good" / "minimal.yaml"
FC = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
DS = "/apis/apps/v1/namespaces/netflow/daemonsets"


def requests(verb: str, kind: str, code: int) -> str:
    return f'flowkeeper_operator_api_requests_total{{code="{code}",kind="{kind}",verb="{verb}"}}'


def fc_count(ready: str) -> str:
    return f'flowkeeper_operator_flowcollectors{{ready="{ready}"}}'


def durations(trigger: str) -> str:
    return f'flowkeeper_operator_reconcile_duration_seconds_count{{trigger="{trigger}"}}'


@pytest.fixture
async def replica(k8s: Emulator, namespaces: None, tmp_path: Path) -> AsyncIterator[Replica]:
    assert k8s.kubeconfig is not None
    running = Replica(
        "op", k8s.kubeconfig, tmp_path / "op.log", "--leader-election", *FAST_ELECTION
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop(signal.SIGKILL)


async def test_operator_metrics_follow_what_happens(api, k8s, replica):
    async with aiohttp.ClientSession() as session:

        async def until(check: Callable[[dict[str, float]], bool]) -> dict[str, float]:
            async def scraped() -> dict[str, float]:
                try:
                    samples = await replica.scrape(session)
                except aiohttp.ClientError as error:
                    raise AssertionError(f"not serving yet: {error}") from error
                assert check(samples), {k: v for k, v in samples.items() if "flowkeeper" in k}
                return samples

            result: dict[str, float] = await eventually(scraped)
            return result

        # Elected, knows no FlowCollector yet; its Lease renewals are counted.
        await until(lambda m: m["flowkeeper_operator_leader"] == 1)
        await until(lambda m: m.get(requests("update", "Lease", 200), 0) >= 1)
        k8s.inject_fault(verb="update", resource="leases", status=409)
        samples = await until(lambda m: m.get(requests("update", "Lease", 409)) == 1)
        assert samples[requests("create", "Lease", 201)] == 1
        assert samples["flowkeeper_operator_leader"] == 1  # one refused renewal is not a loss
        assert [samples[fc_count(r)] for r in ("true", "false", "unknown")] == [0, 0, 0]
        # The child watches' LIST and WATCH requests are counted like every other request.
        await until(
            lambda m: all(
                m.get(requests(verb, kind, 200), 0) >= 1
                for verb in ("list", "watch")
                for kind in ("ConfigMap", "Service", "DaemonSet")
            )
        )

        # A FlowCollector: its first child read fails with 500 (retried), then is missing (404)
        # and created (201); not rolled out, so not Ready.
        k8s.inject_fault(verb="get", resource="configmaps", name="edge-config", status=500)
        await api.create(FC, yaml.safe_load(SAMPLE.read_text()))
        samples = await until(lambda m: m.get(fc_count("false")) == 1)
        assert samples[requests("get", "ConfigMap", 500)] == 1
        assert samples[requests("get", "ConfigMap", 404)] >= 1
        assert samples[requests("create", "ConfigMap", 201)] == 1
        assert samples[requests("patch", "FlowCollector/status", 200)] >= 1
        assert samples[durations("spec")] >= 1
        spec_count = samples[durations("spec")]

        # The DaemonSet controller reports the pods ready: Ready follows, through a child event.
        daemonset = await api.get(f"{DS}/edge")
        assert daemonset is not None
        await api.patch(f"{DS}/edge/status", {"status": rolled_out_status(daemonset, 2, 2)})
        samples = await until(lambda m: m.get(fc_count("true")) == 1)
        assert (samples[fc_count("false")], samples[fc_count("unknown")]) == (0, 0)
        assert samples[durations("child")] >= 1
        assert samples[durations("spec")] == spec_count

        # Deleted: it leaves the count at once (computed when scraped, not at the next resync).
        await api.delete(f"{FC}/edge")
        await until(lambda m: m.get(fc_count("true")) == 0)

    # Stopped cleanly, it hands the Lease back.
    assert await replica.stop(signal.SIGTERM) == 0
    lease = await api.get(LEASE)
    assert lease is not None
    assert not lease["spec"].get("holderIdentity")  # released ("" or, as omitempty, absent)
