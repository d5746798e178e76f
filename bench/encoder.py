"""CPU per series of the wire encoder against the protobuf library, on realistic series.

Builds the `kube_pod_labels` series of `--pages` pages of 500 distinct realistic pods
(tests/backfill/podshape.py; with `--annotations`, the `_annotations` series too), then encodes
them in batches of 500 with `encode_write_request` (backfill/wire.py) and with
`reference_write_request` (the protobuf library), alternately, `--rounds` times; prints the
best CPU time (process_time) per series of each and checks the bytes are the same.

    python bench/encoder.py --pages 20 --rounds 5
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

from flowkeeper.backfill import wire
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.encoder import encode_write_request
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.objects import decode_list
from flowkeeper.backfill.series import Tally, kind_series_spec, object_series

from tests.backfill.podshape import realistic_pod
from tests.backfill.reference import reference_write_request

PAGE = 500
TIMESTAMP = 1_700_000_000_000


Batch = list[tuple[tuple[str, str], ...]]


def with_values(batch: Batch) -> list[tuple[tuple[tuple[str, str], ...], float]]:
    return [(labels, 1.0) for labels in batch]


def batches(pages: int, annotations: bool) -> list[Batch]:
    spec = kind_series_spec(
        KINDS["pods"],
        prefix="kube",
        labels=parse_allowlist("l", "*=[*]").for_kind("pods"),
        annotations=parse_allowlist("a", "*=[*]" if annotations else "").for_kind("pods"),
        external={"cluster": "bench"},
    )
    out = []
    for number in range(pages):
        items = b",".join(realistic_pod(i) for i in range(number * PAGE, (number + 1) * PAGE))
        metadata, _ = decode_list(b'{"items":[' + items + b"]}", annotations=annotations)
        series = []
        tally = Tally()
        for meta in metadata:
            built = object_series(spec, meta, tally)
            assert built is not None
            series.extend(built.series)
        for start in range(0, len(series), PAGE):
            out.append(series[start : start + PAGE])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--annotations", action="store_true")
    args = parser.parse_args()
    work = batches(args.pages, args.annotations)
    count = sum(len(batch) for batch in work)
    assert all(
        encode_write_request(batch, TIMESTAMP)
        == reference_write_request(with_values(batch), TIMESTAMP)
        for batch in work
    )
    valued = [with_values(batch) for batch in work]
    best = {"protobuf library": float("inf"), "wire.py": float("inf")}
    for _ in range(args.rounds):
        started = time.process_time()
        for samples in valued:
            reference_write_request(samples, TIMESTAMP)
        best["protobuf library"] = min(best["protobuf library"], time.process_time() - started)
        wire._pairs.clear()  # every round starts cold, as a run does
        started = time.process_time()
        for batch in work:
            encode_write_request(batch, TIMESTAMP)
        best["wire.py"] = min(best["wire.py"], time.process_time() - started)
    print(f"{count} series, {len(work)} batches, byte-identical output")
    for name, seconds in best.items():
        print(f"  {name:16s} {1e6 * seconds / count:5.2f} us/series")
    print(f"  gain: {best['protobuf library'] / best['wire.py']:.2f}x")


if __name__ == "__main__":
    main()
