"""HTTP plumbing seen from the servers: credentials from the environment never replace ours,
and every batch goes over one kept-alive connection."""

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
