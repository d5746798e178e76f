"""Every API call of the operator, off the event loop and retried when the failure is transient.

One policy for every path (spec handler, child events, resync, status, Events): connection
errors, 429 and 5xx are retried at once with exponential backoff and jitter, honouring the
server's ``Retry-After``, so a blip heals in seconds instead of waiting for the next resync.
What is still failing after ``ATTEMPTS`` goes back to the caller, which schedules a whole
reconcile again later (``resync.retry_later``). 409 on a write is not retried here: the write
was computed from a stale read, so the caller re-reads and recomputes it.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TypeVar

import tenacity
from flowkeeper.operator import metrics
from flowkeeper.operator.kube import client as kube

T = TypeVar("T")
ATTEMPTS = 6
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# A Retry-After longer than this is cut short: the caller's own backoff takes over after it.
MAX_RETRY_AFTER_SECONDS = 30.0

logger = logging.getLogger(__name__)


async def call(function: Callable[..., T], /, **kwargs: object) -> T:
    """``function(**kwargs)`` in a thread, retried on transient ``KubeError``s."""
    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(_transient),
        wait=_wait,
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        before_sleep=_count,
        reraise=True,
    )
    result: T = await retrying(asyncio.to_thread, function, **kwargs)
    return result


def backoff(attempt: int) -> float:
    """Exponential delay with jitter for retry number ``attempt`` (1, 2, ...)."""
    delay: float = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** (attempt - 1))
    return delay * random.uniform(0.75, 1.25)  # noqa: S311 (jitter, not cryptography)


def _transient(error: BaseException) -> bool:
    return isinstance(error, kube.KubeError) and error.transient


def _wait(state: tenacity.RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    after = error.retry_after if isinstance(error, kube.KubeError) else None
    if after is not None:
        return min(after, MAX_RETRY_AFTER_SECONDS)
    return backoff(state.attempt_number)


def _count(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    status = error.status if isinstance(error, kube.KubeError) else 0
    metrics.API_RETRIES.labels(code=str(status)).inc()
    attempt = state.attempt_number
    logger.warning(f"Retrying after a transient API error (attempt {attempt}): {error}")
