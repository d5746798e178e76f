"""`make demo`: Flowkeeper installed and used as a user would, in an embedded, emulated cluster.

It starts the emulated API server and a local VictoriaMetrics, installs the chart with Helm 4,
runs the operator as the chart's Deployment specifies (command, args, env; a local process, as
there are no kubelets), applies the sample FlowCollector with `kubectl apply`, waits until it is
Ready while playing the DaemonSet and load-balancer controllers, shows it with the real
`kubectl get` and `kubectl describe`, then runs the backfill as the chart's CronJob specifies
and queries the series back. Everything it writes goes under .demo/ (logs, kubeconfig, data).
"""

import asyncio
import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from flowkeeper.operator.model import collector_schema

from e2e import cluster, emulator, install, kubectl, receivers

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".demo"
SAMPLES = Path(__file__).parent / "samples"
FC_SAMPLE = SAMPLES / "flowcollector.yaml"
READY_TIMEOUT = 60.0
# The chart's values for the demo: logfmt lines are easier to read here than JSON (the default).
VALUES = {
    "logFormat": "plain",
    "backfill": {
        "enabled": True,
        "metricAnnotationsAllowlist": "namespaces=[owner],deployments=[*],pods=[*]",
        "externalLabels": {"cluster": "demo"},
    },
}


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


def indent(text: str, prefix: str = "  ") -> None:
    for line in text.rstrip().splitlines():
        say(f"{prefix}{line}".rstrip())


class Demo:
    def __init__(self, background: emulator.Background, api: cluster.Api) -> None:
        self.background = background
        self.k8s = background.emulator
        assert self.k8s.kubeconfig is not None
        self.kubeconfig = self.k8s.kubeconfig
        self.api = api
        self.kubectl = kubectl.on_path()

    def call(self, coro: Any) -> Any:
        return self.background.call(coro, timeout=READY_TIMEOUT + 30)

    def run_kubectl(self, *args: str, stdin: str | None = None) -> Any:
        assert self.kubectl is not None
        say(f"\n  $ kubectl {' '.join(args)}")
        done = kubectl.run(self.kubectl, self.kubeconfig, *args, stdin=stdin, cwd=ROOT)
        indent(done.stdout)
        indent(done.stderr)
        return done

    # -- steps ----------------------------------------------------------------------------------

    def workloads(self) -> None:
        step(
            "Creating sample workloads (what the cluster already runs: e2e/samples/workloads.yaml)"
        )
        objects = yaml.safe_load((SAMPLES / "workloads.yaml").read_text())
        self.call(cluster.apply_all(self.api, objects))
        kinds = sorted({o["kind"] for o in objects})
        say(f"  {len(objects)} objects ({', '.join(kinds)})")

    def helm_install(self, values: dict[str, Any]) -> None:
        step("helm install flowkeeper charts/flowkeeper -n flowkeeper --create-namespace (Helm 4)")
        config = install.helm_config(self.kubeconfig)
        try:
            release = config.install(
                install.CHART, install.RELEASE, values, create_namespace=True, timeout=60
            )
        except helm.HelmError as error:
            say(f"  Helm 4 could not install into the emulator: {error}")
            say("  creating the rendered chart's objects through the API instead")
            self.create_rendered(values)
            return
        say(f"  release {release['name']}: revision {release['revision']}, {release['status']}")
        if self.kubectl is not None:
            self.run_kubectl("get", "crd")
            self.run_kubectl("get", "deploy,svc,sa,cronjob", "-n", install.NAMESPACE)
            say("  (READY 0/1: no kubelet runs pods here; the operator runs as a process below)")

    def create_rendered(self, values: dict[str, Any]) -> None:
        for obj in install.rendered(values):
            self.call(self.api.create(cluster.collection_path(obj), obj))
            say(f"    {obj['kind']}/{obj['metadata']['name']}")

    def installed(self, kind: str) -> dict[str, Any]:
        plural = f"{kind.lower()}s"
        return install.of_release(self.k8s.objects(plural, install.NAMESPACE), kind)

    def apply_collector(self) -> None:
        step("kubectl apply -f e2e/samples/flowcollector.yaml")
        if self.kubectl is None:
            say("  (no kubectl on PATH: creating it through the API instead)")
            self.call(cluster.apply_all(self.api, [yaml.safe_load(FC_SAMPLE.read_text())]))
            return
        done = self.run_kubectl("apply", "-f", str(FC_SAMPLE.relative_to(ROOT)))
        if done.returncode != 0:
            say("  (kubectl apply failed; again without client-side validation)")
            done = self.run_kubectl(
                "apply", "--validate=false", "-f", str(FC_SAMPLE.relative_to(ROOT))
            )
        if done.returncode != 0:
            raise RuntimeError("kubectl apply failed: see above")

    def wait_ready(self, operator: Any) -> dict[str, Any]:
        path = f"{cluster.FC.format(ns='netflow')}/edge"

        async def ready() -> dict[str, Any]:
            assert operator.poll() is None, "the operator exited: see .demo/operator.log"
            fc = await self.api.get(path)
            assert fc is not None
            conditions = fc.get("status", {}).get("conditions", [])
            assert any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
            assert fc["status"].get("serviceAddresses"), "the load balancer has no address yet"
            return fc

        return dict(self.call(cluster.eventually(ready, timeout=READY_TIMEOUT)))

    def show(self, fc: dict[str, Any]) -> None:
        say("  children of FlowCollector netflow/edge:")
        self.call(show_children(self.api))
        self.call(show_collector_config(self.api))
        if self.kubectl is None:
            say("\n  (no kubectl on PATH: the Table `kubectl get fc -n netflow` reads, laid out)")
            indent(self.call(table(self.api, cluster.FC.format(ns="netflow"))))
            ready = next(c for c in fc["status"]["conditions"] if c["type"] == "Ready")
            say(f"  Ready: {ready['reason']}: {ready['message']}")
            return
        self.run_kubectl("get", "fc", "-n", "netflow")
        self.run_kubectl("describe", "fc", "edge", "-n", "netflow")

    def backfill(self, write_url: str | None) -> int:
        cronjob = self.installed("CronJob")
        process = install.backfill_process(cronjob, self.kubeconfig)
        shown = " ".join(
            Path(process.argv[0]).name if i == 0 else a for i, a in enumerate(process.argv)
        )
        say(f"  $ {shown}")
        done = install.run(process)
        indent(done.stdout + done.stderr)
        say(f"  exit code {done.returncode}")
        return done.returncode


