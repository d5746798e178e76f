"""Series to a remote write 1.0 request body: protobuf `WriteRequest`, snappy block format.

The messages come from `remote_pb2`, generated from `remote.proto` (the one schema source; a
test checks the generated module is what the .proto produces).
"""

from collections.abc import Iterable, Mapping

import snappy
from flowkeeper.backfill import remote_pb2
from flowkeeper.backfill.series import Series

REMOTE_WRITE_HEADERS: Mapping[str, str] = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def request_headers(user_agent: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The four remote-write headers plus the user's own (tenancy, auth); ours win."""
    return {**extra, "User-Agent": user_agent, **REMOTE_WRITE_HEADERS}


def encode_write_request(series: Iterable[Series], timestamp_ms: int, value: float = 1.0) -> bytes:
    """The uncompressed protobuf `WriteRequest`, one sample (the same for all) per series."""
    return encode_samples(((labels, value) for labels in series), timestamp_ms)


def encode_samples(samples: Iterable[tuple[Series, float]], timestamp_ms: int) -> bytes:
    """The uncompressed protobuf `WriteRequest` for series each with its own value."""
    request = remote_pb2.WriteRequest()
    add_series = request.timeseries.add
    for labels, value in samples:
        series = add_series()
        add_label = series.labels.add
        for name, label_value in labels:
            add_label(name=name, value=label_value)
        series.samples.add(value=value, timestamp=timestamp_ms)
    return request.SerializeToString()


def compress(payload: bytes) -> bytes:
    """Snappy block format (not the framed format, which receivers refuse)."""
    return bytes(snappy.compress(payload))


def encode_batch(series: Iterable[Series], timestamp_ms: int, value: float = 1.0) -> bytes:
    return compress(encode_write_request(series, timestamp_ms, value))
