"""The user's journey with the user's own tools: Helm 4 installs the chart, the operator runs as
the chart's Deployment says, and every real kubectl here (1.27 ... 1.33, oldest to newest)
applies, waits for, lists, changes and deletes FlowCollectors.

One emulator, one Helm release and one operator serve every kubectl version (each works in a
namespace of its own); the Helm lifecycle (upgrade, rollback, uninstall) runs once, last. Each
step is recorded, a failing step does not stop the ones after it, and the module prints the
kubectl-version x step matrix at the end (``-s`` or the terminal summary shows it). The harness
plays the DaemonSet and load-balancer controllers, as e2e/demo.py does.
"""

import asyncio
import contextlib
import copy
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from e2e import cluster, install, kubectl
from e2e.emulator import Background, request, running
from e2e.kubectl import Kubectl

SAMPLE = yaml.safe_load((Path(__file__).parent / "samples" / "flowcollector.yaml").read_text())
CRD_NAME = "flowcollectors.flows.flowkeeper.dev"
OPERATOR_AGENTS = ("flowkeeper-operator", "kopf")
READY_TIMEOUT = 30.0
QUIET_SECONDS = 2.0  # how long the operator must stay silent after an annotation-only change
BINARIES = kubectl.binaries()
PRESENT = [k for k in BINARIES if k.path is not None]
VERSIONS = [
    pytest.param(k, id=str(k), marks=pytest.mark.skipif(k.path is None, reason=k.missing))
    for k in BINARIES
]
# What kubectl says when the server has no /openapi/v3 and /openapi/v2 to validate with
# (1.28+; 1.27 says only the second).
OPENAPI_MISSING = ("failed to download openapi", "the server could not find the requested resource")


class StepFailedError(Exception):
    """A step's outcome other than success (its message goes into the matrix)."""