async def table(api: cluster.Api, path: str) -> str:
    """The server's Table for a LIST, laid out as kubectl prints it (priority-0 columns)."""
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
    async with api.session.get(path, headers={"Accept": accept}) as response:
        response.raise_for_status()
        answer = await response.json()
    shown = [i for i, c in enumerate(answer["columnDefinitions"]) if not c.get("priority")]
    rows = [[answer["columnDefinitions"][i]["name"].upper() for i in shown]]
    for row in answer["rows"]:
        rows.append(["" if row["cells"][i] is None else str(row["cells"][i]) for i in shown])
    widths = [max(len(r[i]) for r in rows) for i in range(len(shown))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


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


@contextlib.contextmanager
def victoriametrics() -> Iterator[receivers.Receiver | None]:
    try:
        with receivers.start_victoriametrics(WORKDIR / "victoriametrics") as receiver:
            yield receiver
    except receivers.ReceiverUnavailableError as error:
        say(f"  {error}; the backfill prints its series instead (backfill.dryRun)")
        yield None


def demo() -> int:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir()
    step("Starting an emulated Kubernetes API server and a local VictoriaMetrics")
    with (
        # A fresh cluster: no CRD until Helm installs the chart's.
        emulator.running(kubeconfig=WORKDIR / "kubeconfig", crd_files=()) as background,
        victoriametrics() as receiver,
    ):
        k8s = background.emulator
        say(f"  {k8s.url}  (kubeconfig: .demo/kubeconfig)")
        values = dict(VALUES)
        backfill = dict(values["backfill"])
        if receiver is None:
            backfill["dryRun"] = True
        else:
            backfill["remoteWriteUrl"] = receiver.write_url
            say(f"  VictoriaMetrics: {receiver.write_url}")
        values["backfill"] = backfill
        assert k8s.kubeconfig is not None
        connection = cluster.connect(k8s.kubeconfig)
        api = background.call(connection.__aenter__())
        try:
            code = run(Demo(background, api), values, receiver)
        finally:
            background.call(connection.__aexit__(None, None, None))
    step("Done" if code == 0 else "The backfill failed: see its output above")
    say("  Next: `make test`, then README.md for installing on a real cluster with Helm.")
    return code


def run(demo: Demo, values: dict[str, Any], receiver: receivers.Receiver | None) -> int:
    demo.workloads()
    demo.helm_install(values)
    deployment = demo.installed("Deployment")
    process = install.operator_process(deployment, demo.kubeconfig)
    step(
        "Running the operator as the chart's Deployment specifies (log: .demo/operator.log);"
        " the demo plays the DaemonSet and load-balancer controllers"
    )
    say(f"  $ {' '.join([Path(process.argv[0]).name, *process.argv[1:]])}")
    controllers = asyncio.run_coroutine_threadsafe(
        cluster.play_controllers(demo.api), demo.background.loop
    )
    try:
        with install.started(process, WORKDIR / "operator.log") as operator:
            demo.apply_collector()
            step("Waiting until FlowCollector netflow/edge is Ready")
            started = time.monotonic()
            fc = demo.wait_ready(operator)
            say(f"  Ready after {time.monotonic() - started:.1f} s")
            demo.show(fc)
    finally:
        controllers.cancel()
    step("Running the backfill as the chart's CronJob specifies, into the local VictoriaMetrics")
    code = demo.backfill(receiver.write_url if receiver else None)
    if code == 0 and receiver is not None:
        step("Querying the series back from VictoriaMetrics")
        show_series(receiver)
    return code


def main() -> None:
    try:
        sys.exit(demo())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
