"""Pages of object metadata from the Kubernetes API: LIST with limit/continue, one kind at a time.

Objects are asked for as `PartialObjectMetadataList` (metadata only, a fraction of the bytes);
a server that does not support it answers with the full list, and only `metadata` is kept.

An expired continue token (410 Gone) restarts the kind from its first page. Pages already sent
are sent again: every sample of a run has the same value (1) and timestamp (run start), so a
receiver stores the repeat as the same point (Prometheus, VictoriaMetrics and Mimir accept exact
duplicates). The per-kind counts are reset at the restart so they describe one complete pass.
"""

import logging
import time
from collections.abc import Callable, Iterator

import requests
from flowkeeper.backfill.errors import ApiError
from flowkeeper.backfill.httpsession import read_body, session_for
from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.kubeconfig import ApiConnection
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import Page
from flowkeeper.backfill.objects import PageError, decode_list
from flowkeeper.backfill.retrying import (
    RetryableStatusError,
    check_status,
    describe,
    report_retry,
    retrying,
)

log = logging.getLogger("flowkeeper.backfill.lister")

METADATA_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
GONE = 410
# Every request is a LIST of a kind's collection (never a GET of one object, never a watch):
# the one RBAC verb the backfill needs, and all its ClusterRole grants.
RBAC_VERBS = ("list",)
_HINTS = {
    401: " (the API server did not accept the credentials)",
    403: " (grant `list` on {kind} to the service account, or leave it out of --resources)",
}
MAX_RESTARTS = 3


class Lister:
    def __init__(
        self,
        connection: ApiConnection,
        *,
        user_agent: str,
        page_size: int,
        timeout: float,
        budget_seconds: float,
        metrics: RunMetrics,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._server = connection.server
        self._page_size = page_size
        self._budget_seconds = budget_seconds
        self._timeout = timeout
        self._metrics = metrics
        # Built once: the loop is reused for every request (sequential, in the lister thread).
        self._retrying = retrying(
            budget_seconds=budget_seconds,
            on_retry=report_retry(metrics.retries, stage="list", log=log, what="LIST"),
            sleep=sleep,
        )
        self._session = session_for(connection.server, verify=connection.verify)
        self._session.headers.update({"Accept": METADATA_ACCEPT, "User-Agent": user_agent})
        if connection.token:
            self._session.headers["Authorization"] = f"Bearer {connection.token}"
        self._session.auth = connection.basic_auth
        self._session.cert = connection.client_cert

    def pages(self, kind: Kind, *, annotations: bool = True) -> Iterator[Page]:
        """Every page of `kind`, in order; raises ApiError when the kind cannot be listed.
        `annotations=False`: the objects' annotations are not decoded (not exported)."""
        token = ""
        restarts = 0
        restarted = False
        while True:
            params: dict[str, str | int] = {"limit": self._page_size}
            if token:
                params["continue"] = token
            response, body = self._get(kind, params)
            if response.status_code == GONE and token:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise ApiError(
                        f"LIST {kind.plural}: continue token expired {restarts} times",
                        unavailable=False,
                    )
                self._metrics.list_restarts.labels(kind=kind.plural).inc()
                log.warning(
                    "continue token expired, restarting the kind",
                    extra={"fields": {"kind": kind.plural, "restart": restarts}},
                )
                token, restarted = "", True
                continue
            if response.status_code != 200:
                hint = _HINTS.get(response.status_code, "").format(kind=kind.plural)
                raise ApiError(
                    f"LIST {kind.plural}: HTTP {response.status_code} {_message(response)}{hint}",
                    unavailable=False,
                )
            try:
                items, token = decode_list(body, annotations=annotations)
            except PageError as error:
                raise ApiError(
                    f"LIST {kind.plural}: unreadable list: {error}", unavailable=False
                ) from None
            # The body (2 MB for 500 realistic pods) must not stay alive, held by this
            # suspended generator, while the next one is read: one body at a time.
            del response, body
            yield Page(items, restarted)
            restarted = False
            if not token:
                return

    def close(self) -> None:
        self._session.close()

    def _get(self, kind: Kind, params: dict[str, str | int]) -> tuple[requests.Response, bytes]:
        url = f"{self._server}{kind.list_path}"
        try:
            return self._retrying(self._attempt, url, params)
        except (RetryableStatusError, requests.RequestException) as error:
            stats = self._retrying.statistics
            raise ApiError(
                f"LIST {kind.plural}: API server {self._server} unavailable: {describe(error)} "
                f"(gave up after {stats.get('attempt_number', 1)} attempts in "
                f"{stats.get('delay_since_first_attempt', 0.0):.0f} s; the retry budget is "
                f"--max-retry-seconds={self._budget_seconds:g})",
                unavailable=True,
            ) from None

    def _attempt(self, url: str, params: dict[str, str | int]) -> tuple[requests.Response, bytes]:
        response = self._session.get(url, params=params, timeout=self._timeout, stream=True)
        body = read_body(response)
        check_status(response)
        return response, body


def _message(response: requests.Response) -> str:
    try:
        status = response.json()
    except ValueError:
        return response.text[:200].strip()
    return str(status.get("message", "")) if isinstance(status, dict) else ""
