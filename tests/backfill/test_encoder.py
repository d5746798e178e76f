import cramjam
import pytest
from flowkeeper.backfill import remote_pb2
from flowkeeper.backfill.encoder import (
    REMOTE_WRITE_HEADERS,
    encode_batch,
    encode_samples,
    encode_write_request,
    request_headers,
)

SERIES = [
    (("__name__", "kube_pod_labels"), ("label_app", "web"), ("namespace", "a"), ("pod", "p1")),
    (("__name__", "kube_pod_annotations"), ("namespace", "a"), ("pod", "p1")),
    (("__name__", "kube_pod_labels"), ("label_x", "ünïcødé ✓"), ("pod", "p" * 200)),
    (("__name__", "kube_pod_labels"), ("label_big", "v" * 20000), ("pod", "p2")),
]


def library_bytes(series, timestamp, value=1.0):
    """What the protobuf library itself serializes for the same content."""
    request = remote_pb2.WriteRequest(
        timeseries=[
            remote_pb2.TimeSeries(
                labels=[remote_pb2.Label(name=n, value=v) for n, v in labels],
                samples=[remote_pb2.Sample(value=value, timestamp=timestamp)],
            )
            for labels in series
        ]
    )
    return request.SerializeToString()


@pytest.mark.parametrize("timestamp", [1_700_000_000_123, 0, 1, -5, 2**62])
@pytest.mark.parametrize("value", [1.0, 0.0, -0.0, 3.25])
def test_bytes_equal_the_protobuf_library_serialization(timestamp, value):
    assert encode_write_request(SERIES, timestamp, value) == library_bytes(SERIES, timestamp, value)


def test_decoded_back_gives_the_same_series_and_sample():
    body = encode_batch(SERIES, 1_700_000_000_123)
    request = remote_pb2.WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(body)))
    assert [tuple((lb.name, lb.value) for lb in ts.labels) for ts in request.timeseries] == SERIES
    assert {(s.value, s.timestamp) for ts in request.timeseries for s in ts.samples} == {
        (1.0, 1_700_000_000_123)
    }


def test_body_is_snappy_block_format_not_framed():
    body = encode_batch(SERIES, 1)
    assert not body.startswith(b"\xff\x06\x00\x00sNaPpY")
    assert bytes(cramjam.snappy.decompress_raw(body)) == encode_write_request(SERIES, 1)


def test_samples_with_their_own_values():
    samples = [(SERIES[0], 5.0), (SERIES[1], 0.5)]
    request = remote_pb2.WriteRequest.FromString(encode_samples(samples, 9))
    assert [(ts.samples[0].value, ts.samples[0].timestamp) for ts in request.timeseries] == [
        (5.0, 9),
        (0.5, 9),
    ]


def test_many_series_survive_the_label_cache_being_emptied():
    series = [(("__name__", "m"), ("uid", f"u-{i}")) for i in range(10_000)]
    assert encode_write_request(series, 3) == library_bytes(series, 3)


def test_headers_are_the_remote_write_ones_and_ours_win():
    headers = request_headers("flowkeeper-backfill/1", {"X-Scope-OrgID": "t1", "Content-Type": "x"})
    assert headers == {
        "X-Scope-OrgID": "t1",
        "User-Agent": "flowkeeper-backfill/1",
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    assert dict(REMOTE_WRITE_HEADERS)["X-Prometheus-Remote-Write-Version"] == "0.1.0"
