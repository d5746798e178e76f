"""Test-only references the backfill's own code is held to (not shipped in the package).

`reference_write_request` builds a remote-write request with the protobuf library (what the
encoder did before `wire` was specialised); `encode_batch` is one compressed batch as the sink
sends it; `prometheus_labels` names a whole mapping's keys the kube-state-metrics way.
"""

from collections.abc import Iterable, Mapping

from flowkeeper.backfill import remote_pb2
from flowkeeper.backfill.encoder import compress, encode_write_request
from flowkeeper.backfill.labelnames import label_names
from flowkeeper.backfill.series import Series


def reference_write_request(samples: Iterable[tuple[Series, float]], timestamp_ms: int) -> bytes:
    """The request built with the protobuf library: the reference `encode_samples` is held to."""
    request = remote_pb2.WriteRequest()
    add_series = request.timeseries.add
    for labels, value in samples:
        series = add_series()
        add_label = series.labels.add
        for name, label_value in labels:
            add_label(name=name, value=label_value)
        series.samples.add(value=value, timestamp=timestamp_ms)
    return request.SerializeToString()


def encode_batch(series: Iterable[Series], timestamp_ms: int, value: float = 1.0) -> bytes:
    """A compressed request body, as the remote-write sink sends a batch."""
    return compress(encode_write_request(series, timestamp_ms, value))


def prometheus_labels(prefix: str, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    """Name/value pairs for `mapping`, collisions suffixed like kube-state-metrics."""
    return list(zip(label_names(prefix, tuple(mapping)), mapping.values(), strict=True))
