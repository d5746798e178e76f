"""The hand-written wire encoder is byte-identical to the protobuf library's serialisation."""

import math

from flowkeeper.backfill.encoder import encode_samples
from flowkeeper.backfill.wire import varint
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.backfill.reference import reference_write_request

# Any text protobuf accepts: every code point but the surrogates (not valid UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
LABELS = st.lists(st.tuples(TEXT, TEXT), max_size=12).map(tuple)
VALUES = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0])
TIMESTAMPS = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from([0, 1, -1])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(LABELS, VALUES), max_size=20), TIMESTAMPS)
@example([((("", ""),), 0.0)], 0)
@example([((("__name__", "m"), ("a", "x" * 200)), -0.0)], -1)
@example([], 5)
def test_encoder_output_is_the_protobuf_library_output(samples, timestamp):
    assert encode_samples(samples, timestamp) == reference_write_request(samples, timestamp)


@settings(deadline=None)
@given(st.lists(st.tuples(LABELS, VALUES), min_size=1, max_size=5), TIMESTAMPS)
def test_cached_labels_encode_the_same_on_every_reuse(samples, timestamp):
    first = encode_samples(samples, timestamp)
    assert (
        encode_samples(samples, timestamp) == first == reference_write_request(samples, timestamp)
    )


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_round_trips(number):
    encoded = varint(number)
    assert all(byte & 0x80 for byte in encoded[:-1])
    assert not encoded[-1] & 0x80
    assert sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(encoded)) == number
    assert len(encoded) == max(1, math.ceil(number.bit_length() / 7))
