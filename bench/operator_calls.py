"""API calls, idle writes and memory of the operator, against the emulated API server.

The emulator runs in this process; the operator runs as its real console script in a
subprocess, so its memory is measured alone. Sections (``--sections``, all by default):

* ``calls``: the API calls (by verb and resource) for one new FlowCollector, from its creation
  until the operator goes quiet, and the calls of one no-op reconcile (a resync);
* ``idle``: writes over an idle window (``--idle-seconds``, resync every 5 s) with one
  FlowCollector per sample in tests/operator/samples/good/ (should be 0);
* ``unrelated``: operator RSS with 0 and with ``--unrelated`` (10,000) ConfigMaps of 8 KiB
  that are not ours, created while it runs, and after a restart with them present (must not
  grow with objects that are not ours);
* ``collectors``: operator RSS with 1 and with 100 FlowCollectors.

Run: .venv/bin/python bench/operator_calls.py [--sections idle,unrelated] [--unrelated 10000]
"""

import argparse
import asyncio
import contextlib
import copy
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import psutil
import yaml

# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from e2e.emulator import TEST_AGENT, Emulator, serve

SAMPLES = Path(__file__).resolve().parent.parent / "tests/operator/samples/good"
FC_PATH = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
CM_PATH = "/api/v1/namespaces/{ns}/configmaps"
OPERATOR = ("kopf", "flowkeeper-operator")
WRITES = ("create", "patch", "delete", "update")
MIB = 1024 * 1024
SECTIONS = ("calls", "idle", "unrelated", "collectors")


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 120.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the operator did not get there in time")
        await asyncio.sleep(0.05)


async def quiet(k8s: Emulator, seconds: float = 1.0, *, writes: bool = False) -> None:
    """Until the operator has made no call (or no write) for ``seconds``."""
    while True:
        mark = k8s.mark()
        await asyncio.sleep(seconds)
        if not +k8s.calls(since=mark, agents=OPERATOR, writes=writes):
            return


def count_writes(calls: Counter[str]) -> int:
    return sum(n for key, n in calls.items() if key.split()[0] in WRITES)


def show(title: str, calls: Counter[str]) -> None:
    listed = ", ".join(f"{key}={n}" for key, n in sorted(calls.items()))
    print(f"{title}: {sum(calls.values())} calls, {count_writes(calls)} writes ({listed})")


