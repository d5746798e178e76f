"""API calls per reconcile and operator memory, against the emulated API server.

The emulator runs in this process; the operator runs as its real console script in a
subprocess, so its memory is measured alone. Prints:

* the API calls (by verb and resource) the operator makes for one new FlowCollector, from its
  creation until the operator goes quiet (the handler plus its reactions to its own writes);
* the calls of one no-op reconcile (a resync of an unchanged FlowCollector);
* the operator's RSS with 1 and with 100 FlowCollectors.

Run: .venv/bin/python bench/operator_calls.py
"""

import asyncio
import copy
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import yaml

# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from e2e.emulator import TEST_AGENT, Emulator, serve

SAMPLE = Path(__file__).resolve().parent.parent / "tests/operator/samples/good/full.yaml"
FC_PATH = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
RESYNC_SECONDS = 10
COLLECTORS = 100
OPERATOR = ("kopf", "flowkeeper-operator")


async def wait_for(check: Any, timeout: float = 120.0) -> None:
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


def show(title: str, calls: Counter[str]) -> None:
    writes = sum(n for key, n in calls.items() if key.split()[0] in ("create", "patch", "delete"))
    listed = ", ".join(f"{key}={n}" for key, n in sorted(calls.items()))
    print(f"{title}: {sum(calls.values())} calls, {writes} writes ({listed})")


async def main() -> None:
    async with (
        serve() as k8s,
        aiohttp.ClientSession(k8s.url, headers={"User-Agent": TEST_AGENT}) as api,
    ):
        script = Path(sys.executable).parent / "flowkeeper-operator"
        env = {**os.environ, "KUBECONFIG": str(k8s.kubeconfig)}
        argv = [str(script), "-A", "--liveness-port", "0", "--metrics-port", "0"]
        argv += ["--resync-seconds", str(RESYNC_SECONDS)]
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:

            async def watching() -> bool:
                return k8s.calls(agents=OPERATOR)["watch daemonsets"] > 0

            await wait_for(watching)
            await quiet(k8s)
            template = yaml.safe_load(SAMPLE.read_text())

            async def create(name: str) -> None:
                body = copy.deepcopy(template)
                body["metadata"].update(name=name, namespace="netflow")
                async with api.post(FC_PATH, json=body) as response:
                    assert response.status == 201, await response.text()

            async def applied(name: str) -> bool:
                async with api.get(f"{FC_PATH}/{name}") as response:
                    body = await response.json()
                return bool((body.get("status") or {}).get("observedGeneration") == 1)

            mark = k8s.mark()
            await create("fc-000")
            await wait_for(lambda: applied("fc-000"))
            await quiet(k8s)
            show("One reconcile of a new FlowCollector", k8s.calls(since=mark, agents=OPERATOR))

            mark = k8s.mark()

            async def resynced() -> bool:
                return k8s.calls(since=mark, agents=OPERATOR)["get services"] >= 2

            await wait_for(resynced, timeout=RESYNC_SECONDS * 3)
            await quiet(k8s, 0.5)
            show("One no-op reconcile (resync)", k8s.calls(since=mark, agents=OPERATOR))

            memory = psutil.Process(process.pid)
            one = memory.memory_info().rss
            for index in range(1, COLLECTORS):
                await create(f"fc-{index:03d}")

            async def all_applied() -> bool:
                await asyncio.sleep(0.5)  # one LIST per half second keeps the emulator free
                async with api.get(FC_PATH) as response:
                    items = (await response.json())["items"]
                done = [i for i in items if (i.get("status") or {}).get("observedGeneration") == 1]
                return len(done) == COLLECTORS

            await wait_for(all_applied, timeout=600)
            await quiet(k8s, writes=True)  # resyncs keep reading, so wait for writes to end
            hundred = memory.memory_info().rss
            mib = 1024 * 1024
            print(
                f"Operator RSS: {one / mib:.1f} MiB with 1 FlowCollector, "
                f"{hundred / mib:.1f} MiB with {COLLECTORS}"
            )
        finally:
            process.terminate()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(main())
