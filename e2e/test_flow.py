"""End to end: operator and backfill against one API server, into real remote_write receivers.

By default the API server is the emulator and the test plays the DaemonSet and load-balancer
controllers. With E2E_KUBECONFIG set (e.g. a kind cluster in your own CI) the same test runs
against that cluster; E2E_COLLECTOR_IMAGE then names a collector image its nodes can pull.
"""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import cluster, emulator, receivers

SAMPLES = Path(__file__).parent / "samples"
CRD = Path(__file__).parent.parent / "crds" / "flowcollector.yaml"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "60"))


@dataclass
class Cluster:
    api: cluster.Api
    kubeconfig: Path
    emulated: bool


@pytest.fixture
async def flow_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    real = os.environ.get("E2E_KUBECONFIG")
    async with contextlib.AsyncExitStack() as stack:
        if real:
            kubeconfig = Path(real)
        else:
            k8s = await stack.enter_async_context(
                emulator.serve(kubeconfig=tmp_path / "kubeconfig")
            )
            assert k8s.kubeconfig is not None
            kubeconfig = k8s.kubeconfig
        api = await stack.enter_async_context(cluster.connect(kubeconfig))
        if real and await api.get(f"{CRDS}/flowcollectors.flows.flowkeeper.dev") is None:
            await api.create(CRDS, yaml.safe_load(CRD.read_text()))
        if not real:
            controllers = asyncio.create_task(cluster.play_controllers(api))
            stack.push_async_callback(stop, controllers)
        yield Cluster(api, kubeconfig, emulated=not real)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def collector() -> dict[str, Any]:
    body = dict(yaml.safe_load((SAMPLES / "flowcollector.yaml").read_text()))
    body["spec"]["image"] = os.environ.get("E2E_COLLECTOR_IMAGE", body["spec"]["image"])
    return body


async def wait_ready(api: cluster.Api, generation: int) -> dict[str, Any]:
    async def ready() -> dict[str, Any]:
        fc = await api.get(f"{cluster.FC.format(ns='netflow')}/edge")
        assert fc is not None
        status = fc.get("status", {})
        assert status.get("observedGeneration") == generation
        conditions = {c["type"]: c for c in status.get("conditions", [])}
        assert conditions.get("Ready", {}).get("status") == "True", conditions
        return fc

    return dict(await cluster.eventually(ready, timeout=READY_TIMEOUT))


@pytest.mark.receivers
async def test_collector_rolls_out_and_its_objects_land_in_both_receivers(
    flow_cluster: Cluster,
    prometheus: receivers.Receiver,
    victoriametrics: receivers.Receiver,
    tmp_path: Path,
) -> None:
    api = flow_cluster.api
    workloads = yaml.safe_load((SAMPLES / "workloads.yaml").read_text())
    await cluster.apply_all(api, [*workloads, collector()])

    async with cluster.operator_process(flow_cluster.kubeconfig, tmp_path / "operator.log"):
        fc = await wait_ready(api, generation=1)
        first_hash = fc["status"]["configHash"]

        # A template-store change must roll the pods: new config hash on the pod template.
        patched = await api.patch(
            f"{cluster.FC.format(ns='netflow')}/edge", {"spec": {"templateStore": {"kvHistory": 8}}}
        )
        fc = await wait_ready(api, generation=patched["metadata"]["generation"])
        assert fc["status"]["configHash"] != first_hash
        daemonset = await api.get(f"{cluster.DAEMONSETS.format(ns='netflow')}/edge")
        assert daemonset is not None
        template = daemonset["spec"]["template"]["metadata"]["annotations"]
        assert template["flows.flowkeeper.dev/config-hash"] == fc["status"]["configHash"]

    run = uuid.uuid4().hex[:12]  # the receivers are shared by the session: tell our series apart
    for receiver in (prometheus, victoriametrics):
        code, output = await cluster.run_backfill(
            flow_cluster.kubeconfig,
            f"--remote-write-url={receiver.write_url}",
            f"--external-label=run={run}",
            "--metric-annotations-allowlist=namespaces=[owner],deployments=[*]",
        )
        assert code == 0, "\n".join(output)
        receiver.flush()

        daemonsets = receiver.series(f'kube_daemonset_labels{{run="{run}",daemonset="edge"}}')
        assert [s["label_app_kubernetes_io_managed_by"] for s in daemonsets] == ["flowkeeper"]
        assert daemonsets[0]["namespace"] == "netflow"
        pods = receiver.series(f'kube_pod_labels{{run="{run}",namespace="shop"}}')
        assert sorted(p["pod"] for p in pods) == ["web-7d9f-abcde", "web-7d9f-fghij"]
        assert {p["label_team"] for p in pods} == {"shop"}
        owners = receiver.series(f'kube_namespace_annotations{{run="{run}",namespace="shop"}}')
        assert [o["annotation_owner"] for o in owners] == ["shop-team@example.com"]
        deployments = receiver.series(f'kube_deployment_annotations{{run="{run}"}}')
        assert deployments
        assert all(
            "annotation_kubectl_kubernetes_io_last_applied_configuration" not in d
            for d in deployments
        )
        assert receiver.query(f'kube_backfill_last_success_timestamp_seconds{{run="{run}"}}')
