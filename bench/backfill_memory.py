"""Speed, peak RSS and CPU of the real `flowkeeper-backfill` CLI, beside a naive baseline.

The paginating list server runs in its own process and generates objects on the fly
(`--shape realistic`: Deployment-managed pods as kube-apiserver returns them, ~4 KB of JSON
each with managedFields; `--shape small`: the old ~600-byte objects), so only the CLI's memory
is measured: its peak RSS and CPU seconds come from GNU time (`/usr/bin/time`).
Receiver: VictoriaMetrics on loopback. The CPU seconds of the CLI, the list server and the
receiver show what bounds the rate on this machine.

Per size: one *first* run (series new to the receiver), then `--repeats` *repeat* runs (same
series, new timestamp, as a daily CronJob does), then, at sizes up to `--naive-max`, the naive
program (bench/naive_backfill.py: kubernetes client, everything loaded, then sent) so the ratio
is measured in the same conditions. `--shards N` adds a row of N CLI processes run at once,
each with `--shard-index`/`--shard-count`.

    python bench/backfill_memory.py --shape realistic 10000 100000 1000000
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(ROOT))

from e2e.local import write_kubeconfig  # noqa: E402
from e2e.receivers import Receiver, start_victoriametrics  # noqa: E402

CLI = Path(sys.executable).parent / "flowkeeper-backfill"
NAIVE = ROOT / "bench/naive_backfill.py"
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)
SIZES = [10_000, 100_000, 1_000_000]
# The list server's module imports `tests.…`: run it with the repo root appended to sys.path.
SERVER_BOOT = f"import sys; sys.path.append({str(ROOT)!r}); "
SERVER_BOOT += "from tests.backfill.listserver import main; main(sys.argv[1:])"


@dataclass
class Row:
    program: str
    objects: int
    run: str
    seconds: float
    peak_mib: float
    code: int
    landed: int
    cpu: float
    server_cpu: float
    vm_cpu: float


def list_server(objects: int, shape: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-c", SERVER_BOOT, "--objects", f"pods={objects}"]
    server = subprocess.Popen([*command, "--shape", shape], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    return server, f"http://127.0.0.1:{port}"


def bytes_per_object(url: str) -> float:
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    body = requests.get(f"{url}/api/v1/pods?limit=500", headers={"Accept": accept}, timeout=60)
    return len(body.content) / len(body.json()["items"])


def run_processes(commands: list[list[str]]) -> tuple[list[int], float, float, float, str]:
    """Run the commands at once; exit codes, wall seconds, max peak RSS MiB, total CPU s.

    Each runs under GNU time, which reports its child's peak RSS: `ru_maxrss` of a child of
    this (much larger) Python process would include the RSS it had between fork and exec.
    """
    started = time.monotonic()
    logs = [tempfile.TemporaryFile("w+") for _ in commands]  # noqa: SIM115
    usages = [tempfile.NamedTemporaryFile("r", suffix=".time") for _ in commands]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [TIME, "-f", "%M %U %S", "-o", usage.name, *command],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for command, log, usage in zip(commands, logs, usages, strict=True)
    ]
    codes, peak, cpu = [], 0.0, 0.0
    for process, usage in zip(processes, usages, strict=True):
        codes.append(process.wait())
        kib, user, system = usage.read().split()[-3:]
        peak = max(peak, int(kib) / 1024)
        cpu += float(user) + float(system)
    seconds = time.monotonic() - started
    last = ""
    for log in logs:
        log.seek(0)
        lines = log.read().strip().splitlines()
        last += (lines[-1] if lines else "") + " "
        log.close()
    return codes, seconds, peak, cpu, last


def cli_command(kubeconfig: Path, write_url: str, label: str, extra: list[str]) -> list[str]:
    return [
        str(CLI),
        f"--kubeconfig={kubeconfig}",
        f"--remote-write-url={write_url}",
        "--resources=pods",
        f"--external-label=bench_run={label}",
        *extra,
    ]


def measure(
    vm: Receiver, objects: int, shape: str, program: str, run: str, commands: list[list[str]]
) -> Row:
    vm_process = psutil.Process(vm.process.pid)
    vm_before = sum(vm_process.cpu_times()[:2])
    codes, seconds, peak, cpu, last = run_processes(commands)
    vm_cpu = sum(vm_process.cpu_times()[:2]) - vm_before
    print(f"  {program} {objects} {run}: {last[-300:]}", file=sys.stderr)
    vm.flush()
    landed = vm.query(f'count(kube_pod_labels{{bench_run="{shape}-{objects}"}})')
    count = int(landed[0]["value"][1]) if landed else 0
    code = max(codes, key=abs)
    return Row(program, objects, run, seconds, peak, code, count, cpu, 0.0, vm_cpu)


def bench_size(vm: Receiver, directory: Path, objects: int, args: argparse.Namespace) -> list[Row]:
    server, url = list_server(objects, args.shape)
    server_process = psutil.Process(server.pid)
    rows: list[Row] = []
    try:
        print(f"{objects}: {bytes_per_object(url):.0f} bytes of JSON per object", file=sys.stderr)
        kubeconfig = write_kubeconfig(directory / "kubeconfig", url)
        label = f"{args.shape}-{objects}"
        page = [f"--page-size={args.page_size}"] if args.page_size else []
        page += args.cli_arg
        plan: list[tuple[str, str, list[list[str]]]] = []
        plan.append(("cli", "first", [cli_command(kubeconfig, vm.write_url, label, page)]))
        for _ in range(args.repeats):
            plan.append(("cli", "repeat", [cli_command(kubeconfig, vm.write_url, label, page)]))
        if args.shards > 1:
            shards = [
                cli_command(
                    kubeconfig,
                    vm.write_url,
                    label,
                    [*page, f"--shard-index={i}", f"--shard-count={args.shards}"],
                )
                for i in range(args.shards)
            ]
            plan.append((f"cli x{args.shards} shards", "repeat", shards))
        if objects <= args.naive_max:
            naive = [sys.executable, str(NAIVE), str(kubeconfig), vm.write_url, label]
            plan.append(("naive", "repeat", [naive]))
        for program, run, commands in plan:
            before = sum(server_process.cpu_times()[:2])
            row = measure(vm, objects, args.shape, program, run, commands)
            row.server_cpu = sum(server_process.cpu_times()[:2]) - before
            rows.append(row)
    finally:
        server.terminate()
        server.wait()
    return rows


def report(rows: list[Row], shape: str) -> None:
    print(f"shape: {shape}")
    header = ("program", "objects", "run", "seconds", "objects/s", "peak RSS MiB", "exit")
    header += ("in VM", "CLI CPU s", "list server CPU s", "VM CPU s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = (r.program, f"{r.objects:,}", r.run, f"{r.seconds:.1f}")
        cells += (f"{r.objects / r.seconds:,.0f}", f"{r.peak_mib:.1f}", str(r.code))
        cells += (f"{r.landed:,}", f"{r.cpu:.1f}", f"{r.server_cpu:.1f}", f"{r.vm_cpu:.1f}")
        print("| " + " | ".join(cells) + " |")
    for objects in sorted({r.objects for r in rows}):
        repeats = [
            r.objects / r.seconds for r in rows if r.objects == objects and r.run == "repeat"
        ]
        cli = [
            r.objects / r.seconds
            for r in rows
            if r.objects == objects and r.program == "cli" and r.run == "repeat"
        ]
        naive = [r for r in rows if r.objects == objects and r.program == "naive"]
        if cli and naive:
            ratio = statistics.median(cli) / (naive[0].objects / naive[0].seconds)
            memory = naive[0].peak_mib / max(r.peak_mib for r in rows if r.program == "cli")
            print(f"{objects:,}: CLI repeat {ratio:.1f}x faster, naive {memory:.0f}x the memory")
        elif repeats:
            print(f"{objects:,}: median repeat {statistics.median(repeats):,.0f} objects/s")
    firsts = [(r.objects, r.peak_mib) for r in rows if r.program == "cli" and r.run == "first"]
    for objects, peak in firsts[1:]:
        change = 100 * (peak / firsts[0][1] - 1)
        print(f"peak RSS at {objects:,} objects: {change:+.1f}% of the {firsts[0][0]:,} figure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=SIZES)
    parser.add_argument("--shape", choices=("realistic", "small"), default="realistic")
    parser.add_argument("--repeats", type=int, default=2, help="repeat runs per size")
    parser.add_argument("--naive-max", type=int, default=100_000, help="largest naive size")
    parser.add_argument("--shards", type=int, default=1, help="also run N shards at once")
    parser.add_argument("--page-size", type=int, default=0, help="CLI --page-size (default)")
    parser.add_argument(
        "--cli-arg", action="append", default=[], help="extra CLI argument (repeatable)"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with start_victoriametrics() as vm, tempfile.TemporaryDirectory() as directory:
        for objects in args.sizes:
            rows += bench_size(vm, Path(directory), objects, args)
    report(rows, args.shape)


if __name__ == "__main__":
    main()
