"""Where the Kubernetes API is and how to authenticate, resolved like kubectl does.

Order: `--kubeconfig`, then `KUBECONFIG` (several files merged, first one wins per name), then
the in-cluster service account, then `~/.kube/config`. Supported credentials: bearer token
(inline or file), client certificate and key (files or inline data), basic auth; cluster CA
(file or inline data) or `insecure-skip-tls-verify`. `exec` and `auth-provider` plugins are
handed to the `kubernetes` package's loader (`kubeplugins`), imported only in that case: it
costs about 18 MiB of resident memory that the in-cluster path does not need.
"""

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from flowkeeper.backfill.errors import UsageError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ApiConnection(NamedTuple):
    server: str
    token: str | None = None
    basic_auth: tuple[str, str] | None = None
    client_cert: tuple[str, str] | None = None
    verify: bool | str = True


def resolve_connection(
    *,
    kubeconfig: str | None,
    environ: Mapping[str, str],
    files_dir: Path,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ApiConnection:
    """The connection to use; inline certificate data is written under `files_dir`."""
    if kubeconfig:
        return _from_kubeconfig([Path(kubeconfig)], files_dir, source="--kubeconfig")
    if environ.get("KUBECONFIG"):
        paths = [Path(p) for p in environ["KUBECONFIG"].split(os.pathsep) if p]
        return _from_kubeconfig(paths, files_dir, source="KUBECONFIG")
    if environ.get("KUBERNETES_SERVICE_HOST") and (service_account_dir / "token").exists():
        return _in_cluster(environ, service_account_dir)
    default = Path(environ.get("HOME", "~")).expanduser() / ".kube" / "config"
    if default.exists():
        return _from_kubeconfig([default], files_dir, source=str(default))
    raise UsageError(
        "no Kubernetes connection: set --kubeconfig or KUBECONFIG, or run in a pod "
        "with a service account"
    )


def _in_cluster(environ: Mapping[str, str], directory: Path) -> ApiConnection:
    host = environ["KUBERNETES_SERVICE_HOST"]
    if ":" in host:
        host = f"[{host}]"
    port = environ.get("KUBERNETES_SERVICE_PORT", "443")
    ca = directory / "ca.crt"
    return ApiConnection(
        server=f"https://{host}:{port}",
        token=(directory / "token").read_text().strip(),
        verify=str(ca) if ca.exists() else True,
    )


def _from_kubeconfig(paths: list[Path], files_dir: Path, *, source: str) -> ApiConnection:
    import yaml  # only needed outside the cluster

    merged: dict[str, dict[str, Any]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    found = False
    for path in paths:
        if not path.exists():
            continue
        found = True
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise UsageError(f"{source}: {path} is not valid YAML ({error})") from None
        current = current or document.get("current-context") or ""
        for section, named in merged.items():
            for entry in document.get(section) or []:
                named.setdefault(entry.get("name"), entry.get(section[:-1]) or {})
    if not found:
        raise UsageError(f"{source}: no such file: {', '.join(map(str, paths))}")
    if not current:
        files = ", ".join(str(p) for p in paths if p.exists())
        what = "defines no contexts" if not merged["contexts"] else "sets no current-context"
        raise UsageError(
            f"{source}: {files} {what}; point it at a kubeconfig that selects a cluster "
            "(kubectl config use-context NAME)"
        )
    context = _named(merged, "contexts", current, source)
    cluster = _named(merged, "clusters", context.get("cluster", ""), source)
    user = merged["users"].get(context.get("user", ""), {})
    if "exec" in user or "auth-provider" in user:
        from flowkeeper.backfill.kubeplugins import plugin_connection

        return plugin_connection([p for p in paths if p.exists()], source=source)
    base = paths[0].parent
    return _connection(cluster, user, base, files_dir, source)


def _named(
    merged: dict[str, dict[str, Any]], section: str, name: str, source: str
) -> dict[str, Any]:
    if name not in merged[section]:
        raise UsageError(f"{source}: {section[:-1]} {name!r} is not defined in the kubeconfig")
    entry: dict[str, Any] = merged[section][name]
    return entry


def _connection(
    cluster: dict[str, Any], user: dict[str, Any], base: Path, files_dir: Path, source: str
) -> ApiConnection:
    server = cluster.get("server")
    if not server:
        raise UsageError(f"{source}: the current cluster has no server")
    verify: bool | str = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    else:
        ca = _file(cluster, "certificate-authority", base, files_dir, "ca.crt")
        verify = ca or True
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = _resolve(base, user["tokenFile"]).read_text().strip()
    cert = _file(user, "client-certificate", base, files_dir, "client.crt")
    key = _file(user, "client-key", base, files_dir, "client.key")
    basic = (user["username"], user.get("password", "")) if user.get("username") else None
    return ApiConnection(
        server=str(server).rstrip("/"),
        token=token or None,
        basic_auth=basic,
        client_cert=(cert, key) if cert and key else None,
        verify=verify,
    )


def _file(entry: dict[str, Any], field: str, base: Path, files_dir: Path, name: str) -> str | None:
    if entry.get(f"{field}-data"):
        path = files_dir / name
        path.write_bytes(base64.b64decode(entry[f"{field}-data"]))
        path.chmod(0o600)
        return str(path)
    if entry.get(field):
        return str(_resolve(base, entry[field]))
    return None


def _resolve(base: Path, path: str) -> Path:
    return (base / Path(path).expanduser()).resolve()
