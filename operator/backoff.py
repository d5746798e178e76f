"""The one backoff of the operator: exponential, with jitter, capped, honouring Retry-After.

Used by everything that tries again after a transient failure (what is transient is decided in
one place too, ``kube.client.transient``):

* the work queue, per FlowCollector: a reconcile that failed runs again after ``delay(n)``
  (n: failures in a row of that FlowCollector, reset by a success);
* the child watches, per stream: a failed LIST or WATCH is tried again after ``delay(n)``;
* kopf's own requests (the FlowCollector watch, its annotation patches):
  ``settings.networking.error_backoffs`` is ``KopfBackoffs()``, the same delays without end,
  so kopf never gives up on an outage (its default gives up after 9 tries, 54 s).

The cap keeps an operator that rode out a long outage no more than ``MAX_SECONDS`` away from
noticing that it is over. Jitter spreads the tries of many FlowCollectors and replicas.
"""

import random
from collections.abc import Iterator

FIRST_SECONDS = 0.1
MAX_SECONDS = 30.0
JITTER = 0.25  # each delay is drawn from +/- 25 % around its nominal value
# A Retry-After longer than the cap is cut to it: the server cannot hold a key for longer.
MAX_RETRY_AFTER_SECONDS = MAX_SECONDS


def nominal(failures: int) -> float:
    """The delay before try ``failures + 1`` without jitter: 0.1, 0.2, 0.4 ... 30 s."""
    return min(MAX_SECONDS, FIRST_SECONDS * 2.0 ** max(0, failures - 1))


def delay(failures: int, retry_after: float | None = None) -> float:
    """Seconds to wait after ``failures`` (1, 2, ...) failures in a row; at least what the
    server asked for in ``Retry-After``, never more than ``MAX_SECONDS``."""
    jittered = nominal(failures) * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter)
    if retry_after is not None:
        jittered = max(jittered, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return min(MAX_SECONDS, jittered)


class KopfBackoffs:
    """kopf's ``error_backoffs``: iterated afresh for each request, never exhausted (kopf
    retries until the request is answered). No ``__len__``: kopf then counts no limit."""

    def __iter__(self) -> Iterator[float]:
        failures = 0
        while True:
            failures += 1
            yield delay(failures)
