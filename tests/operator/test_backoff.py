"""The one backoff and the one verdict on what is transient (they replace the call-level
tenacity retries: a failed reconcile is retried whole by the work queue, without end)."""

import itertools

import pytest
from flowkeeper.operator import backoff
from flowkeeper.operator.kube import client


def error(status: int, retry_after: float | None = None) -> client.KubeError:
    return client.KubeError("patch DaemonSet x", status, "boom", retry_after=retry_after)


@pytest.mark.parametrize("status", [0, 409, 429, 500, 503, 504])
def test_no_answer_conflicts_throttling_and_server_errors_are_transient(status):
    assert client.transient(error(status))


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_errors_are_not(status):
    assert not client.transient(error(status))


@pytest.mark.parametrize("failure", [ConnectionRefusedError(), TimeoutError(), OSError()])
def test_connection_errors_are_transient(failure):
    assert client.transient(failure)


def test_a_bug_is_not_transient():
    assert not client.transient(KeyError("x"))


@pytest.mark.parametrize("failures", range(1, 15))
def test_backoff_grows_and_is_capped(failures):
    delay = backoff.delay(failures)
    base = min(backoff.MAX_SECONDS, backoff.FIRST_SECONDS * 2 ** (failures - 1))
    assert (1 - backoff.JITTER) * base <= delay <= min(backoff.MAX_SECONDS, 1.25 * base)


def test_retry_after_is_honoured_up_to_the_cap():
    assert backoff.delay(1, retry_after=3.0) >= 3.0
    assert backoff.delay(1, retry_after=3600.0) == backoff.MAX_SECONDS


def test_kopf_never_runs_out_of_backoffs():
    backoffs = backoff.KopfBackoffs()
    assert not hasattr(backoffs, "__len__")  # kopf then sets no limit on its tries
    first = list(itertools.islice(backoffs, 200))
    assert len(first) == 200
    assert all(0 < delay <= backoff.MAX_SECONDS for delay in first)
    assert first[0] < 1.0
    assert first[-1] > backoff.MAX_SECONDS / 2
    # Iterated afresh for each request: a new request starts short again.
    assert next(iter(backoffs)) < 1.0
