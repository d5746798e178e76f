import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml
from flowkeeper.operator import cli
from flowkeeper.operator.leadership import elector as leader
from flowkeeper.operator.leadership.lease import DEFAULT_TIMINGS, Timings

from e2e.emulator import TEST_AGENT
from e2e.local import free_port

DEFAULTS = cli.Options(
    namespaces=(),
    liveness_port=8080,
    metrics_port=9090,
    log_format="plain",
    verbose=False,
    resync_seconds=300.0,
)
SAMPLE = Path(__file__).parent / "samples" / "good" / "minimal.yaml"


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, DEFAULTS),
        (["-A"], {}, DEFAULTS),
        (["-n", "a", "--namespace", "b,c"], {}, DEFAULTS._replace(namespaces=("a", "b", "c"))),
        ([], {"FLOWKEEPER_OPERATOR_NAMESPACE": "a, b"}, DEFAULTS._replace(namespaces=("a", "b"))),
        (["-n", "x"], {"FLOWKEEPER_OPERATOR_NAMESPACE": "a"}, DEFAULTS._replace(namespaces=("x",))),
        (
            ["--liveness-port", "0", "--metrics-port", "9100"],
            {},
            DEFAULTS._replace(liveness_port=0, metrics_port=9100),
        ),
        (
            [],
            {"FLOWKEEPER_OPERATOR_METRICS_PORT": "9200", "FLOWKEEPER_OPERATOR_VERBOSE": "true"},
            DEFAULTS._replace(metrics_port=9200, verbose=True),
        ),
        (
            ["--metrics-port", "9300"],
            {"FLOWKEEPER_OPERATOR_METRICS_PORT": "9200"},
            DEFAULTS._replace(metrics_port=9300),
        ),
        (
            ["--log-format", "json", "--verbose"],
            {},
            DEFAULTS._replace(log_format="json", verbose=True),
        ),
        ([], {"FLOWKEEPER_OPERATOR_LOG_FORMAT": "json"}, DEFAULTS._replace(log_format="json")),
        (["--resync-seconds", "30"], {}, DEFAULTS._replace(resync_seconds=30.0)),
        ([], {"FLOWKEEPER_OPERATOR_ALL_NAMESPACES": "1"}, DEFAULTS),
    ],
)
def test_parse_args(argv, environ, expected):
    assert cli.parse_args(argv, environ) == expected


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["-A", "-n", "a"], {}, "not allowed with argument"),
        (
            [],
            {"FLOWKEEPER_OPERATOR_ALL_NAMESPACES": "yes", "FLOWKEEPER_OPERATOR_NAMESPACE": "a"},
            "--all-namespaces and --namespace exclude each other",
        ),
        (
            ["--liveness-port", "http"],
            {},
            "--liveness-port must be a port between 0 (off) and 65535, got 'http'",
        ),
        (
            [],
            {"FLOWKEEPER_OPERATOR_METRICS_PORT": "70000"},
            "--metrics-port must be a port between 0 (off) and 65535, got '70000'",
        ),
        (["--log-format", "xml"], {}, "--log-format must be one of plain, json, got 'xml'"),
        (["--resync-seconds", "0"], {}, "--resync-seconds must be between 1 and 86400, got '0'"),
        (
            [],
            {"FLOWKEEPER_OPERATOR_VERBOSE": "maybe"},
            "FLOWKEEPER_OPERATOR_VERBOSE must be true or false, got 'maybe'",
        ),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_names_the_flag(argv, environ, message):
    with pytest.raises(cli.UsageError) as caught:
        cli.parse_args(argv, environ)
    assert message in str(caught.value)


ELECTION = leader.Election(namespace="fk", name="flowkeeper-operator", timings=DEFAULT_TIMINGS)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {"POD_NAMESPACE": "fk"}, None),  # off unless asked for (the chart asks with >1)
        (["--leader-election"], {"POD_NAMESPACE": "fk"}, ELECTION),
        (["--leader-election", "--leader-election-namespace", "fk"], {}, ELECTION),
        (
            ["--leader-election", "--leader-election-namespace", "x"],
            {"POD_NAMESPACE": "fk"},
            ELECTION._replace(namespace="x"),
        ),
        (
            [],
            {"FLOWKEEPER_OPERATOR_LEADER_ELECTION": "true", "POD_NAMESPACE": "fk"},
            ELECTION,
        ),
        (
            ["--no-leader-election"],
            {"FLOWKEEPER_OPERATOR_LEADER_ELECTION": "true", "POD_NAMESPACE": "fk"},
            None,
        ),
        (
            ["--leader-election", "--leader-election-id", "fk-a", "--lease-duration", "2s"],
            {
                "POD_NAMESPACE": "fk",
                "FLOWKEEPER_OPERATOR_RENEW_DEADLINE": "1.5",
                "FLOWKEEPER_OPERATOR_RETRY_PERIOD": "0.3",
            },
            ELECTION._replace(name="fk-a", timings=Timings(2.0, 1.5, 0.3)),
        ),
        (
            ["--leader-election"],
            {"FLOWKEEPER_OPERATOR_LEADER_ELECTION_NAMESPACE": "e", "POD_NAMESPACE": "fk"},
            ELECTION._replace(namespace="e"),
        ),
    ],
)
def test_parse_leader_election(argv, environ, expected, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "NAMESPACE_FILE", str(tmp_path / "absent"))
    assert cli.parse_args(argv, environ).election == expected


