"""Series to a remote write 1.0 request body: protobuf `WriteRequest`, snappy block format.

The wire bytes are written here directly rather than through `remote_pb2` message objects:
building upb messages from Python costs about 16 us per series (half the whole time budget at
20,000 objects/s), writing the same bytes costs a fraction of that. The schema stays single
sourced in `remote.proto`; the tests check these bytes against the generated module's
`SerializeToString()` for the same content.
"""

import struct
from collections.abc import Iterable, Mapping

import cramjam
from flowkeeper.backfill.series import Series

REMOTE_WRITE_HEADERS: Mapping[str, str] = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}

# Field keys (field number << 3 | wire type): WriteRequest.timeseries=1, TimeSeries.labels=1,
# TimeSeries.samples=2, Label.name=1, Label.value=2 (all length-delimited);
# Sample.value=1 (64-bit double), Sample.timestamp=2 (varint).
_LEN_FIELD_1 = b"\x0a"
_LEN_FIELD_2 = b"\x12"
_DOUBLE_FIELD_1 = b"\x09"
_VARINT_FIELD_2 = b"\x10"

_LABEL_CACHE_SIZE = 4096
_label_cache: dict[tuple[str, str], bytes] = {}


def request_headers(user_agent: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The four remote-write headers plus the user's own (tenancy, auth); ours win."""
    return {**extra, "User-Agent": user_agent, **REMOTE_WRITE_HEADERS}


def encode_write_request(series: Iterable[Series], timestamp_ms: int, value: float = 1.0) -> bytes:
    """The uncompressed protobuf `WriteRequest`, one sample (the same for all) per series."""
    sample = _sample(value, timestamp_ms)
    cached = _label_cache.get
    parts = []
    for labels in series:
        body = b"".join([cached(pair) or _label(pair) for pair in labels]) + sample
        parts.append(_LEN_FIELD_1 + _varint(len(body)) + body)
    return b"".join(parts)


def encode_samples(samples: Iterable[tuple[Series, float]], timestamp_ms: int) -> bytes:
    """The uncompressed protobuf `WriteRequest` for series each with its own value."""
    return b"".join(
        encode_write_request([labels], timestamp_ms, value) for labels, value in samples
    )


def compress(payload: bytes) -> bytes:
    """Snappy block format (not the framed format, which receivers refuse)."""
    return bytes(cramjam.snappy.compress_raw(payload))


def encode_batch(series: Iterable[Series], timestamp_ms: int, value: float = 1.0) -> bytes:
    return compress(encode_write_request(series, timestamp_ms, value))


def _label(pair: tuple[str, str]) -> bytes:
    name, value = pair[0].encode(), pair[1].encode()
    body = b""
    # proto3 leaves empty strings out of the wire format.
    if name:
        body = _LEN_FIELD_1 + _varint(len(name)) + name
    if value:
        body += _LEN_FIELD_2 + _varint(len(value)) + value
    encoded = _LEN_FIELD_1 + _varint(len(body)) + body
    # Names and most values repeat across objects (uids and object names only between the two
    # series of one object), so a small cache emptied when full is enough.
    if len(_label_cache) >= _LABEL_CACHE_SIZE:
        _label_cache.clear()
    _label_cache[pair] = encoded
    return encoded


def _sample(value: float, timestamp_ms: int) -> bytes:
    # proto3 leaves fields holding their default out of the wire format.
    body = b""
    if struct.pack("<d", value) != bytes(8):
        body += _DOUBLE_FIELD_1 + struct.pack("<d", value)
    if timestamp_ms:
        body += _VARINT_FIELD_2 + _varint(timestamp_ms)
    return _LEN_FIELD_2 + _varint(len(body)) + body


_SMALL_VARINTS = [bytes([n]) for n in range(128)]


def _varint(number: int) -> bytes:
    if 0 <= number < 128:
        return _SMALL_VARINTS[number]
    if 0 <= number < 16384:
        return bytes(((number & 0x7F) | 0x80, number >> 7))
    if number < 0:
        number += 1 << 64
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)
