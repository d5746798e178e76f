"""Receivers that misbehave: no series lost, no batch sent more often than its retries."""

from collections import Counter

import pytest

from tests.backfill.capture import CLOSE
from tests.backfill.listserver import ListServer

PODS = [f"pod-{i:07d}" for i in range(30)]


def delivered_pods(receiver):
    return sorted({s["pod"] for r in receiver.requests[:-1] for s in r.series() if s.get("pod")})


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ([(204, {}), (CLOSE, {})], "connection"),  # closes the connection mid-request
        ([(204, {}), (204, {}, 3.0)], "timeout"),  # answers after several seconds
        ([(204, {}), (503, {})], "5xx"),  # stores the batch, then answers 5xx
        ([(CLOSE, {}), (CLOSE, {}), (502, {})], "connection"),
    ],
)
def test_no_series_lost_and_each_batch_sent_at_most_once_per_retry(run, script, reason):
    code, receiver = run(
        ListServer(counts={"pods": 30}),
        "--resources=pods",
        "--batch-size=10",
        "--timeout=1",
        script=script,
    )
    assert code == 0
    assert delivered_pods(receiver) == PODS
    retries = sum(
        receiver.summary_value("kube_backfill_retries_total", stage="remote_write", reason=r) or 0
        for r in ("connection", "timeout", "5xx", "429")
    )
    assert receiver.summary_value(
        "kube_backfill_retries_total", stage="remote_write", reason=reason
    )
    sends = Counter(request.body for request in receiver.requests[:-1])
    assert len(sends) == 3  # three distinct batches
    assert sum(sends.values()) == 3 + retries
    assert max(sends.values()) <= 1 + retries
