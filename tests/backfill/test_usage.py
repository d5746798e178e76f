"""Input that passed validation and failed later (issue 16, items 2, 3 and 6): each is a usage
error at start-up, one line naming the flag, exit 2, before anything is listed."""

import json

import pytest
from flowkeeper.backfill.cli import main
from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.settings import parse_settings

from e2e.local import free_port, write_kubeconfig
from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.listserver import Faults, ListServer, serving

FLAG_URL = "--remote-write-url (FLOWKEEPER_BACKFILL_REMOTE_WRITE_URL)"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run the CLI against a list server; (exit code, stderr lines, LIST requests made)."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)

    def run_cli(*args, url=None):
        server = ListServer(counts={"pods": 3, "nodes": 2})
        with serving(server) as api, capturing(CaptureReceiver()) as receiver:
            kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api)
            code = main(
                [
                    f"--kubeconfig={kubeconfig}",
                    f"--remote-write-url={url or receiver.url}",
                    "--max-retry-seconds=1",
                    *args,
                ]
            )
        return code, capsys.readouterr().err.splitlines(), server.requests, receiver.requests

    return run_cli


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1/api", "Invalid IPv6 URL"),
        ("http://127.0.0.1:notaport/api/v1/write", "Port could not be cast to integer"),
        ("http:///api/v1/write", "no host"),
    ],
)
def test_url_the_http_client_would_refuse_is_a_usage_error(cli, url, problem):
    code, err, listed, sent = cli(url=url)
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"flowkeeper-backfill: error: {FLAG_URL} must be an http")
    assert problem in err[0]
    assert (listed, sent) == ([], [])


def test_ipv6_and_explicit_port_urls_are_accepted():
    for url in ("http://[::1]:8428/api/v1/write", "https://vm.example:8443/api/v1/write"):
        assert parse_settings([f"--remote-write-url={url}"], {}).remote_write_url == url


def test_empty_labels_allowlist_means_no_labels_and_a_run_with_nothing_to_export_is_refused(cli):
    code, err, listed, sent = cli("--metric-labels-allowlist=", "--resources=pods,nodes")
    assert code == 2
    assert len(err) == 1
    assert "--metric-labels-allowlist (FLOWKEEPER_BACKFILL_METRIC_LABELS_ALLOWLIST)" in err[0]
    assert "would export nothing" in err[0]
    assert (listed, sent) == ([], [])


def test_allowlists_that_exclude_every_listed_kind_are_refused():
    with pytest.raises(UsageError, match="give no series for any kind of --resources"):
        parse_settings(["--dry-run", "--resources=nodes", "--metric-labels-allowlist=pods=[*]"], {})


def test_empty_labels_allowlist_with_annotations_exports_annotations_only(cli):
    code, _err, _listed, sent = cli(
        "--metric-labels-allowlist=", "--metric-annotations-allowlist=pods=[*]", "--resources=pods"
    )
    assert code == 0
    names = {s["__name__"] for r in sent[:-1] for s in r.series()}
    assert names == {"kube_pod_annotations"}


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("--bearer-token-file", "BEARER_TOKEN_FILE"),
        ("--ca-file", "CA_FILE"),
    ],
)
def test_missing_file_names_its_flag_at_start_up(cli, tmp_path, flag, name):
    missing = tmp_path / "nope"
    code, err, listed, sent = cli(f"{flag}={missing}")
    assert code == 2
    assert err == [
        f"flowkeeper-backfill: error: {flag} (FLOWKEEPER_BACKFILL_{name}) cannot read "
        f"'{missing}': No such file or directory"
    ]
    assert (listed, sent) == ([], [])


def test_missing_basic_auth_password_file_names_its_flag(cli, tmp_path):
    missing = tmp_path / "nope"
    code, err, _, _ = cli("--basic-auth-username=u", f"--basic-auth-password-file={missing}")
    assert code == 2
    assert "--basic-auth-password-file (FLOWKEEPER_BACKFILL_BASIC_AUTH_PASSWORD_FILE)" in err[0]


def test_ca_file_that_is_not_a_ca_bundle_is_refused_at_start_up(cli, tmp_path):
    bogus = tmp_path / "ca.crt"
    bogus.write_text("not a certificate\n")
    code, err, listed, _ = cli(f"--ca-file={bogus}")
    assert code == 2
    assert "--ca-file (FLOWKEEPER_BACKFILL_CA_FILE)" in err[0]
    assert "is not a PEM bundle of CA certificates" in err[0]
    assert listed == []


@pytest.mark.parametrize(
    ("document", "what"),
    [
        ({}, "defines no contexts"),
        ({"contexts": [{"name": "a", "context": {}}]}, "sets no current-context"),
    ],
)
def test_empty_kubeconfig_says_so(tmp_path, monkeypatch, capsys, document, what):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(document) if document else "")
    code = main([f"--kubeconfig={kubeconfig}", "--dry-run"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [
        f"flowkeeper-backfill: error: --kubeconfig: {kubeconfig} {what}; point it at a "
        "kubeconfig that selects a cluster (kubectl config use-context NAME)"
    ]


def test_closed_api_port_is_one_clear_line(tmp_path, monkeypatch, capsys):
    # Before: the raw urllib3 message (`HTTPConnectionPool(...): Max retries exceeded ...`) on
    # every retry and on each of the 13 `kind done` lines.
    monkeypatch.delenv("KUBECONFIG", raising=False)
    api = f"http://127.0.0.1:{free_port()}"
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api)
    with capturing(CaptureReceiver()) as receiver:
        code = main(
            [
                f"--kubeconfig={kubeconfig}",
                f"--remote-write-url={receiver.url}",
                "--max-retry-seconds=1.5",
            ]
        )
    err = capsys.readouterr().err
    assert code == 1
    assert "HTTPConnectionPool" not in err
    assert "Max retries exceeded" not in err
    failed = [line for line in err.splitlines() if "LIST failed" in line]
    assert len(failed) == 1
    assert f"API server {api} unavailable: connection refused" in failed[0]
    assert "--max-retry-seconds=1.5" in failed[0]
    assert err.count("kind done") == 1  # the kind tried; the other 12 are named once below
    finished = err.splitlines()[-1]
    assert "failed_kinds=namespaces,pods,nodes" in finished


def test_retry_waits_are_logged_rounded(run, capsys):
    server = ListServer(counts={"pods": 2}, faults=Faults(errors={"pods": [(500, None)] * 2}))
    code, _ = run(server, "--resources=pods")
    assert code == 0
    waits = [
        field.split("=", 1)[1]
        for line in capsys.readouterr().err.splitlines()
        if "retrying LIST" in line
        for field in line.split()
        if field.startswith("wait=")
    ]
    assert len(waits) == 2
    assert all(len(wait.partition(".")[2]) <= 2 for wait in waits)
