"""Two real operator processes, one emulated API server: exactly one reconciles.

Each process has its own identity (POD_NAME) in the User-Agent of both of its clients, so the
emulator attributes every request, kopf's included, to one replica.
"""

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from e2e.cluster import Api, eventually
from e2e.emulator import Emulator
from e2e.local import free_port, write_kubeconfig
from tests.operator.replicas import FAST_ELECTION, LEASE, Replica

SAMPLE = Path(__file__).parent / "samples" / "good" / "minimal.yaml"
FC = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
DS = "/apis/apps/v1/namespaces/netflow/daemonsets"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def replicas(k8s: Emulator, namespaces: None, tmp_path: Path) -> AsyncIterator[list[Replica]]:
    assert k8s.kubeconfig is not None
    started = [
        Replica(pod, k8s.kubeconfig, tmp_path / f"{pod}.log", "--leader-election", *FAST_ELECTION)
        for pod in ("op-a", "op-b")
    ]
    await asyncio.gather(*(replica.start() for replica in started))
    try:
        yield started
    finally:
        for replica in started:
            await replica.stop(signal.SIGKILL)


async def holder(api: Api) -> str:
    found = await api.get(LEASE)
    assert found is not None, "no Lease yet"
    return str(found["spec"].get("holderIdentity") or "")


async def leader_and_standby(api: Api, replicas: list[Replica]) -> tuple[Replica, Replica]:
    async def elected() -> tuple[Replica, Replica]:
        held = await holder(api)
        leaders = [r for r in replicas if held.startswith(f"{r.pod}_")]
        assert len(leaders) == 1, held
        return leaders[0], next(r for r in replicas if r is not leaders[0])

    result: tuple[Replica, Replica] = await eventually(elected)
    return result


async def scraped(replica: Replica, session: aiohttp.ClientSession) -> dict[str, float]:
    try:
        return await replica.scrape(session)
    except aiohttp.ClientError as error:
        raise AssertionError(f"{replica.pod} not serving metrics yet: {error}") from error


async def converged(api: Api, *, generation: int, image: str) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        fc = await api.get(f"{FC}/edge")
        assert fc is not None
        assert fc.get("status", {}).get("observedGeneration") == generation, fc.get("status")
        daemonset = await api.get(f"{DS}/edge")
        assert daemonset is not None
        assert daemonset["spec"]["template"]["spec"]["containers"][0]["image"] == image
        return fc

    result: dict[str, Any] = await eventually(check)
    return result


async def test_one_replica_reconciles_and_the_other_takes_over(api, k8s, replicas, session):
    fc = yaml.safe_load(SAMPLE.read_text())
    await api.create(FC, fc)
    leader, standby = await leader_and_standby(api, replicas)
    await converged(api, generation=1, image=fc["spec"]["image"])

    async def roles() -> None:
        assert (await scraped(leader, session))["flowkeeper_operator_leader"] == 1
        assert (await scraped(standby, session))["flowkeeper_operator_leader"] == 0

    await eventually(roles)
    await eventually(lambda: _serving(standby, session))

    # Exactly one replica writes. Both may race to create the Lease at start (the loser gets
    # 409); nothing else, and once a leader is known the standby only reads the Lease.
    mark = k8s.mark()
    await asyncio.sleep(1.0)  # a few retry periods of the standby
    assert set(k8s.calls(since=mark, agents=standby.agents)) == {"get leases"}
    assert set(k8s.calls(agents=standby.agents, writes=True)) <= {"create leases"}
    leader_writes = k8s.calls(agents=leader.agents, writes=True)
    assert leader_writes["create configmaps"] == 1, leader_writes
    assert leader_writes["patch flowcollectors/status"] >= 1, leader_writes
    # kopf only watches now (it writes no annotations): its watch carries the identity too.
    assert k8s.calls(agents=leader.agents[1:])["watch flowcollectors"], "kopf's are attributed"

    # The leader dies without a word; a change is made meanwhile; the standby takes over.
    await leader.stop(signal.SIGKILL)
    image = "registry.example.com/flow-collector:1.5.0"
    await api.patch(f"{FC}/edge", {"spec": {"image": image}})
    assert (await holder(api)).startswith(f"{leader.pod}_")  # not before the lease expires
    await eventually(lambda: _held_by(api, standby))
    await converged(api, generation=2, image=image)
    lease = await api.get(LEASE)
    assert lease is not None
    assert lease["spec"]["leaseTransitions"] == 1
    assert (await scraped(standby, session))["flowkeeper_operator_leader"] == 1

    # A clean stop hands the Lease back at once.
    assert await standby.stop(signal.SIGTERM) == 0
    assert await holder(api) == ""


@pytest.mark.parametrize("cause", ["taken", "unreachable"])
async def test_a_leader_that_cannot_renew_stops_and_exits(api, k8s, replicas, session, cause):
    leader, standby = await leader_and_standby(api, replicas)
    await eventually(lambda: _serving(standby, session))
    assert await standby.stop(signal.SIGTERM) == 0  # a standby stops cleanly too
    if cause == "taken":
        # Someone else (a replica the leader cannot see, say) writes itself into the Lease:
        # the leader's renewals are refused from now on.
        taken = {"spec": {"holderIdentity": "intruder", "leaseDurationSeconds": 60}}
        await api.patch(LEASE, taken)
    else:
        # A network partition, as the leader sees it: every Lease request fails.
        k8s.inject_fault(resource="leases", status=503, times=None)
    # Either way it must stop within its renew deadline (1.5 s here), and exit non-zero.
    assert leader.process is not None
    assert await asyncio.wait_for(leader.process.wait(), 10) == 1
    assert "lost the leader Lease" in leader.log.read_text()
    mark = k8s.mark()
    await asyncio.sleep(0.5)
    assert not k8s.calls(since=mark, agents=leader.agents)


async def _serving(replica: Replica, session: aiohttp.ClientSession) -> None:
    try:
        assert await replica.health(session) == (200, '{"role": "standby"}')
    except aiohttp.ClientError as error:
        raise AssertionError(f"{replica.pod} not serving yet: {error}") from error


async def _held_by(api: Api, replica: Replica) -> None:
    assert (await holder(api)).startswith(f"{replica.pod}_")


async def test_a_broken_election_stops_the_replica(tmp_path):
    """Something no retry fixes (a proxy answering HTML for the Lease) must not leave a replica
    running that can never lead, or that leads without renewing: it exits non-zero."""

    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html>proxy</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", html)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
        replica = Replica(
            "op", kubeconfig, tmp_path / "op.log", "--leader-election", *FAST_ELECTION
        )
        await replica.start()
        assert replica.process is not None
        assert await asyncio.wait_for(replica.process.wait(), 20) == 1
        assert "Leader election failed" in replica.log.read_text()
    finally:
        await runner.cleanup()