def test_leader_election_namespace_from_the_service_account(monkeypatch, tmp_path):
    (tmp_path / "namespace").write_text("from-sa\n")
    monkeypatch.setattr(cli, "NAMESPACE_FILE", str(tmp_path / "namespace"))
    options = cli.parse_args(["--leader-election"], {})
    assert options.election == ELECTION._replace(namespace="from-sa")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--leader-election"],
            "--leader-election-namespace is needed outside a pod (no POD_NAMESPACE variable",
        ),
        (
            ["--leader-election", "--leader-election-namespace", "fk", "--renew-deadline", "20"],
            "--renew-deadline (20s) must be shorter than --lease-duration (15s)",
        ),
        (
            ["--leader-election", "--leader-election-namespace", "fk", "--retry-period", "x"],
            "--retry-period must be a number of seconds above 0 and at most 3600, got 'x'",
        ),
        (
            ["--leader-election", "--leader-election-namespace", "fk", "--leader-election-id", "A"],
            "--leader-election-id must be a Kubernetes object name",
        ),
    ],
)
def test_bad_leader_election_input_names_the_flag(argv, message, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "NAMESPACE_FILE", str(tmp_path / "absent"))
    with pytest.raises(cli.UsageError) as caught:
        cli.parse_args(argv, {})
    assert message in str(caught.value)


def test_bad_flag_is_one_line_and_exit_2():
    run = subprocess.run(
        [sys.executable, "-m", "flowkeeper.operator", "--metrics-port", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == (
        "flowkeeper-operator: error: --metrics-port must be a port between 0 (off) and 65535,"
        " got 'x'\n"
    )


# Both scopes against the emulator: cluster-wide, and one namespace (kopf then lists namespaces).
@pytest.mark.parametrize("scope", [[], ["--namespace", "netflow"]], ids=["all", "namespaced"])
async def test_console_script_serves_liveness_metrics_and_reconciles(k8s, kubeconfig, scope):
    liveness, metrics = free_port(), free_port()
    script = Path(sys.executable).parent / "flowkeeper-operator"
    env = {**os.environ, "FLOWKEEPER_OPERATOR_METRICS_PORT": str(metrics)}
    process = await asyncio.create_subprocess_exec(
        str(script),
        *scope,
        "--liveness-port",
        str(liveness),
        "--log-format",
        "json",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        fc = yaml.safe_load(SAMPLE.read_text())
        async with aiohttp.ClientSession(headers={"User-Agent": TEST_AGENT}) as session:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "netflow"}}
            async with session.post(f"{k8s.url}/api/v1/namespaces", json=namespace) as response:
                assert response.status == 201
            path = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/netflow/flowcollectors"
            async with session.post(f"{k8s.url}{path}", json=fc) as response:
                assert response.status == 201

            async def served() -> tuple[int, str]:
                async with session.get(f"http://127.0.0.1:{liveness}/healthz") as health:
                    status = health.status
                async with session.get(f"http://127.0.0.1:{metrics}/metrics") as scrape:
                    return status, await scrape.text()

            deadline = asyncio.get_running_loop().time() + 30
            while True:
                try:
                    health, text = await served()
                    created = 'api_requests_total{code="201",kind="ConfigMap",verb="create"} 1.0'
                    if health == 200 and created in text:
                        break
                except (aiohttp.ClientError, KeyError):
                    pass
                assert asyncio.get_running_loop().time() < deadline, "operator did not come up"
                await asyncio.sleep(0.2)
            cm = "/api/v1/namespaces/netflow/configmaps/edge-config"
            async with session.get(f"{k8s.url}{cm}") as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert stderr.decode().lstrip().startswith("{")  # --log-format json
