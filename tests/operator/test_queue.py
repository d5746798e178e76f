"""The work queue: requests coalesce (newest wins), one reconcile in flight per key, per-key
backoff after a failure (Retry-After honoured), reset by a success."""

import asyncio
import time

from flowkeeper.operator.control.queue import WorkQueue
from flowkeeper.operator.kube import client

from e2e.cluster import eventually


async def test_one_in_flight_per_key_newest_pending_wins_other_keys_not_held_up():
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[tuple[tuple[str, str], str]] = []

    async def reconcile(key: tuple[str, str], trigger: str) -> None:
        handled.append((key, trigger))
        if len(handled) == 1:
            started.set()
            await release.wait()

    queue = WorkQueue(reconcile)
    queue.add(("ns", "a"), "spec")
    await started.wait()
    for trigger in ("child", "resync", "child"):
        queue.add(("ns", "a"), trigger)
    queue.add(("ns", "b"), "spec")  # not held up by "a"

    async def other_key_done() -> None:
        assert (("ns", "b"), "spec") in handled

    await eventually(other_key_done)
    release.set()

    async def drained() -> None:
        assert handled == [(("ns", "a"), "spec"), (("ns", "b"), "spec"), (("ns", "a"), "child")]

    await eventually(drained)
    await queue.stop()


async def test_a_failed_reconcile_is_retried_with_backoff_until_it_succeeds():
    failures = [client.KubeError("get", 500, "x"), client.KubeError("get", 0, "y"), KeyError("z")]
    seen: list[str] = []

    async def reconcile(key: tuple[str, str], trigger: str) -> None:
        seen.append(trigger)
        if failures:
            raise failures.pop(0)

    queue = WorkQueue(reconcile)
    queue.add(("ns", "a"), "spec")

    async def succeeded() -> None:
        assert seen == ["spec", "retry", "retry", "retry"]
        assert queue.failures(("ns", "a")) == 0  # reset by the success
        assert queue.waiting() == []

    await eventually(succeeded)
    await queue.stop()


async def test_retry_after_is_honoured():
    times: list[float] = []

    async def reconcile(key: tuple[str, str], trigger: str) -> None:
        times.append(time.monotonic())
        if len(times) == 1:
            raise client.KubeError("patch", 429, "slow down", retry_after=0.5)

    queue = WorkQueue(reconcile)
    queue.add(("ns", "a"), "spec")

    async def retried() -> None:
        assert len(times) == 2

    await eventually(retried)
    assert times[1] - times[0] >= 0.5
    await queue.stop()


async def test_a_new_request_runs_at_once_and_retry_now_skips_the_wait():
    seen: list[str] = []

    async def reconcile(key: tuple[str, str], trigger: str) -> None:
        seen.append(trigger)
        if trigger == "spec":
            raise client.KubeError("patch", 503, "down", retry_after=30)

    queue = WorkQueue(reconcile)
    queue.add(("ns", "a"), "spec")

    async def waiting() -> None:
        assert queue.waiting() == [("ns", "a")]

    await eventually(waiting)
    queue.add(("ns", "a"), "child")  # not held back by the 30 s wait
    await eventually(lambda: _equal(seen, ["spec", "child"]))
    queue.add(("ns", "b"), "spec")
    await eventually(lambda: _equal(sorted(queue.waiting()), [("ns", "b")]))
    queue.retry_now()  # the API is back
    await eventually(lambda: _equal(seen, ["spec", "child", "spec", "retry"]))
    await queue.stop()


async def test_a_request_that_became_moot_is_skipped():
    seen: list[str] = []

    async def reconcile(key: tuple[str, str], trigger: str) -> None:
        seen.append(trigger)

    queue = WorkQueue(reconcile)
    queue.add(("ns", "a"), "child", needed=lambda: False)  # the echo of our own write
    queue.add(("ns", "b"), "child", needed=lambda: False)
    queue.add(("ns", "b"), "child", needed=lambda: True)  # a real change too
    await eventually(lambda: _equal(seen, ["child"]))
    await asyncio.sleep(0.1)
    assert seen == ["child"]
    await queue.stop()


async def _equal(actual: object, expected: object) -> None:
    assert actual == expected
