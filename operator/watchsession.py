"""An aiohttp session speaking to the API server with our kubernetes client's credentials.

The watches stream for minutes, so they run on asyncio (cancellable at shutdown) rather than in
the kubernetes client's blocking threads; they reuse its resolved configuration (in-cluster or
kubeconfig): the server's CA, a client certificate, and a token (refreshed on every request,
as bound service-account tokens rotate).
"""

import ssl

import aiohttp
import kubernetes.client
from flowkeeper.operator import kube


def open_session(configuration: kubernetes.client.Configuration) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ssl_context(configuration)),
        headers={"User-Agent": kube.USER_AGENT, "Accept": "application/json"},
    )


def ssl_context(configuration: kubernetes.client.Configuration) -> ssl.SSLContext | bool:
    """False (plain HTTP, or verification off by the kubeconfig), else a verifying context."""
    if not configuration.host.startswith("https:"):
        return False
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    return context


def auth_headers(configuration: kubernetes.client.Configuration) -> dict[str, str]:
    """The Authorization header (bearer token or basic auth), if any; may run a token hook."""
    settings = configuration.auth_settings().get("BearerToken")
    return {"Authorization": str(settings["value"])} if settings and settings["value"] else {}
