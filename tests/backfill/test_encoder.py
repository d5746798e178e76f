import pytest
import snappy
from flowkeeper.backfill import remote_pb2
from flowkeeper.backfill.encoder import (
    REMOTE_WRITE_HEADERS,
    encode_samples,
    encode_write_request,
    request_headers,
)

from tests.backfill.reference import encode_batch

SERIES = [
    (("__name__", "kube_pod_labels"), ("label_app", "web"), ("namespace", "a"), ("pod", "p1")),
    (("__name__", "kube_pod_annotations"), ("namespace", "a"), ("pod", "p1")),
    (("__name__", "kube_pod_labels"), ("label_x", "ünïcødé ✓"), ("pod", "p" * 200)),
    (("__name__", "kube_pod_labels"), ("label_big", "v" * 20000), ("pod", "p2")),
]


# Wire bytes written out by hand from the remote write 1.0 field numbers (WriteRequest.timeseries=1,
# TimeSeries.labels=1, samples=2, Label.name=1, value=2, Sample.value=1 double, timestamp=2):
# they catch a .proto with a wrong field number or type, which a round trip would not.
GOLDEN = [
    (
        [(("__name__", "m"), ("pod", "p1"))],
        1_700_000_000_123,
        1.0,
        "0a2c"  # timeseries, 44 bytes
        "0a0d"
        "0a085f5f6e616d655f5f"
        "12016d"  # label __name__=m
        "0a09"
        "0a03706f64"
        "12027031"  # label pod=p1
        "1210"
        "09000000000000f03f"
        "10fbd095ffbc31",  # sample 1.0 @ 1700000000123
    ),
    # proto3 leaves default values out: value 0.0 has no field, only the timestamp is written.
    ([(("__name__", "m"),)], 1, 0.0, "0a130a0d0a085f5f6e616d655f5f12016d12021001"),
]


@pytest.mark.parametrize(("series", "timestamp", "value", "wire"), GOLDEN)
def test_wire_bytes_follow_remote_write_field_numbers(series, timestamp, value, wire):
    assert encode_write_request(series, timestamp, value).hex() == wire


def test_decoded_back_gives_the_same_series_and_sample():
    body = encode_batch(SERIES, 1_700_000_000_123)
    request = remote_pb2.WriteRequest.FromString(snappy.uncompress(body))
    assert [tuple((lb.name, lb.value) for lb in ts.labels) for ts in request.timeseries] == SERIES
    assert {(s.value, s.timestamp) for ts in request.timeseries for s in ts.samples} == {
        (1.0, 1_700_000_000_123)
    }


def test_body_is_snappy_block_format_not_framed():
    body = encode_batch(SERIES, 1)
    assert not body.startswith(b"\xff\x06\x00\x00sNaPpY")
    assert snappy.uncompress(body) == encode_write_request(SERIES, 1)


def test_samples_with_their_own_values():
    samples = [(SERIES[0], 5.0), (SERIES[1], 0.5)]
    request = remote_pb2.WriteRequest.FromString(encode_samples(samples, 9))
    assert [(ts.samples[0].value, ts.samples[0].timestamp) for ts in request.timeseries] == [
        (5.0, 9),
        (0.5, 9),
    ]


def test_many_series_round_trip():
    series = [(("__name__", "m"), ("uid", f"u-{i}")) for i in range(10_000)]
    request = remote_pb2.WriteRequest.FromString(encode_write_request(series, 3))
    assert [tuple((lb.name, lb.value) for lb in ts.labels) for ts in request.timeseries] == series


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
