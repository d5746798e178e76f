"""LIST and WATCH over aiohttp, with our kubernetes client's credentials; each answer (or its
absence) is reported to ``health.API``.

The watches stream for minutes, so they run on asyncio (cancellable at shutdown) rather than in
the kubernetes client's blocking threads. They reuse its resolved configuration (in-cluster or
kubeconfig): the server's CA, a client certificate, and a token read again for every request,
as bound service-account tokens rotate.
"""

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import kubernetes.client
from flowkeeper.operator import metrics
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import identity
from flowkeeper.operator.kube.health import API


class GoneError(Exception):
    """The resourceVersion asked for is too old (410): list again."""


class Client:
    """One aiohttp session to the API server; ``close()`` it at shutdown."""

    def __init__(self, configuration: kubernetes.client.Configuration) -> None:
        self._configuration = configuration
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(configuration)),
            headers={
                "User-Agent": identity.user_agent(kube.USER_AGENT),
                "Accept": "application/json",
            },
        )

    async def close(self) -> None:
        await self._session.close()

    async def list(self, path: str, params: Mapping[str, str], *, kind: str) -> kube.Object:
        timeout = aiohttp.ClientTimeout(total=kube.REQUEST_TIMEOUT_SECONDS)
        async with await self._get(path, params, timeout, kind=kind, verb="list") as response:
            listed: kube.Object = await response.json()
            return listed

    async def watch(
        self, path: str, params: Mapping[str, str], *, kind: str, seconds: int
    ) -> AsyncIterator[tuple[str, kube.Object]]:
        """(type, object) of each event until the server ends the stream after ``seconds``."""
        query = {**params, "watch": "true", "timeoutSeconds": str(seconds)}
        timeout = aiohttp.ClientTimeout(total=seconds + 30, sock_connect=30)
        async with await self._get(path, query, timeout, kind=kind, verb="watch") as response:
            async for line in _lines(response.content):
                event = json.loads(line)
                event_type, body = str(event.get("type")), event.get("object") or {}
                if event_type == "ERROR":
                    if body.get("code") == 410:
                        raise GoneError()
                    raise kube.KubeError(f"watch {path}", int(body.get("code") or 0), str(body))
                yield event_type, body

    async def _get(
        self,
        path: str,
        params: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        *,
        kind: str,
        verb: str,
    ) -> aiohttp.ClientResponse:
        headers = await asyncio.to_thread(auth_headers, self._configuration)
        url = self._configuration.host + path
        # Counted in the same metric as every request of our kubernetes client (kube._call).
        try:
            response = await self._session.get(url, params=params, headers=headers, timeout=timeout)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=kube.NO_ANSWER).inc()
            API.failed(error)
            raise
        metrics.API_REQUESTS.labels(verb=verb, kind=kind, code=str(response.status)).inc()
        if response.status == 410:
            response.release()
            API.answered()
            raise GoneError()
        if response.status >= 300:
            text = await response.text()
            response.release()
            retry_after = kube.seconds(response.headers.get("Retry-After"))
            refused = kube.KubeError(
                f"GET {path}", response.status, text[:200], retry_after=retry_after
            )
            if refused.transient:
                API.failed(refused)
            else:
                API.answered()
            raise refused
        API.answered()
        return response


def ssl_context(configuration: kubernetes.client.Configuration) -> ssl.SSLContext | bool:
    """False for plain HTTP, else a context that verifies as the kubeconfig says."""
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


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Non-empty lines of a watch stream. aiohttp's own line iterator refuses lines longer
    than its buffer (128 KiB), and a DaemonSet or a ConfigMap may be longer than that."""
    buffer = b""
    async for chunk in content.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer
