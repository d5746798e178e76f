"""Leader takeover time of two operator replicas, with the default Lease timings.

Two real `flowkeeper-operator --leader-election` processes share the emulated API server (in
this process). Each round: a FlowCollector is reconciled by the leader; the leader is killed
(SIGKILL: no hand-over), the FlowCollector's image is changed at the same moment, and the
bench measures how long until the standby holds the Lease and until the change is applied
(DaemonSet updated, status observedGeneration 2). Then a clean stop (SIGTERM) for comparison:
the leader hands the Lease back and the standby takes it at its next try.

Expected with 15 s / 10 s / 2 s: a kill is taken over after the lease duration counted from
the standby's last sight of a renewal (15 s, +/- one retry period), plus one reconcile.

Run: .venv/bin/python bench/operator_takeover.py [--rounds N] [--lease-duration S ...]
"""

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from e2e.cluster import Api, connect
from e2e.emulator import serve
from tests.operator.replicas import LEASE, LEASE_NAMESPACE, Replica

SAMPLE = Path(__file__).resolve().parent.parent / "tests/operator/samples/good/minimal.yaml"
FC = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
DS = "/apis/apps/v1/namespaces/netflow/daemonsets"
POLL = 0.02


async def until(check, timeout: float = 120.0) -> float:
    """Poll ``check`` until true; return the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("no takeover in time")
        await asyncio.sleep(POLL)
    return time.monotonic()


async def holder(api: Api) -> str:
    found = await api.get(LEASE)
    return str(((found or {}).get("spec") or {}).get("holderIdentity") or "")


async def applied(api: Api, generation: int, image: str) -> bool:
    fc = await api.get(f"{FC}/edge")
    daemonset = await api.get(f"{DS}/edge")
    return bool(
        fc
        and daemonset
        and (fc.get("status") or {}).get("observedGeneration") == generation
        and daemonset["spec"]["template"]["spec"]["containers"][0]["image"] == image
    )


async def one_round(timing_args: list[str], stop: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        async with serve(kubeconfig=Path(scratch) / "kubeconfig") as k8s:
            assert k8s.kubeconfig is not None
            async with connect(k8s.kubeconfig) as api:
                for name in ("netflow", LEASE_NAMESPACE):
                    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                    await api.create("/api/v1/namespaces", ns)
                replicas = [
                    Replica(
                        pod,
                        k8s.kubeconfig,
                        Path(scratch) / f"{pod}.log",
                        "--leader-election",
                        *timing_args,
                    )
                    for pod in ("op-a", "op-b")
                ]
                for replica in replicas:
                    await replica.start()
                try:
                    fc = yaml.safe_load(SAMPLE.read_text())
                    await api.create(FC, fc)

                    async def elected() -> bool:
                        return bool(await holder(api))

                    await until(elected)
                    await until(lambda: applied(api, 1, fc["spec"]["image"]))
                    held = await holder(api)
                    leader = next(r for r in replicas if held.startswith(f"{r.pod}_"))
                    standby = next(r for r in replicas if r is not leader)
                    # Let the standby see a few renewals, as in a cluster that has run a while.
                    await asyncio.sleep(3)
                    image = "registry.example.com/flow-collector:2.0.0"
                    assert leader.process is not None
                    started = time.monotonic()
                    leader.process.send_signal(stop)
                    await api.patch(f"{FC}/edge", {"spec": {"image": image}})

                    async def taken() -> bool:
                        return (await holder(api)).startswith(f"{standby.pod}_")

                    took = await until(taken) - started
                    done = await until(lambda: applied(api, 2, image)) - started
                    return took, done
                finally:
                    for replica in replicas:
                        await replica.stop(signal.SIGKILL)


def summary(title: str, values: list[float]) -> str:
    return (
        f"{title}: median {statistics.median(values):.2f} s, min {min(values):.2f} s,"
        f" max {max(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lease-duration", default="15")
    parser.add_argument("--renew-deadline", default="10")
    parser.add_argument("--retry-period", default="2")
    args = parser.parse_args()
    timing_args = [
        "--lease-duration", args.lease_duration,
        "--renew-deadline", args.renew_deadline,
        "--retry-period", args.retry_period,
    ]  # fmt: skip
    print(
        f"Lease duration {args.lease_duration} s, renew deadline {args.renew_deadline} s,"
        f" retry period {args.retry_period} s; {args.rounds} rounds each"
    )
    for name, sig in (
        ("SIGKILL (leader dies)", signal.SIGKILL),
        ("SIGTERM (clean stop)", signal.SIGTERM),
    ):
        results = [await one_round(timing_args, sig) for _ in range(args.rounds)]
        print(f"{name}:")
        print("  " + summary("Lease taken by the standby", [took for took, _ in results]))
        print("  " + summary("change made at the kill applied", [done for _, done in results]))


if __name__ == "__main__":
    asyncio.run(main())
