"""`make demo`: both programs against an embedded, emulated cluster, no real cluster needed.

It starts the emulated API server, applies sample workloads and a FlowCollector, runs the real
operator (a subprocess) until the FlowCollector is Ready while playing the DaemonSet and
load-balancer controllers, then runs the real backfill into a local VictoriaMetrics and queries
the series back. Everything it writes goes under .demo/ (logs, kubeconfig, receiver data).
"""

import asyncio
import contextlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from flowkeeper.operator.model import collector_schema

from e2e import cluster, emulator, receivers

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".demo"
SAMPLES = Path(__file__).parent / "samples"
CRD = ROOT / "crds" / "flowcollector.yaml"
READY_TIMEOUT = 60.0


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


async def wait_ready(api: cluster.Api, operator: asyncio.subprocess.Process) -> dict[str, Any]:
    path = f"{cluster.FC.format(ns='netflow')}/edge"

    async def ready() -> dict[str, Any]:
        assert operator.returncode is None, "the operator exited: see .demo/operator.log"
        fc = await api.get(path)
        assert fc is not None
        conditions = fc.get("status", {}).get("conditions", [])
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        assert fc["status"].get("serviceAddresses"), "the load balancer has no address yet"
        return fc

    return dict(await cluster.eventually(ready, timeout=READY_TIMEOUT))


async def show_children(api: cluster.Api) -> None:
    kinds = [
        ("ConfigMap", cluster.CONFIGMAPS),
        ("DaemonSet", cluster.DAEMONSETS),
        ("Service", cluster.SERVICES),
    ]
    for kind, collection in kinds:
        for obj in await api.items(collection.format(ns="netflow")):
            owners = obj["metadata"].get("ownerReferences", [])
            owner = f"{owners[0]['kind']}/{owners[0]['name']}" if owners else "-"
            detail = ""
            if kind == "Service":
                ports = ", ".join(f"{p['port']}/{p['protocol']}" for p in obj["spec"]["ports"])
                detail = f"{obj['spec'].get('type', 'ClusterIP')} {ports}"
            if kind == "DaemonSet":
                strategy = obj["spec"]["updateStrategy"]
                detail = f"maxUnavailable={strategy['rollingUpdate']['maxUnavailable']}"
            say(f"  {kind + '/' + obj['metadata']['name']:<28} owner={owner:<20} {detail}".rstrip())


async def show_collector_config(api: cluster.Api) -> None:
    """The config.json the collector will read (the ConfigMap its pods mount), checked against
    the collector's own schema (operator/collector-config.schema.json)."""
    configmap = await api.get(f"{cluster.CONFIGMAPS.format(ns='netflow')}/edge-config")
    assert configmap is not None
    text = configmap["data"]["config.json"]
    say("\n  config.json the collector reads (ConfigMap netflow/edge-config):")
    for line in text.splitlines():
        say(f"    {line}")
    broken = collector_schema.problems(json.loads(text))
    source = f"carverauto/serviceradar {collector_schema.SOURCE_COMMIT}"
    if broken:
        say(f"  INVALID for the collector ({source}): {broken}")
    else:
        say(f"  validates against the collector's schema ({source} config.rs)")


async def run_backfill(kubeconfig: Path, write_url: str | None) -> int:
    args = [
        "--metric-annotations-allowlist=namespaces=[owner],deployments=[*],pods=[*]",
        "--external-label=cluster=demo",
    ]
    args += [f"--remote-write-url={write_url}"] if write_url else ["--dry-run"]
    code, _ = await cluster.run_backfill(kubeconfig, *args, on_line=lambda line: say(f"  {line}"))
    return code


def show_series(receiver: receivers.Receiver) -> None:
    receiver.flush()
    say('  series per name (count by (__name__) ({__name__=~"kube_.*"})):')
    counts = receiver.query('count by (__name__) ({__name__=~"kube_.*"})')
    for item in sorted(counts, key=lambda i: i["metric"]["__name__"]):
        say(f"    {item['metric']['__name__']:<48} {item['value'][1]}")
    say('  kube_pod_labels{namespace="shop"}:')
    for labels in receiver.series('kube_pod_labels{namespace="shop"}'):
        shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
        say(f"    {{{shown}}}")
    leaked = receiver.series(
        '{__name__=~"kube_.*", annotation_kubectl_kubernetes_io_last_applied_configuration!=""}'
    )
    say(f"  series carrying last-applied-configuration: {len(leaked)} (never exported)")


async def demo() -> int:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir()
    crd = yaml.safe_load(CRD.read_text())
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]

    step("Starting an emulated Kubernetes API server")
    async with emulator.serve(kubeconfig=WORKDIR / "kubeconfig") as k8s:
        assert k8s.kubeconfig is not None
        say(f"  {k8s.url}  (kubeconfig: .demo/kubeconfig)")
        async with cluster.connect(k8s.kubeconfig) as api:
            step("Applying sample workloads and the FlowCollector e2e/samples/flowcollector.yaml")
            workloads = yaml.safe_load((SAMPLES / "workloads.yaml").read_text())
            collector = yaml.safe_load((SAMPLES / "flowcollector.yaml").read_text())
            await cluster.apply_all(api, [*workloads, collector])
            kinds = sorted({o["kind"] for o in workloads})
            say(f"  {len(workloads)} objects ({', '.join(kinds)}) and FlowCollector netflow/edge")

            step(
                "Running flowkeeper-operator (log: .demo/operator.log); the demo plays the "
                "DaemonSet and load-balancer controllers"
            )
            controllers = asyncio.create_task(cluster.play_controllers(api))
            try:
                async with cluster.operator_process(
                    k8s.kubeconfig, WORKDIR / "operator.log"
                ) as operator:
                    fc = await wait_ready(api, operator)
                    say("  children of FlowCollector netflow/edge:")
                    await show_children(api)
                    await show_collector_config(api)
                    say("\n  $ kubectl get fc -n netflow")
                    for line in cluster.get_table([fc], columns).splitlines():
                        say(f"  {line}")
                    ready = next(c for c in fc["status"]["conditions"] if c["type"] == "Ready")
                    say(f"  Ready: {ready['reason']}: {ready['message']}")
            finally:
                controllers.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await controllers

            step("Running flowkeeper-backfill into a local VictoriaMetrics")
            try:
                with receivers.start_victoriametrics(WORKDIR / "victoriametrics") as receiver:
                    code = await run_backfill(k8s.kubeconfig, receiver.write_url)
                    say(f"  exit code {code}")
                    if code == 0:
                        step("Querying the series back from VictoriaMetrics")
                        show_series(receiver)
            except receivers.ReceiverUnavailableError as error:
                say(f"  {error}; printing the series instead (--dry-run)")
                code = await run_backfill(k8s.kubeconfig, None)

    step("Done" if code == 0 else "The backfill failed: see its output above")
    say("  Next: `make test`, then README.md for installing on a real cluster with Helm.")
    return code


def main() -> None:
    try:
        sys.exit(asyncio.run(demo()))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
