"""Peak RSS and throughput of the real `flowkeeper-backfill` CLI at 10k, 100k and 1M objects.

The paginating list server runs in its own process and generates objects on the fly, so only
the CLI's memory is measured: its peak RSS comes from the kernel (`ru_maxrss` of the child via
os.wait4). Receiver: VictoriaMetrics on loopback. The CPU seconds of the three processes show
what bounds the rate on a 2-core machine. Each size runs twice: a first run, whose series are
new to the receiver, and a repeat run sending the same series again with a new timestamp, as a
daily CronJob does. Usage: python bench/backfill_memory.py [N...]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: the repo root holds a folder named `operator`.
sys.path.append(str(ROOT))

from e2e.local import write_kubeconfig  # noqa: E402
from e2e.receivers import start_victoriametrics  # noqa: E402

CLI = Path(sys.executable).parent / "flowkeeper-backfill"
SIZES = [10_000, 100_000, 1_000_000]


def list_server(objects: int) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests/backfill/listserver.py"),
            "--objects",
            f"pods={objects}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    return server, f"http://127.0.0.1:{port}"


def run_cli(kubeconfig: Path, write_url: str, run: str) -> tuple[int, float, float, float, str]:
    command = [
        str(CLI),
        f"--kubeconfig={kubeconfig}",
        f"--remote-write-url={write_url}",
        "--resources=pods",
        f"--external-label=bench_run={run}",
    ]
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        last = log.read().strip().splitlines()[-1]
    cpu = usage.ru_utime + usage.ru_stime
    return process.returncode, seconds, usage.ru_maxrss / 1024, cpu, last


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or SIZES
    rows = []
    with start_victoriametrics() as vm, tempfile.TemporaryDirectory() as directory:
        vm_process = psutil.Process(vm.process.pid)
        for objects in sizes:
            for run in ("first", "repeat"):
                server, url = list_server(objects)
                vm_before = sum(vm_process.cpu_times()[:2])
                try:
                    kubeconfig = write_kubeconfig(Path(directory) / "kubeconfig", url)
                    code, seconds, peak, cpu, last = run_cli(kubeconfig, vm.write_url, str(objects))
                finally:
                    server.terminate()
                    _, _, server_usage = os.wait4(server.pid, 0)
                    server.returncode = -1
                vm_cpu = sum(vm_process.cpu_times()[:2]) - vm_before
                server_cpu = server_usage.ru_utime + server_usage.ru_stime
                vm.flush()
                landed = vm.query(f'count(kube_pod_labels{{bench_run="{objects}"}})')
                count = int(landed[0]["value"][1]) if landed else 0
                rows.append((objects, run, seconds, peak, code, count, cpu, server_cpu, vm_cpu))
                print(f"  {objects} {run}: {last}", file=sys.stderr)
    header = ("objects", "run", "seconds", "objects/s", "peak RSS MiB", "exit", "in VM")
    header += ("CLI CPU s", "server CPU s", "VM CPU s")
    print(" | ".join(header))
    for objects, run, seconds, peak, code, count, cpu, server_cpu, vm_cpu in rows:
        cells = (objects, run, f"{seconds:.1f}", f"{objects / seconds:.0f}", f"{peak:.1f}")
        cells += (code, count, f"{cpu:.1f}", f"{server_cpu:.1f}", f"{vm_cpu:.1f}")
        print(" | ".join(str(cell) for cell in cells))
    firsts = [(row[0], row[3]) for row in rows if row[1] == "first"]
    base = firsts[0][1]
    for objects, peak in firsts[1:]:
        change = 100 * (peak / base - 1)
        print(f"peak RSS at {objects} objects: {change:+.1f}% of the {firsts[0][0]}-object figure")


if __name__ == "__main__":
    main()
