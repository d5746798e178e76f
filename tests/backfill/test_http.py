"""HTTP plumbing seen from the servers: credentials from the environment never replace ours,
and every batch goes over one kept-alive connection."""

from flowkeeper.backfill.httpsession import session_for

from tests.backfill.listserver import ListServer


def test_a_netrc_entry_does_not_replace_the_bearer_token(run, tmp_path, monkeypatch):
    # requests, left to itself, reads ~/.netrc on every request and its basic auth then
    # overwrites the Authorization header the run set.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    token = tmp_path / "token"
    token.write_text("receiver-token\n")
    code, receiver = run(
        ListServer(counts={"pods": 30}), "--resources=pods", f"--bearer-token-file={token}"
    )
    assert code == 0
    assert {r.headers["Authorization"] for r in receiver.requests} == {"Bearer receiver-token"}


def test_every_batch_goes_over_one_connection(run):
    code, receiver = run(ListServer(counts={"pods": 60}), "--resources=pods", "--batch-size=7")
    assert code == 0
    assert len(receiver.requests) == 10  # 9 batches and the run summary
    assert len({r.client_port for r in receiver.requests}) == 1


def test_environment_ca_bundle_and_proxy_are_read_once_at_start(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = session_for("https://receiver.example.com/api/v1/write")
    assert session.verify == "/etc/ssl/company-ca.pem"
    assert session.proxies["https"] == "http://proxy:3128"
    # An explicit CA (--ca-file, the kubeconfig's) wins over the environment.
    assert session_for("https://x", verify="/ca.pem").verify == "/ca.pem"
    assert session_for("https://x", verify=False).verify is False
