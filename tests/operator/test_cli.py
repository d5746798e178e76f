import asyncio
import functools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml
from flowkeeper.operator import cli, flags
from flowkeeper.operator.leadership import elector as leader
from flowkeeper.operator.leadership.lease import DEFAULT_TIMINGS, Timings

from e2e.emulator import TEST_AGENT
from e2e.local import free_port
from tests.chart.helpers import NAMESPACE, of_kind, one, render

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
            "FLOWKEEPER_OPERATOR_ALL_NAMESPACES and FLOWKEEPER_OPERATOR_NAMESPACE exclude each"
            " other",
        ),
        (
            ["--liveness-port", "http"],
            {},
            "--liveness-port must be a port between 0 (off) and 65535, got 'http'",
        ),
        (
            [],
            {"FLOWKEEPER_OPERATOR_METRICS_PORT": "70000"},
            "FLOWKEEPER_OPERATOR_METRICS_PORT must be a port between 0 (off) and 65535,"
            " got '70000'",
        ),
        (["--log-format", "xml"], {}, "--log-format must be one of plain, json, got 'xml'"),
        (["--resync-seconds", "0"], {}, "--resync-seconds must be between 1 and 86400, got '0'"),
        (
            [],
            {"FLOWKEEPER_OPERATOR_VERBOSE": "maybe"},
            "FLOWKEEPER_OPERATOR_VERBOSE must be true or false, got 'maybe'",
        ),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (
            ["--metrics-port", "8080"],
            {},
            "--liveness-port and --metrics-port must differ, both are 8080",
        ),
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


@functools.cache
def help_text():
    run = subprocess.run(
        [sys.executable, "-m", "flowkeeper.operator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "1000"},  # argparse wraps at the terminal's width
    )
    return run.stdout


@pytest.mark.parametrize("flag", flags.FLAGS, ids=lambda flag: flag.name)
def test_help_gives_each_flag_its_meaning_default_and_variable(flag):
    text = help_text()
    assert f"{flag.option}" in text
    assert f"{flag.help} (default: {flag.default}; {flag.variable})" in text


def test_help_defaults_are_the_parsed_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "NAMESPACE_FILE", str(tmp_path / "absent"))
    options = cli.parse_args(["--leader-election"], {"POD_NAMESPACE": "fk"})
    shown = {flag.name: flag.default for flag in flags.FLAGS}
    assert options.liveness_port == int(shown["liveness-port"])
    assert options.metrics_port == int(shown["metrics-port"])
    assert options.log_format == shown["log-format"]
    assert options.resync_seconds == float(shown["resync-seconds"])
    assert options.election is not None
    assert options.election.name == shown["leader-election-id"]
    assert options.election.timings == Timings(
        *(float(shown[name]) for name in ("lease-duration", "renew-deadline", "retry-period"))
    )


def test_misspelt_variable_is_refused_listing_the_known_ones():
    with pytest.raises(cli.UsageError) as caught:
        cli.parse_args([], {"FLOWKEEPER_OPERATOR_METRIC_PORT": "9100"})
    message = str(caught.value)
    assert message.startswith("unknown environment variable FLOWKEEPER_OPERATOR_METRIC_PORT;")
    assert message.endswith(", ".join(sorted(flag.variable for flag in flags.FLAGS)))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"FLOWKEEPER_OPERATOR_LIVENESS_PORT": "http"},
            "FLOWKEEPER_OPERATOR_LIVENESS_PORT must be a port between 0 (off) and 65535,"
            " got 'http'",
        ),
        (
            {"FLOWKEEPER_OPERATOR_LOG_FORMAT": "xml"},
            "FLOWKEEPER_OPERATOR_LOG_FORMAT must be one of plain, json, got 'xml'",
        ),
        (
            {"FLOWKEEPER_OPERATOR_LEADER_ELECTION": "sometimes"},
            "FLOWKEEPER_OPERATOR_LEADER_ELECTION must be true or false, got 'sometimes'",
        ),
        (
            {
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION": "true",
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION_NAMESPACE": "fk",
                "FLOWKEEPER_OPERATOR_RETRY_PERIOD": "x",
            },
            "FLOWKEEPER_OPERATOR_RETRY_PERIOD must be a number of seconds above 0",
        ),
        (
            {
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION": "true",
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION_NAMESPACE": "fk",
                "FLOWKEEPER_OPERATOR_RENEW_DEADLINE": "20",
            },
            "FLOWKEEPER_OPERATOR_RENEW_DEADLINE (20s) must be shorter than --lease-duration (15s)",
        ),
        (
            {
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION": "true",
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION_NAMESPACE": "fk",
                "FLOWKEEPER_OPERATOR_LEADER_ELECTION_ID": "A",
            },
            "FLOWKEEPER_OPERATOR_LEADER_ELECTION_ID must be a Kubernetes object name",
        ),
    ],
)
def test_bad_variable_is_named_as_the_variable(environ, message):
    with pytest.raises(cli.UsageError) as caught:
        cli.parse_args([], environ)
    assert message in str(caught.value)


def service_links(services):
    """The variables kubelet sets in a pod for the Services of its namespace, after
    kubernetes pkg/kubelet/envvars/envvars.go (FromServices, makeLinkVariables)."""
    env = {}
    for service in services:
        spec = service["spec"]
        ip = spec.get("clusterIP", "10.96.0.10")
        if ip == "None":
            continue
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        ports = spec["ports"]
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for index, port in enumerate(ports):
            protocol = port.get("protocol", "TCP")
            if port.get("name"):
                name = port["name"].upper().replace("-", "_")
                env[f"{prefix}_SERVICE_PORT_{name}"] = str(port["port"])
            url = f"{protocol.lower()}://{ip}:{port['port']}"
            if index == 0:
                env[f"{prefix}_PORT"] = url
            base = f"{prefix}_PORT_{port['port']}_{protocol}"
            env[base] = url
            env[f"{base}_PROTO"] = protocol.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env


def test_service_links_of_a_release_named_like_the_prefix_are_not_refused():
    """`helm install flowkeeper-operator`: its metrics Service `flowkeeper-operator-metrics`
    makes kubelet set FLOWKEEPER_OPERATOR_METRICS_SERVICE_HOST and the like in the pod."""
    manifests = render({"replicaCount": 2}, release="flowkeeper-operator")
    env = service_links(of_kind(manifests, "Service"))
    assert "FLOWKEEPER_OPERATOR_METRICS_SERVICE_HOST" in env
    assert env["FLOWKEEPER_OPERATOR_METRICS_PORT"].startswith("tcp://")
    container = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env["POD_NAMESPACE"] = NAMESPACE
    options = cli.parse_args(container["args"], env)
    assert options.metrics_port == 9090
    # A misspelt variable next to them is still refused.
    with pytest.raises(cli.UsageError, match="FLOWKEEPER_OPERATOR_METRIC_PORT"):
        cli.parse_args(container["args"], {**env, "FLOWKEEPER_OPERATOR_METRIC_PORT": "1"})


def docs_rows():
    text = (Path(__file__).parents[2] / "docs" / "operator.md").read_text()
    section = text.split("## Flags and environment")[1].split("\n## ")[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `-")]
    return {re.findall(r"`(--[a-z-]+)", row[0])[0]: row for row in rows}


def test_docs_table_lists_every_flag_with_its_variable_and_default():
    rows = docs_rows()
    assert sorted(rows) == sorted(flag.option for flag in flags.FLAGS)
    for flag in flags.FLAGS:
        _, variable, default, _ = rows[flag.option]
        assert (variable, default) == (f"`{flag.variable}`", flag.default), flag.name
