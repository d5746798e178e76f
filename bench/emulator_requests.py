"""How fast the emulated API server answers, with its kube-apiserver behaviours on.

Prints requests per second for creating ConfigMaps of about 8 KiB, for merge-patching
DaemonSets (normalised and defaulted on every write), for listing by label selector, and the
delay from a write to its watch event. A figure to watch when the emulator grows: tests and
`bench/operator_calls.py` (10k unrelated ConfigMaps) rely on it staying fast.

Run: .venv/bin/python bench/emulator_requests.py [COUNT]
"""

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from e2e.emulator import TEST_AGENT, serve

CM = "/api/v1/namespaces/bench/configmaps"
DS = "/apis/apps/v1/namespaces/bench/daemonsets"
MERGE = {"Content-Type": "application/merge-patch+json"}


def daemonset(name: str) -> dict[str, object]:
    container = {
        "name": "c",
        "image": "collector:1",
        "resources": {"limits": {"cpu": 0.5, "memory": "1024Mi"}},
        "ports": [{"containerPort": 2055, "protocol": "UDP"}],
        "readinessProbe": {"httpGet": {"port": 9100, "path": "/metrics"}},
    }
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


async def timed(label: str, count: int, calls: object) -> None:
    started = time.perf_counter()
    await calls  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {count:>6} in {elapsed:6.2f} s  {count / elapsed:8.0f}/s")


async def main(count: int) -> None:
    payload = "x" * 8000
    async with (
        serve() as k8s,
        aiohttp.ClientSession(k8s.url, headers={"User-Agent": TEST_AGENT}) as api,
    ):

        async def create_configmaps() -> None:
            for n in range(count):
                body = {"metadata": {"name": f"cm-{n}", "labels": {"n": str(n % 10)}}}
                async with api.post(CM, json={**body, "data": {"blob": payload}}) as response:
                    assert response.status == 201, await response.text()

        async def patch_daemonsets() -> None:
            for n in range(count // 10):
                async with api.post(DS, json=daemonset(f"ds-{n}")) as response:
                    assert response.status == 201, await response.text()
                for value in ("1", "2"):
                    patch = json.dumps({"metadata": {"labels": {"v": value}}})
                    async with api.patch(f"{DS}/ds-{n}", data=patch, headers=MERGE) as response:
                        assert response.status == 200, await response.text()

        async def list_by_label() -> None:
            for _ in range(20):
                async with api.get(CM, params={"labelSelector": "n=3"}) as response:
                    listed = await response.json()
                    assert len(listed["items"]) == count // 10

        await timed("create ConfigMap (8 KiB)", count, create_configmaps())
        await timed("create + 2 patches of a DaemonSet", (count // 10) * 3, patch_daemonsets())
        await timed(f"list {count // 10} of {count} ConfigMaps by label", 20, list_by_label())

        async with api.get(CM, params={"watch": "true", "resourceVersion": "0"}) as stream:
            for _ in range(count):  # the initial ADDED events
                await stream.content.readline()
            delays = []
            for n in range(50):
                sent = time.perf_counter()
                patch = json.dumps({"data": {"blob": str(n)}})
                async with api.patch(f"{CM}/cm-0", data=patch, headers=MERGE):
                    pass
                await stream.content.readline()
                delays.append(time.perf_counter() - sent)
        delays.sort()
        print(f"{'write -> watch event (median of 50)':<44} {delays[25] * 1000:10.2f} ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