class Journey:
    """The shared cluster: emulator, Helm release, operator, controllers; and the matrix."""

    def __init__(self, background: Background, workdir: Path) -> None:
        self.background = background
        self.emulator = background.emulator
        assert self.emulator.kubeconfig is not None
        self.kubeconfig = self.emulator.kubeconfig
        self.workdir = workdir
        self.helm = install.helm_config(self.kubeconfig)
        self.outcomes: dict[tuple[str, str], str] = {}
        self.installed_by_helm = False
        self._operator: contextlib.ExitStack | None = None
        self.operator_argv: list[str] = []
        # kubectl version -> its error, when `kubectl apply` could not validate (no OpenAPI)
        # and the journey went on with --validate=false.
        self.unvalidated: dict[str, str] = {}

    # -- recording ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, who: str, name: str) -> Iterator[None]:
        """Record the step's outcome; a failure is kept, not raised."""
        try:
            yield
        except (AssertionError, StepFailedError, helm.HelmError, TimeoutError) as error:
            text = " ".join(str(error).split("\nassert ")[0].split()) or type(error).__name__
            self.outcomes[who, name] = f"FAIL: {text[:300]}"
        except Exception as error:  # noqa: BLE001 - recorded with its traceback's last line
            last = traceback.format_exception_only(error)[-1].strip()
            self.outcomes[who, name] = f"ERROR: {last[:300]}"
        else:
            self.outcomes[who, name] = "pass"

    def failures(self, who: str) -> list[str]:
        return [
            f"{step}: {o}" for (w, step), o in self.outcomes.items() if w == who and o != "pass"
        ]

    def matrix(self) -> str:
        """Steps down, kubectl versions (and Helm) across; failures numbered, reasons below."""
        columns = list(dict.fromkeys(w for w, _ in self.outcomes))
        steps = list(dict.fromkeys(s for _, s in self.outcomes))
        reasons: dict[str, int] = {}
        cells = []
        for step in steps:
            row = []
            for who in columns:
                outcome = self.outcomes.get((who, step), "-")
                if outcome not in ("pass", "-"):
                    number = reasons.setdefault(outcome, len(reasons) + 1)
                    outcome = f"F{number}"
                row.append(outcome)
            cells.append(row)
        width = max(len(s) for s in steps) if steps else 10
        head = f"{'step':<{width}}  " + "  ".join(f"{c:<12}" for c in columns)
        lines = [head.rstrip()]
        for step, row in zip(steps, cells, strict=True):
            lines.append((f"{step:<{width}}  " + "  ".join(f"{c:<12}" for c in row)).rstrip())
        lines += [f"F{n}: {reason}" for reason, n in reasons.items()]
        return "\n".join(lines)

    # -- the API, as the tests' own client ------------------------------------------------------

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return request(self.emulator.url, method, path, body)

    def object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.background.call(_stored(self.emulator, plural, namespace, name))

    def owned_by(self, uid: str) -> list[str]:
        async def find() -> list[str]:
            return [
                f"{key[0].kind}/{key[2]}"
                for key, obj in self.emulator.api.store.objects.items()
                if any(o.get("uid") == uid for o in obj["metadata"].get("ownerReferences", []))
            ]

        return list(self.background.call(find()))

    # -- install --------------------------------------------------------------------------------

    def install(self) -> None:
        """``helm install``; if Helm cannot (the emulator's gaps), the rendered chart is created
        object by object so the kubectl steps still run (the matrix says so)."""
        with self.step("helm", "helm install"):
            release = self.helm.install(
                install.CHART, install.RELEASE, {}, create_namespace=True, timeout=60
            )
            assert release.get("info", {}).get("status", release.get("status")) in (
                "deployed",
                None,
            ), release
            self.installed_by_helm = True
        if not self.installed_by_helm:
            self._create_rendered()

    def _create_rendered(self) -> None:
        for obj in install.rendered({}):
            code, answer = self.http("POST", cluster.collection_path(obj), obj)
            assert code in (201, 409), (obj["kind"], answer)

    def deployment(self) -> dict[str, Any]:
        deployments = self.background.call(_objects(self.emulator, "deployments"))
        return install.of_release(deployments, "Deployment")

    def start_operator(self) -> None:
        """The operator as the installed Deployment runs it (restarted when that changes)."""
        self.stop_operator()
        process = install.operator_process(self.deployment(), self.kubeconfig)
        self.operator_argv = process.argv
        stack = contextlib.ExitStack()
        stack.enter_context(install.started(process, self.workdir / "operator.log"))
        self._operator = stack

    def stop_operator(self) -> None:
        if self._operator is not None:
            self._operator.close()
            self._operator = None

    # -- kubectl --------------------------------------------------------------------------------

    def run(self, k: Kubectl, *args: str, stdin: str | None = None) -> Any:
        assert k.path is not None
        return kubectl.run(k.path, self.kubeconfig, *args, stdin=stdin)

    def wait_ready(self, k: Kubectl, name: str, namespace: str) -> Any:
        timeout = f"--timeout={READY_TIMEOUT:g}s"
        return self.run(k, "wait", "--for=condition=Ready", f"fc/{name}", "-n", namespace, timeout)

    def apply(self, k: Kubectl, manifest: dict[str, Any], *flags: str) -> Any:
        """``kubectl apply -f -``; if kubectl cannot download the OpenAPI it validates with,
        the step fails and the apply is repeated with --validate=false for the next steps."""
        text = yaml.safe_dump(manifest)
        done = self.run(k, "apply", *flags, "-f", "-", stdin=text)
        if done.returncode != 0 and any(m in done.stderr for m in OPENAPI_MISSING):
            self.unvalidated[k.version] = first_line(done.stderr)
            return self.run(k, "apply", *flags, "--validate=false", "-f", "-", stdin=text)
        return done


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def ok(done: Any, expected: str = "") -> None:
    """kubectl succeeded (and printed ``expected``), else the step fails with its error."""
    if done.returncode != 0:
        raise StepFailedError(first_line(done.stderr) or f"exit code {done.returncode}")
    if expected not in done.stdout:
        raise StepFailedError(f"expected {expected!r} in the output: {done.stdout.strip()!r}")


async def _stored(emulator: Any, plural: str, namespace: str, name: str) -> Any:
    return copy.deepcopy(emulator.object(plural, namespace, name))


