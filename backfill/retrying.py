"""The retry policy shared by the lister and the sender (tenacity).

Retried: 5xx, 429 and connection errors/timeouts. Waits grow exponentially with full jitter,
unless the server sent `Retry-After`, which is honoured. Other 4xx are never retried. The total
time spent waiting is bounded by a budget, so a dead server ends the run instead of hanging it.
"""

import email.utils
import logging
import re
import time
from collections.abc import Callable, Mapping

import prometheus_client
import requests
import tenacity

TOO_MANY_REQUESTS = 429
_INITIAL_WAIT = 0.5
_MAX_WAIT = 30.0
# urllib3's wrapping of the socket error: `HTTPConnection(host='h', port=1): Failed to ...`.
_POOL_PREFIX = re.compile(r"^\S*\(host='[^']*', port=\d+\): ")


class RetryableStatusError(Exception):
    """A response worth retrying; carries the server's `Retry-After` in seconds, if any."""

    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.retry_after = retry_after


def is_retryable_status(status: int) -> bool:
    return status == TOO_MANY_REQUESTS or status >= 500


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """`Retry-After` as delay-seconds or an HTTP date; None when absent or unreadable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def check_status(response: requests.Response) -> None:
    """Raise RetryableStatusError for 5xx and 429; leave every other status to the caller."""
    if is_retryable_status(response.status_code):
        raise RetryableStatusError(
            response.status_code,
            response.reason or "",
            retry_after_seconds(response.headers, time.time()),
        )


def retry_reason(error: BaseException | None) -> str:
    """Metric label for why an attempt is retried: `429`, `5xx`, `timeout` or `connection`."""
    if isinstance(error, RetryableStatusError):
        return "429" if error.status == TOO_MANY_REQUESTS else "5xx"
    if isinstance(error, requests.Timeout):
        return "timeout"
    return "connection"


def describe(error: BaseException | None) -> str:
    """One short phrase for why a request failed, instead of urllib3's nested repr
    (`HTTPConnectionPool(host=..., port=...): Max retries exceeded ... (Caused by ...)`)."""
    if error is None or isinstance(error, RetryableStatusError):
        return str(error or "")
    if isinstance(error, requests.Timeout):
        return "timed out"
    reason = error.args[0] if error.args else error
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    for cause in _chain(reason):
        phrase = _phrase(cause)
        if phrase:
            return phrase
    return _POOL_PREFIX.sub("", str(reason)) or type(error).__name__


def _phrase(cause: object) -> str:
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
        return "connection refused"
    if type(cause).__name__ == "NameResolutionError":
        return "host name not resolved"
    if "SSL" in type(cause).__name__:
        return f"TLS error: {_POOL_PREFIX.sub('', str(cause))}"
    return ""


def _chain(error: object) -> list[object]:
    chain = [error]
    while isinstance(error, BaseException) and (error.__cause__ or error.__context__):
        error = error.__cause__ or error.__context__
        chain.append(error)
    return chain


def report_retry(
    retries: prometheus_client.Counter, *, stage: str, log: logging.Logger, what: str
) -> Callable[[tenacity.RetryCallState], None]:
    """A `before_sleep` hook: count each retry by stage and reason, and log it."""

    def hook(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        reason = retry_reason(error)
        retries.labels(stage=stage, reason=reason).inc()
        fields = {
            "reason": reason,
            "error": describe(error),
            "wait": round(state.upcoming_sleep, 2),
        }
        log.warning(f"retrying {what}", extra={"fields": fields})

    return hook


def _retryable(error: BaseException) -> bool:
    return isinstance(error, RetryableStatusError | requests.ConnectionError | requests.Timeout)


_jitter = tenacity.wait_random_exponential(multiplier=_INITIAL_WAIT, max=_MAX_WAIT)


def _wait(state: tenacity.RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RetryableStatusError) and error.retry_after is not None:
        return error.retry_after
    return float(_jitter(state))


def retrying(
    *,
    budget_seconds: float,
    on_retry: Callable[[tenacity.RetryCallState], None],
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity loop: stop before a wait would take the run past `budget_seconds`."""

    def stop(state: tenacity.RetryCallState) -> bool:
        waited = max(state.idle_for, state.seconds_since_start or 0.0)
        return waited + state.upcoming_sleep > budget_seconds

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(_retryable),
        wait=_wait,
        stop=stop,
        sleep=sleep,
        before_sleep=on_retry,
        reraise=True,
    )
