import time

import pytest
from flowkeeper.operator.control import backoff as retry
from flowkeeper.operator.kube import client as kube


class Flaky:
    """Fails with ``errors`` in turn, then answers."""

    def __init__(self, *errors: kube.KubeError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, **kwargs: object) -> dict:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": kwargs}


def error(status: int, retry_after: float | None = None) -> kube.KubeError:
    return kube.KubeError("patch DaemonSet x", status, "boom", retry_after=retry_after)


async def test_transient_errors_are_retried_until_an_answer():
    flaky = Flaky(error(500, 0.01), error(503, 0.01), error(0, 0.01))
    assert await retry.call(flaky, name="x") == {"ok": {"name": "x"}}
    assert flaky.calls == 4


async def test_retry_after_is_honoured():
    flaky = Flaky(error(429, retry_after=0.3))
    started = time.monotonic()
    await retry.call(flaky)
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_other_errors_are_not_retried(status):
    flaky = Flaky(error(status))
    with pytest.raises(kube.KubeError):
        await retry.call(flaky)
    assert flaky.calls == 1


async def test_conflicts_go_back_to_the_caller_to_recompute():
    flaky = Flaky(kube.ConflictError("patch DaemonSet x", 409, "modified"))
    with pytest.raises(kube.ConflictError):
        await retry.call(flaky)
    assert flaky.calls == 1


async def test_attempts_are_bounded():
    flaky = Flaky(*[error(500, 0.0)] * 10)
    with pytest.raises(kube.KubeError):
        await retry.call(flaky)
    assert flaky.calls == retry.ATTEMPTS


@pytest.mark.parametrize("attempt", range(1, 10))
def test_backoff_grows_and_is_capped(attempt):
    delay = retry.backoff(attempt)
    base = min(retry.MAX_DELAY_SECONDS, retry.FIRST_DELAY_SECONDS * 2 ** (attempt - 1))
    assert 0.75 * base <= delay <= 1.25 * base
