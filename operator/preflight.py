"""What must hold before the operator starts, checked at once by the CLI: a Kubernetes
configuration it can load, and its ports free. Each failure is a ``flags.UsageError`` naming
the flag, variable or path: one line and exit code 2, instead of a traceback (a port in use)
or kopf retrying its start-up every minute for ever (no kubeconfig)."""

import os
import socket
from collections.abc import Mapping

import kubernetes.client
import kubernetes.config
import prometheus_client
import yaml
from flowkeeper.operator import flags
from flowkeeper.operator.kube import client as kube


def check_kubernetes_configuration(environ: Mapping[str, str]) -> None:
    """Load the configuration kopf and our client will use once, now: without one, kopf would
    retry its start-up every minute for ever, with a message that names no file."""
    try:
        kube.load_configuration()
    except (kubernetes.config.ConfigException, OSError, ValueError, yaml.YAMLError) as error:
        raise flags.UsageError(_configuration_problem(error, environ)) from None


def _configuration_problem(error: Exception, environ: Mapping[str, str]) -> str:
    if environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=kubernetes.client.Configuration()
            )
            in_pod = ""
        except kubernetes.config.ConfigException as in_cluster:
            in_pod = f"in-cluster: {in_cluster}; "
    else:
        in_pod = "not in a pod (KUBERNETES_SERVICE_HOST is not set) and "
    variable = environ.get("KUBECONFIG", "")
    where = f"KUBECONFIG={variable}" if variable else "~/.kube/config (KUBECONFIG is not set)"
    paths = [os.path.expanduser(path) for path in (variable or "~/.kube/config").split(os.pathsep)]
    found = any(os.path.isfile(path) for path in paths if path)
    problem = " ".join(str(error).split()) if found else "no such file"
    return f"no usable Kubernetes configuration: {in_pod}{where}: {problem}"


def check_port_free(name: str, port: int) -> None:
    """Bind the port as the server will (all addresses, address reuse on) and let it go."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104  (as the server binds it)
        except OSError as error:
            raise flags.UsageError(_port_problem(name, port, error)) from None


def serve_metrics(port: int) -> None:
    try:
        prometheus_client.start_http_server(port)
    except OSError as error:
        raise flags.UsageError(_port_problem("metrics-port", port, error)) from None


def _port_problem(name: str, port: int, error: OSError) -> str:
    flag = flags.BY_NAME[name]
    return (
        f"{flag.option} {port}: cannot listen on 0.0.0.0:{port}: {error.strerror or error}"
        f" (choose another port with {flag.option} or {flag.variable}; 0 turns it off)"
    )
