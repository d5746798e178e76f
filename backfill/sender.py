"""POSTs encoded batches to the remote-write receiver, with the shared retry policy."""

import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import requests
from flowkeeper.backfill.errors import DeliveryError, RefusedError
from flowkeeper.backfill.httpsession import read_body, session_for
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.retrying import (
    RetryableStatusError,
    check_status,
    describe,
    report_retry,
    retrying,
)

log = logging.getLogger("flowkeeper.backfill.sender")

_BODY_EXCERPT = 300
BAD_REQUEST = 400


class RemoteWriter:
    """One receiver: URL, headers, auth and TLS settings fixed for the run."""

    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str],
        metrics: RunMetrics,
        timeout: float,
        budget_seconds: float,
        auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        # For messages: no user:password@ (secrets are never logged), no query.
        parts = urlsplit(url)
        self._where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        self._timeout = timeout
        self._metrics = metrics
        # Children looked up once, not per request.
        self._sent_snappy = metrics.sent_bytes.labels(encoding="snappy")
        self._sent_raw = metrics.sent_bytes.labels(encoding="raw")
        # Built once: the loop is reused for every batch (sequential, in the sink thread).
        self._retrying = retrying(
            budget_seconds=budget_seconds,
            on_retry=report_retry(
                metrics.retries, stage="remote_write", log=log, what="remote write"
            ),
            sleep=sleep,
        )
        self._session = session_for(url, verify=verify)
        self._session.headers.update(headers)
        self._session.auth = auth

    def send(self, body: bytes, *, raw_bytes: int = 0, timeout: float | None = None) -> None:
        """Deliver one batch or raise DeliveryError (retryable=True: receiver unavailable;
        RefusedError: the receiver refused the content with 400)."""
        try:
            response = self._retrying(self._post, body, raw_bytes, timeout or self._timeout)
        except (RetryableStatusError, requests.RequestException) as error:
            raise DeliveryError(
                f"receiver unavailable: {describe(error)} ({self._where})", retryable=True
            ) from None
        if 200 <= response.status_code < 300:
            return
        excerpt = response.text[:_BODY_EXCERPT].strip()
        message = f"receiver refused the batch: HTTP {response.status_code} {excerpt}"
        if response.status_code == BAD_REQUEST:
            raise RefusedError(message, receiver_message=excerpt)
        raise DeliveryError(message, retryable=False)

    def close(self) -> None:
        self._session.close()

    def _post(self, body: bytes, raw_bytes: int, timeout: float) -> requests.Response:
        self._sent_snappy.inc(len(body))
        self._sent_raw.inc(raw_bytes)
        started = time.monotonic()
        try:
            response = self._session.post(self._url, data=body, timeout=timeout, stream=True)
            read_body(response)
        finally:
            self._metrics.request_duration.observe(time.monotonic() - started)
        check_status(response)
        return response
