import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from flowkeeper.backfill.cli import main
from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kubeconfig import ApiConnection, resolve_connection

from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.listserver import ListServer, serving


def kubeconfig(path, cluster, user, name="c"):
    path.write_text(
        json.dumps(
            {
                "clusters": [{"name": name, "cluster": cluster}],
                "users": [{"name": name, "user": user}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
            }
        )
    )
    return str(path)


def resolve(tmp_path, kubeconfig_path=None, environ=None, sa_dir=None):
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    return resolve_connection(
        kubeconfig=kubeconfig_path,
        environ=environ or {},
        files_dir=files,
        service_account_dir=sa_dir or tmp_path / "no-sa",
    )


def test_token_and_ca_file_relative_to_the_kubeconfig(tmp_path):
    path = kubeconfig(
        tmp_path / "kc",
        {"server": "https://api:6443/", "certificate-authority": "ca.pem"},
        {"token": "t0k"},
    )
    assert resolve(tmp_path, path) == ApiConnection(
        server="https://api:6443", token="t0k", verify=str(tmp_path / "ca.pem")
    )


def test_inline_client_certificate_and_ca_are_written_to_files(tmp_path):
    data = {name: base64.b64encode(name.encode()).decode() for name in ("ca", "crt", "key")}
    path = kubeconfig(
        tmp_path / "kc",
        {"server": "https://api", "certificate-authority-data": data["ca"]},
        {"client-certificate-data": data["crt"], "client-key-data": data["key"]},
    )
    connection = resolve(tmp_path, path)
    assert connection.client_cert is not None
    cert, key = connection.client_cert
    assert Path(cert).read_text() == "crt"
    assert Path(key).read_text() == "key"
    assert isinstance(connection.verify, str)
    assert Path(connection.verify).read_text() == "ca"


def test_insecure_skip_tls_verify_and_token_file(tmp_path):
    (tmp_path / "token").write_text("from-file\n")
    path = kubeconfig(
        tmp_path / "kc",
        {"server": "https://api", "insecure-skip-tls-verify": True},
        {"tokenFile": "token"},
    )
    connection = resolve(tmp_path, path)
    assert (connection.token, connection.verify) == ("from-file", False)


def test_basic_auth_user(tmp_path):
    path = kubeconfig(tmp_path / "kc", {"server": "http://api"}, {"username": "u", "password": "p"})
    assert resolve(tmp_path, path).basic_auth == ("u", "p")


def test_kubeconfig_env_merges_files_first_wins(tmp_path):
    first = kubeconfig(tmp_path / "a", {"server": "http://first"}, {"token": "1"}, name="x")
    second = kubeconfig(tmp_path / "b", {"server": "http://second"}, {"token": "2"}, name="x")
    environ = {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"}
    assert resolve(tmp_path, environ=environ).server == "http://first"


def test_flag_wins_over_kubeconfig_env_and_in_cluster(tmp_path):
    flag = kubeconfig(tmp_path / "a", {"server": "http://flag"}, {})
    env = kubeconfig(tmp_path / "b", {"server": "http://env"}, {})
    environ = {"KUBECONFIG": env, "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert resolve(tmp_path, flag, environ).server == "http://flag"


def test_in_cluster_service_account(tmp_path):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_text("ca")
    environ = {
        "KUBERNETES_SERVICE_HOST": "fd00::1",
        "KUBERNETES_SERVICE_PORT": "443",
        "HOME": str(tmp_path),
    }
    assert resolve(tmp_path, environ=environ, sa_dir=sa) == ApiConnection(
        server="https://[fd00::1]:443", token="sa-token", verify=str(sa / "ca.crt")
    )


def test_home_kubeconfig_is_the_last_resort(tmp_path):
    (tmp_path / ".kube").mkdir()
    kubeconfig(tmp_path / ".kube" / "config", {"server": "http://home"}, {})
    assert resolve(tmp_path, environ={"HOME": str(tmp_path)}).server == "http://home"


EXEC_CREDENTIAL = {
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential",
    "status": {"token": "exec-token"},
}


def exec_plugin(tmp_path, output=EXEC_CREDENTIAL, code=0):
    script = tmp_path / "credential-plugin"
    script.write_text(f"#!/bin/sh\necho '{json.dumps(output)}'\nexit {code}\n")
    script.chmod(0o755)
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(script),
            "interactiveMode": "Never",
        }
    }


def jwt(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_exec_plugin_token_is_used(tmp_path):
    path = kubeconfig(tmp_path / "kc", {"server": "https://api:6443"}, exec_plugin(tmp_path))
    connection = resolve(tmp_path, path)
    assert (connection.server, connection.token) == ("https://api:6443", "exec-token")


def test_exec_plugin_failure_is_a_usage_error(tmp_path):
    user = exec_plugin(tmp_path, {"not": "a credential"}, code=3)
    path = kubeconfig(tmp_path / "kc", {"server": "https://api"}, user)
    with pytest.raises(UsageError, match="--kubeconfig: the credential plugin gave neither"):
        resolve(tmp_path, path)


def test_oidc_auth_provider_token_is_used(tmp_path):
    token = jwt({"exp": 4_000_000_000, "sub": "me"})
    provider = {
        "name": "oidc",
        "config": {"id-token": token, "client-id": "k", "idp-issuer-url": "https://idp"},
    }
    path = kubeconfig(tmp_path / "kc", {"server": "https://api"}, {"auth-provider": provider})
    assert resolve(tmp_path, path).token == token


def test_kubernetes_package_is_imported_only_for_plugins(tmp_path):
    # The in-cluster / token path must not pay for importing `kubernetes` (memory).
    path = kubeconfig(tmp_path / "kc", {"server": "https://api"}, {"token": "t"})
    program = (
        "import sys, pathlib\n"
        "from flowkeeper.backfill.cli import main\n"
        "from flowkeeper.backfill.kubeconfig import resolve_connection\n"
        f"resolve_connection(kubeconfig={path!r}, environ={{}},\n"
        f"    files_dir=pathlib.Path({str(tmp_path)!r}))\n"
        "print('kubernetes' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_exec_plugin_through_the_cli_against_a_server_requiring_its_token(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    server = ListServer(counts={"pods": 3}, token="exec-token")
    with serving(server) as url, capturing(CaptureReceiver()) as receiver:
        path = kubeconfig(tmp_path / "kc", {"server": url}, exec_plugin(tmp_path))
        code = main(
            [f"--kubeconfig={path}", f"--remote-write-url={receiver.url}", "--resources=pods"]
        )
    assert code == 0
    pods = sorted(s["pod"] for s in receiver.all_series() if s["__name__"] == "kube_pod_labels")
    assert pods == ["pod-0000000", "pod-0000001", "pod-0000002"]


def test_missing_file_and_context_errors(tmp_path):
    with pytest.raises(UsageError, match="--kubeconfig: no such file"):
        resolve(tmp_path, str(tmp_path / "nope"))
    (tmp_path / "kc").write_text(json.dumps({"current-context": "ghost"}))
    with pytest.raises(UsageError, match="context 'ghost' is not defined"):
        resolve(tmp_path, str(tmp_path / "kc"))
