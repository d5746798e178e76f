"""Credentials from kubeconfig `exec` and `auth-provider` plugins (EKS, GKE, AKS, OIDC from a
laptop), resolved by the `kubernetes` package's own kubeconfig loader.

Imported only when a kubeconfig names a plugin: importing `kubernetes` costs about 18 MiB of
resident memory, which the in-cluster path (a ServiceAccount token) does not pay. The
credential is resolved once at start; a plugin token that expires during a very long run
(EKS tokens last 15 minutes) makes the remaining LISTs fail with 401.
"""

import os
from pathlib import Path

from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kubeconfig import ApiConnection

_BEARER = "Bearer "


def plugin_connection(paths: list[Path], *, source: str) -> ApiConnection:
    """The connection the kubeconfig at `paths` (merged like KUBECONFIG) resolves to."""
    from kubernetes import client, config  # deliberately late: see the module doc
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.pathsep.join(str(path) for path in paths),
            client_configuration=configuration,
        )
    except (ConfigException, OSError, ValueError, KeyError) as error:
        raise UsageError(f"{source}: credential plugin failed: {error}") from None
    bearer = (configuration.api_key or {}).get("BearerToken") or ""
    token = bearer.removeprefix(_BEARER) or None
    cert = (
        (str(configuration.cert_file), str(configuration.key_file))
        if configuration.cert_file and configuration.key_file
        else None
    )
    if token is None and cert is None:
        raise UsageError(
            f"{source}: the credential plugin gave neither a token nor a client certificate "
            "(its own error, if any, is logged above)"
        )
    verify: bool | str = bool(configuration.verify_ssl)
    if verify and configuration.ssl_ca_cert:
        verify = str(configuration.ssl_ca_cert)
    return ApiConnection(
        server=str(configuration.host).rstrip("/"), token=token, client_cert=cert, verify=verify
    )
