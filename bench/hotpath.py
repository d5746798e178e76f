"""CPU time of the backfill's pure stages on realistic pages, in one process, without HTTP.

Decodes `--pages` LIST bodies of 500 realistic pods (tests/backfill/podshape.py), builds the
series, encodes and compresses the batches, and prints the CPU time (process_time, so other
processes on the machine count less) per object of each stage and the time spent in garbage
collections (gc.callbacks), with the collector as set by `--gc` (`on`: CPython's defaults;
`frozen`: what the CLI does, see `quiet_gc` in cli.py). Use it to measure a change to one
stage; the end-to-end figures are bench/backfill_memory.py's.

    python bench/hotpath.py --pages 100 --gc on
    python bench/hotpath.py --pages 100 --gc frozen
"""

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.encoder import compress, encode_write_request
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.objects import decode_list
from flowkeeper.backfill.series import Tally, kind_series_spec, object_series

from tests.backfill.podshape import realistic_pod

PAGE = 500


def page_body(number: int) -> bytes:
    items = b",".join(realistic_pod(i) for i in range(number * PAGE, (number + 1) * PAGE))
    head = b'{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{}'
    return head + b',"items":[' + items + b"]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--gc", choices=("on", "frozen"), default="on")
    args = parser.parse_args()
    # Ten distinct bodies reused: realistic pages, without holding hundreds of MB of them.
    bodies = [page_body(n) for n in range(10)]
    spec = kind_series_spec(
        KINDS["pods"],
        prefix="kube",
        labels=parse_allowlist("l", "*=[*]").for_kind("pods"),
        annotations=parse_allowlist("a", "").for_kind("pods"),
        external={"cluster": "bench"},
    )
    if args.gc == "frozen":
        from flowkeeper.backfill.cli import quiet_gc

        quiet_gc()
    collections = {"count": 0, "seconds": 0.0, "started": 0.0}

    def track(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections["started"] = time.perf_counter()
        else:
            collections["count"] += 1
            collections["seconds"] += time.perf_counter() - collections["started"]

    gc.callbacks.append(track)
    decode = build = encode = 0.0
    for number in range(args.pages):
        started = time.process_time()
        items, _ = decode_list(bodies[number % len(bodies)])
        decoded = time.process_time()
        batch = []
        tally = Tally()
        for metadata in items:
            built = object_series(spec, metadata, tally)
            assert built is not None
            batch.extend(series for series in (built.labels, built.annotations) if series)
        built_at = time.process_time()
        for start in range(0, len(batch), 500):
            compress(encode_write_request(batch[start : start + 500], 1_700_000_000_000))
        encoded = time.process_time()
        decode += decoded - started
        build += built_at - decoded
        encode += encoded - built_at
    objects = args.pages * PAGE
    total = decode + build + encode
    print(f"gc={args.gc} objects={objects} bytes/object={len(bodies[0]) / PAGE:.0f}")
    for name, seconds in (("decode", decode), ("series", build), ("encode", encode)):
        print(f"  {name:7s} {1e6 * seconds / objects:6.1f} us/object")
    print(f"  total   {1e6 * total / objects:6.1f} us/object = {objects / total:,.0f} objects/s")
    count, seconds = collections["count"], collections["seconds"]
    print(f"  gc      {count} collections, {1e6 * seconds / objects:.2f} us/object")


if __name__ == "__main__":
    main()
