"""Retry policy per status code, against a real local HTTP server (no mocks)."""

import socket

import pytest
from flowkeeper.backfill.encoder import request_headers
from flowkeeper.backfill.errors import DeliveryError
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.sender import RemoteWriter

from tests.backfill.capture import CaptureReceiver, capturing
from tests.backfill.reference import encode_batch

BODY = encode_batch([(("__name__", "kube_pod_labels"), ("pod", "p"))], 1_700_000_000_000)


class Sleeps(list):
    """Records the waits instead of sleeping (no wall clock in tests)."""

    def __call__(self, seconds):
        self.append(seconds)


def writer(url, *, budget=60.0, sleeps=None, metrics=None, auth=None, extra=None):
    return RemoteWriter(
        url=url,
        headers=request_headers("flowkeeper-backfill/test", extra or {}),
        metrics=metrics or RunMetrics(),
        timeout=5,
        budget_seconds=budget,
        auth=auth,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def retries(metrics, reason):
    return metrics.registry.get_sample_value(
        "backfill_retries_total", {"stage": "remote_write", "reason": reason}
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_until_accepted(status):
    metrics = RunMetrics()
    with capturing(CaptureReceiver(script=[(status, {}), (status, {})])) as receiver:
        send = writer(receiver.url, metrics=metrics)
        send.send(BODY)
        send.close()
    assert len(receiver.requests) == 3
    assert all(request.body == BODY for request in receiver.requests)
    assert retries(metrics, "5xx") == 2


def test_429_honours_retry_after_seconds():
    sleeps = Sleeps()
    metrics = RunMetrics()
    with capturing(CaptureReceiver(script=[(429, {"Retry-After": "7"})])) as receiver:
        send = writer(receiver.url, sleeps=sleeps, metrics=metrics)
        send.send(BODY)
        send.close()
    assert len(receiver.requests) == 2
    assert sleeps == [7.0]
    assert retries(metrics, "429") == 1


def test_waits_without_retry_after_grow_with_jitter_and_stay_bounded():
    sleeps = Sleeps()
    with capturing(CaptureReceiver(script=[(503, {})] * 6)) as receiver:
        send = writer(receiver.url, sleeps=sleeps)
        send.send(BODY)
        send.close()
    assert len(sleeps) == 6
    ceilings = [0.5 * 2**attempt for attempt in range(6)]
    assert all(
        0 <= wait <= min(ceiling, 30) for wait, ceiling in zip(sleeps, ceilings, strict=True)
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_4xx_is_never_retried(status):
    with capturing(CaptureReceiver(script=[(status, {})])) as receiver:
        send = writer(receiver.url)
        with pytest.raises(DeliveryError) as error:
            send.send(BODY)
        send.close()
    assert len(receiver.requests) == 1
    assert error.value.retryable is False
    assert f"HTTP {status}" in str(error.value)


def test_retries_stop_when_the_budget_is_spent():
    sleeps = Sleeps()
    with capturing(CaptureReceiver(script=[(503, {"Retry-After": "4"})] * 100)) as receiver:
        send = writer(receiver.url, budget=10, sleeps=sleeps)
        with pytest.raises(DeliveryError) as error:
            send.send(BODY)
        send.close()
    assert sleeps == [4.0, 4.0]
    assert len(receiver.requests) == 3
    assert error.value.retryable is True


def test_connection_refused_is_retried_then_reported_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    metrics = RunMetrics()
    send = writer(f"http://127.0.0.1:{port}/api/v1/write", budget=3, sleeps=sleeps, metrics=metrics)
    with pytest.raises(DeliveryError) as error:
        send.send(BODY)
    send.close()
    assert error.value.retryable is True
    assert sleeps
    assert retries(metrics, "connection") == len(sleeps)


def test_request_carries_the_remote_write_headers_user_headers_and_auth():
    with capturing(CaptureReceiver()) as receiver:
        send = writer(receiver.url, auth=("user", "secret"), extra={"X-Scope-OrgID": "team-a"})
        send.send(BODY)
        send.close()
    (request,) = receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert request.path == "/api/v1/write"
    assert headers["content-encoding"] == "snappy"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-prometheus-remote-write-version"] == "0.1.0"
    assert headers["user-agent"] == "flowkeeper-backfill/test"
    assert headers["x-scope-orgid"] == "team-a"
    assert headers["authorization"] == "Basic dXNlcjpzZWNyZXQ="
    assert request.series() == [{"__name__": "kube_pod_labels", "pod": "p"}]