async def _objects(emulator: Any, plural: str) -> list[dict[str, Any]]:
    return copy.deepcopy(emulator.objects(plural, install.NAMESPACE))


def eventually(check: Callable[[], Any], timeout: float = READY_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def _play_controllers(kubeconfig: Path) -> None:
    async with cluster.connect(kubeconfig) as api:
        await cluster.play_controllers(api, interval=0.1)


@pytest.fixture(scope="module")
def journey(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Journey]:
    workdir = tmp_path_factory.mktemp("journey")
    # A fresh cluster: no CRD until Helm installs the chart's (crd_files=()).
    options: dict[str, Any] = {"gc_delay": 0.5, "lb_cleanup_delay": 0.5, "crd_files": ()}
    with running(kubeconfig=workdir / "kubeconfig", **options) as bg:
        shared = Journey(bg, workdir)
        shared.install()
        controllers: Future[None] = asyncio.run_coroutine_threadsafe(
            _play_controllers(shared.kubeconfig), bg.loop
        )
        try:
            shared.start_operator()
            yield shared
        finally:
            shared.stop_operator()
            controllers.cancel()
            text = "kubectl x step matrix of the user journey\n" + shared.matrix()
            (workdir / "matrix.txt").write_text(text + "\n")
            show(request.config, text)


def show(config: pytest.Config, text: str) -> None:
    """Print past pytest's output capture (the matrix is the suite's report)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        for line in text.splitlines():
            reporter.write_line(line)


def collector(name: str, namespace: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE)
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(changes)
    return body


@pytest.mark.parametrize("k", VERSIONS)
def test_kubectl_journey(k: Kubectl, journey: Journey) -> None:
    who = k.version
    ns = f"journey-{who.replace('.', '-')}"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    edge = collector("edge", ns)

    with journey.step(who, "apply namespace"):
        ok(journey.apply(k, namespace))

    with journey.step(who, "apply -f fc (client-side)"):
        ok(journey.apply(k, edge), "flowcollector.flows.flowkeeper.dev/edge created")

    with journey.step(who, "apply --server-side fc"):
        ok(journey.apply(k, collector("core", ns), "--server-side"), "serverside-applied")

    with journey.step(who, "wait --for=condition=Ready"):
        ok(journey.wait_ready(k, "edge", ns), "condition met")

    with journey.step(who, "get fc: Ready, Nodes, Address"):
        done = journey.run(k, "get", "fc", "-n", ns)
        ok(done)
        assert done.stderr == "", done.stderr
        header, *rows = done.stdout.splitlines()
        assert header.split() == ["NAME", "READY", "NODES", "ADDRESS", "AGE"]
        row = next(r.split() for r in rows if r.split()[0] == "edge")
        assert row[1] == "True", row
        assert row[2] == "1/1", row
        assert row[3] == cluster.LOAD_BALANCER_IP, row

    annotated = copy.deepcopy(edge)
    annotated["metadata"]["annotations"] = {"team": "netops"}
    changed = copy.deepcopy(annotated)
    changed["spec"]["image"] = "ghcr.io/flowkeeper/flow-collector:0.2.0"
    with journey.step(who, "apply annotation only: no operator write"):
        before = journey.object("flowcollectors", ns, "edge")
        assert before is not None, "no FlowCollector edge"
        mark = journey.emulator.mark()
        ok(journey.apply(k, annotated))
        after = journey.object("flowcollectors", ns, "edge")
        assert after is not None
        assert after["metadata"]["annotations"]["team"] == "netops"
        assert (
            "kubectl.kubernetes.io/last-applied-configuration" in after["metadata"]["annotations"]
        )
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
        time.sleep(QUIET_SECONDS)
        writes = journey.emulator.calls(since=mark, agents=OPERATOR_AGENTS, writes=True)
        assert not writes, f"the operator wrote after an annotation-only change: {dict(writes)}"

    with journey.step(who, "apply a spec change: rolled out"):
        ok(journey.apply(k, changed))

        def rolled() -> None:
            daemonset = journey.object("daemonsets", ns, "edge")
            assert daemonset is not None
            images = [c["image"] for c in daemonset["spec"]["template"]["spec"]["containers"]]
            assert changed["spec"]["image"] in images

        eventually(rolled)
        ok(journey.wait_ready(k, "edge", ns), "condition met")

    bad_port = collector("bad-port", ns)
    bad_port["spec"]["listeners"] = [{"name": "netflow", "protocol": "netflow", "port": 70000}]
    with journey.step(who, "bad fc refused (schema)"):
        done = journey.apply(k, bad_port)
        if done.returncode == 0:
            journey.run(k, "delete", "fc", "bad-port", "-n", ns, "--wait=false")
            raise StepFailedError("accepted: the emulator does not validate custom resources")
        assert "should be less than or equal to 65535" in done.stderr, first_line(done.stderr)

    bad_cel = collector("bad-cel", ns, metrics={"enabled": True, "port": 2055})
    with journey.step(who, "bad fc refused (CEL rule)"):
        done = journey.apply(k, bad_cel)
        if done.returncode == 0:
            journey.run(k, "delete", "fc", "bad-cel", "-n", ns, "--wait=false")
            raise StepFailedError(
                "accepted: the emulator does not evaluate x-kubernetes-validations"
            )
        assert "spec.metrics.port must differ from every listener port" in done.stderr, first_line(
            done.stderr
        )

    with journey.step(who, "delete fc: children collected"):
        current = journey.object("flowcollectors", ns, "edge")
        assert current is not None, "no FlowCollector edge"
        uid = current["metadata"]["uid"]
        assert journey.owned_by(uid), "the operator created no children"
        done = journey.run(k, "delete", "fc", "edge", "-n", ns, "--timeout=30s")
        ok(done, 'flowcollector.flows.flowkeeper.dev "edge" deleted')

        def collected() -> None:
            assert not journey.owned_by(uid)

        eventually(collected)

    with journey.step(who, "apply validates (OpenAPI)"):
        if who in journey.unvalidated:
            raise StepFailedError(
                f"{journey.unvalidated[who]} (GET /openapi/v3, /openapi/v2: 404); the steps"
                " above ran with --validate=false"
            )

    failures = journey.failures(who)
    assert not failures, "\n".join(failures)


def test_helm_lifecycle(journey: Journey) -> None:
    """upgrade with changed values -> rollback -> uninstall (the CRD stays), with a
    FlowCollector applied by the newest kubectl staying Ready throughout."""
    who = "helm"
    if not PRESENT:
        pytest.skip("no kubectl binary present")
    k = PRESENT[-1]
    ns = "journey-helm"
    with journey.step(who, "apply fc (newest kubectl)"):
        journey.apply(k, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        done = journey.apply(k, collector("survivor", ns))
        assert done.returncode == 0, done.stderr

    def ready() -> None:
        done = journey.run(
            k,
            "wait",
            "--for=condition=Ready",
            "fc/survivor",
            "-n",
            ns,
            f"--timeout={READY_TIMEOUT:g}s",
        )
        assert done.returncode == 0, done.stderr.strip()

    with journey.step(who, "helm upgrade (verbose: true)"):
        journey.helm.upgrade(install.CHART, install.RELEASE, {"verbose": True}, timeout=60)
        args = journey.deployment()["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--verbose" in args, args
        journey.start_operator()
        assert "--verbose" in journey.operator_argv
        ready()

    with journey.step(who, "helm rollback"):
        journey.helm.rollback(install.RELEASE, timeout=60)
        args = journey.deployment()["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--verbose" not in args, args
        journey.start_operator()
        ready()

    with journey.step(who, "helm uninstall: CRD stays"):
        journey.stop_operator()
        journey.helm.uninstall(install.RELEASE, timeout=60)
        assert (
            journey.object("deployments", install.NAMESPACE, f"{install.RELEASE}-flowkeeper")
            is None
        )
        assert journey.object("customresourcedefinitions", "", CRD_NAME) is not None
        assert journey.object("flowcollectors", ns, "survivor") is not None

    failures = [f for w in ("helm",) for f in journey.failures(w)]
    assert not failures, "\n".join(failures)
