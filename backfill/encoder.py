"""Series to a remote write 1.0 request body: protobuf `WriteRequest`, snappy block format.

The wire bytes are written by `wire` (faster, with the labels encoded once and reused); the
protobuf library's messages from `remote_pb2` (generated from `remote.proto`, the one schema
source) are the reference it is tested against, byte for byte (tests/backfill/reference.py).
"""

from collections.abc import Iterable, Mapping

import snappy
from flowkeeper.backfill import wire
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
    sample = wire.sample_field(value, timestamp_ms)
    return wire.write_request((labels, sample) for labels in series)


def encode_samples(samples: Iterable[tuple[Series, float]], timestamp_ms: int) -> bytes:
    """The uncompressed protobuf `WriteRequest` for series each with its own value."""
    return wire.write_request(
        (labels, wire.sample_field(value, timestamp_ms)) for labels, value in samples
    )


def compress(payload: bytes) -> bytes:
    """Snappy block format (not the framed format, which receivers refuse)."""
    return bytes(snappy.compress(payload))
