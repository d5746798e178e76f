"""Flowkeeper installed as a user installs it: the chart with Helm 4 (helm-python's embedded Go
SDK), then its workloads run as the installed objects say, as local processes (there are no
kubelets): the operator with the Deployment's command, args and env, the backfill with the
CronJob's.

What a pod has that a local process has not is supplied, and nothing else: the API server's
address and credentials (a kubeconfig instead of the service account token), the Downward API
values (``metadata.name``/``metadata.namespace``), and ports of its own (a pod has its own
network namespace; here the chart's fixed ``--liveness-port``/``--metrics-port`` become free
ports of this host).
"""

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import helm_python as helm
import yaml

from e2e.local import free_port

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "flowkeeper"
RELEASE = "flowkeeper"
NAMESPACE = "flowkeeper"
_PORT_FLAG = re.compile(r"^(--(?:liveness|metrics)-port)=\d+$")


def rendered(values: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``helm install`` would create: the chart's CRD, the release namespace, then the
    rendered templates (for when Helm cannot install into the emulator)."""
    chart = helm.Chart.load(CHART)
    files = chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
    crds = [yaml.safe_load(path.read_text()) for path in sorted((CHART / "crds").glob("*.yaml"))]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    objects = [*crds, namespace]
    for path, text in sorted(files.items()):
        if path.endswith(".yaml"):
            objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def of_release(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The release's one object of ``kind`` (by the chart's app.kubernetes.io/instance label)."""
    for obj in objects:
        labels = obj.get("metadata", {}).get("labels") or {}
        if obj.get("kind") == kind and labels.get("app.kubernetes.io/instance") == RELEASE:
            return obj
    raise LookupError(f"release {RELEASE} has no {kind} in the cluster")


def helm_config(kubeconfig: Path, namespace: str = NAMESPACE) -> helm.Config:
    """A Helm 4 client for the cluster a kubeconfig points at (release storage: Secrets)."""
    return helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)


class Process(NamedTuple):
    """A container as a local process: what to execute, with which environment."""

    argv: list[str]
    env: dict[str, str]


def container(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    for found in pod_spec.get("containers", []):
        if found.get("name") == name:
            return dict(found)
    raise LookupError(f"no container {name!r} in the pod template")


def _value_from(source: dict[str, Any], pod_name: str, namespace: str) -> str:
    field = source.get("fieldRef", {}).get("fieldPath")
    if field == "metadata.name":
        return pod_name
    if field == "metadata.namespace":
        return namespace
    raise ValueError(f"env valueFrom {source!r} is not supported outside a pod")


def as_process(spec: dict[str, Any], *, pod_name: str, namespace: str, kubeconfig: Path) -> Process:
    """A container spec (``command``, ``args``, ``env``) as a local process: the command from
    this Python environment's scripts, ports made free, the kubeconfig for credentials."""
    command = list(spec.get("command") or [])
    if not command:
        raise ValueError(f"container {spec.get('name')!r} has no command")
    scripts = Path(sys.executable).parent
    executable = scripts / command[0]
    argv = [str(executable if executable.exists() else command[0]), *command[1:]]
    for arg in spec.get("args") or []:
        match = _PORT_FLAG.match(arg)
        argv.append(f"{match[1]}={free_port()}" if match else str(arg))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    for item in spec.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "valueFrom" in item:
            env[item["name"]] = _value_from(item["valueFrom"], pod_name, namespace)
    env["KUBECONFIG"] = str(kubeconfig)
    return Process(argv, env)


def operator_process(deployment: dict[str, Any], kubeconfig: Path) -> Process:
    """The operator as the chart's Deployment runs it (its ``operator`` container)."""
    metadata = deployment["metadata"]
    spec = container(deployment["spec"]["template"]["spec"], "operator")
    return as_process(
        spec,
        pod_name=f"{metadata['name']}-local",
        namespace=metadata["namespace"],
        kubeconfig=kubeconfig,
    )


def backfill_process(cronjob: dict[str, Any], kubeconfig: Path) -> Process:
    """The backfill as the chart's CronJob runs it (its job template's first container)."""
    metadata = cronjob["metadata"]
    pod_spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return as_process(
        pod_spec["containers"][0],
        pod_name=f"{metadata['name']}-local",
        namespace=metadata["namespace"],
        kubeconfig=kubeconfig,
    )


@contextmanager
def started(process: Process, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a long-lived process (the operator) until the block ends; SIGTERM, then SIGKILL."""
    with log.open("ab") as output:
        child = subprocess.Popen(  # the argv comes from the chart's own Deployment
            process.argv, env=process.env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def run(process: Process, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a process to completion (the backfill's Job), its output captured."""
    return subprocess.run(
        process.argv,
        env=process.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