class Bench:
    def __init__(self, k8s: Emulator, api: aiohttp.ClientSession) -> None:
        self.k8s, self.api = k8s, api

    @contextlib.asynccontextmanager
    async def operator(self, resync: float) -> AsyncIterator[psutil.Process]:
        """The console script, watching all namespaces, until the block ends."""
        script = Path(sys.executable).parent / "flowkeeper-operator"
        env = {**os.environ, "KUBECONFIG": str(self.k8s.kubeconfig)}
        argv = [str(script), "-A", "--liveness-port", "0", "--metrics-port", "0"]
        argv += ["--resync-seconds", str(resync)]
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            mark = self.k8s.mark()

            async def watching() -> bool:
                calls = self.k8s.calls(since=mark, agents=OPERATOR)
                return calls["watch daemonsets"] > 0 and calls["watch flowcollectors"] > 0

            await wait_for(watching)
            await quiet(self.k8s)
            yield psutil.Process(process.pid)
        finally:
            process.terminate()
            await process.wait()

    async def create_fc(self, name: str, sample: str = "full.yaml") -> None:
        body = copy.deepcopy(yaml.safe_load((SAMPLES / sample).read_text()))
        body["metadata"].update(name=name, namespace="netflow")
        body["metadata"].pop("annotations", None)
        async with self.api.post(FC_PATH, json=body) as response:
            assert response.status == 201, await response.text()

    async def applied(self, count: int) -> bool:
        await asyncio.sleep(0.5)  # one LIST per half second keeps the emulator free
        async with self.api.get(FC_PATH) as response:
            items = (await response.json())["items"]
        done = [i for i in items if (i.get("status") or {}).get("observedGeneration") == 1]
        return len(done) >= count

    async def calls(self) -> None:
        resync = 10.0
        async with self.operator(resync):
            mark = self.k8s.mark()
            await self.create_fc("fc-000")
            await wait_for(lambda: self.applied(1))
            await quiet(self.k8s)
            calls = self.k8s.calls(since=mark, agents=OPERATOR)
            show("One reconcile of a new FlowCollector", calls)
            mark = self.k8s.mark()

            async def resynced() -> bool:
                # A resync lists the children again and reconciles (reads) the FlowCollector.
                calls = self.k8s.calls(since=mark, agents=OPERATOR)
                return calls["list services"] >= 1 and calls["get flowcollectors"] >= 1

            await wait_for(resynced, timeout=resync * 3)
            await quiet(self.k8s, 0.5)
            show("One no-op reconcile (resync)", self.k8s.calls(since=mark, agents=OPERATOR))

    async def idle(self, seconds: float) -> None:
        samples = sorted(path.name for path in SAMPLES.glob("*.yaml"))
        async with self.operator(5.0):
            for index, sample in enumerate(samples):
                await self.create_fc(f"idle-{index}", sample)
            await wait_for(lambda: self.applied(len(samples)))
            await quiet(self.k8s, 2.0, writes=True)
            mark = self.k8s.mark()
            await asyncio.sleep(seconds)
            calls = self.k8s.calls(since=mark, agents=OPERATOR)
        print(
            f"Idle writes: {count_writes(calls)} in {seconds:g} s, resync 5 s, "
            f"{len(samples)} FlowCollectors ({', '.join(samples)})"
        )
        show("  calls in the idle window", calls)

    async def unrelated(self, count: int) -> None:
        rows: list[tuple[str, float]] = []
        async with self.operator(300.0) as process:
            await self.create_fc("fc-000")
            await wait_for(lambda: self.applied(1))
            await quiet(self.k8s)
            rows.append(("0 unrelated ConfigMaps", process.memory_info().rss / MIB))
            await self.create_configmaps(count)
            await quiet(self.k8s, 2.0)
            rows.append((f"{count} created while running", process.memory_info().rss / MIB))
        async with self.operator(300.0) as process:
            await quiet(self.k8s, 2.0)
            rows.append((f"{count} present at start", process.memory_info().rss / MIB))
        print("Operator RSS (1 FlowCollector):")
        print(f"  {'unrelated ConfigMaps':<32} {'RSS MiB':>8}")
        for title, rss in rows:
            print(f"  {title:<32} {rss:>8.1f}")

    async def create_configmaps(self, count: int) -> None:
        data = {"blob": "x" * 8192}

        async def one(index: int) -> None:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"unrelated-{index:05d}", "labels": {"app": "other"}},
                "data": data,
            }
            async with self.api.post(CM_PATH.format(ns=f"other-{index % 10}"), json=body) as r:
                assert r.status == 201, await r.text()

        for start in range(0, count, 50):
            await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))

    async def collectors(self, count: int = 100) -> None:
        async with self.operator(10.0) as process:
            await self.create_fc("fc-000")
            await wait_for(lambda: self.applied(1))
            await quiet(self.k8s)
            one = process.memory_info().rss
            for index in range(1, count):
                await self.create_fc(f"fc-{index:03d}")
            await wait_for(lambda: self.applied(count), timeout=600)
            await quiet(self.k8s, writes=True)  # resyncs keep reading, so wait for writes to end
            many = process.memory_info().rss
        print(f"Operator RSS: {one / MIB:.1f} MiB with 1 FlowCollector,", end=" ")
        print(f"{many / MIB:.1f} MiB with {count}")


async def main(sections: list[str], idle_seconds: float, unrelated: int) -> None:
    for section in sections:
        # A fresh API server per section, so one's objects do not weigh on the next.
        async with (
            serve() as k8s,
            aiohttp.ClientSession(k8s.url, headers={"User-Agent": TEST_AGENT}) as api,
        ):
            bench = Bench(k8s, api)
            if section == "calls":
                await bench.calls()
            elif section == "idle":
                await bench.idle(idle_seconds)
            elif section == "unrelated":
                await bench.unrelated(unrelated)
            else:
                await bench.collectors()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--unrelated", type=int, default=10_000)
    args = parser.parse_args(argv)
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"--sections: unknown {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}")
    return args


if __name__ == "__main__":
    options = parse(sys.argv[1:])
    asyncio.run(main(options.sections, options.idle_seconds, options.unrelated))
