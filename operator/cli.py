"""`flowkeeper-operator`: flags and FLOWKEEPER_OPERATOR_* variables, then kopf in-process.

A flag wins over its variable. Bad input ends with one line on stderr and exit code 2.
"""

import argparse
import asyncio
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, NoReturn

import flowkeeper.operator.app.handlers  # noqa: F401  (registers the handlers with kopf)
import kopf
import prometheus_client
from flowkeeper.operator import metrics
from flowkeeper.operator.app import settings
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.leadership import elector as leader
from flowkeeper.operator.leadership import gate as elected
from flowkeeper.operator.leadership import lease

PROG = "flowkeeper-operator"
ENV_PREFIX = "FLOWKEEPER_OPERATOR_"
LOG_FORMATS = ("plain", "json")
MAX_PORT = 65535
MAX_RESYNC_SECONDS = 86400.0
MAX_LEASE_SECONDS = 3600.0
DEFAULT_LEASE_NAME = "flowkeeper-operator"
# Where a pod finds its own namespace when the chart does not pass POD_NAMESPACE.
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class Options(NamedTuple):
    namespaces: tuple[str, ...]  # empty: all namespaces
    liveness_port: int  # 0: no liveness endpoint
    metrics_port: int  # 0: no metrics endpoint
    log_format: str
    verbose: bool
    resync_seconds: float
    election: leader.Election | None = None  # None: leader election off (one replica)


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


class UsageError(ValueError):
    """A bad flag or environment variable; the message names it and the allowed values."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    parser = _Parser(prog=PROG, description="Reconciles FlowCollector resources.")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-A", "--all-namespaces", action="store_true", default=None)
    scope.add_argument("-n", "--namespace", action="append", metavar="NS")
    parser.add_argument("--liveness-port", metavar="PORT")
    parser.add_argument("--metrics-port", metavar="PORT")
    parser.add_argument("--log-format", metavar="FORMAT")
    parser.add_argument("--verbose", action="store_true", default=None)
    parser.add_argument("--resync-seconds", metavar="SECONDS")
    parser.add_argument("--leader-election", action=argparse.BooleanOptionalAction)
    parser.add_argument("--leader-election-namespace", metavar="NS")
    parser.add_argument("--leader-election-id", metavar="NAME")
    parser.add_argument("--lease-duration", metavar="SECONDS")
    parser.add_argument("--renew-deadline", metavar="SECONDS")
    parser.add_argument("--retry-period", metavar="SECONDS")
    args = parser.parse_args(list(argv))

    def pick(flag: str, value: object) -> str | None:
        if value is not None:
            return str(value)
        return environ.get(ENV_PREFIX + flag.upper().replace("-", "_"))

    everywhere = args.all_namespaces or _boolean("all-namespaces", pick("all-namespaces", None))
    if args.namespace is not None:
        namespaces = [part for value in args.namespace for part in value.split(",")]
    else:
        namespaces = (pick("namespace", None) or "").split(",")
    namespaces = [name.strip() for name in namespaces if name.strip()]
    if everywhere and namespaces:
        raise UsageError("--all-namespaces and --namespace exclude each other")
    log_format = pick("log-format", args.log_format) or "plain"
    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}"
        )
    return Options(
        namespaces=tuple(namespaces),
        liveness_port=_port("liveness-port", pick("liveness-port", args.liveness_port), 8080),
        metrics_port=_port("metrics-port", pick("metrics-port", args.metrics_port), 9090),
        log_format=log_format,
        verbose=bool(args.verbose or _boolean("verbose", pick("verbose", None))),
        resync_seconds=_seconds(pick("resync-seconds", args.resync_seconds)),
        election=_election(args, pick, environ),
    )


def _election(
    args: argparse.Namespace,
    pick: "Callable[[str, object], str | None]",
    environ: Mapping[str, str],
) -> leader.Election | None:
    if args.leader_election is not None:
        enabled = bool(args.leader_election)
    else:
        enabled = _boolean("leader-election", pick("leader-election", None))
    if not enabled:
        return None
    timings = lease.Timings(
        *(
            _lease_seconds(flag, pick(flag, getattr(args, flag.replace("-", "_"))), default)
            for flag, default in zip(
                ("lease-duration", "renew-deadline", "retry-period"),
                lease.DEFAULT_TIMINGS,
                strict=True,
            )
        )
    )
    try:
        lease.check_timings(timings)
    except ValueError as error:
        raise UsageError(str(error)) from None
    namespace = (
        pick("leader-election-namespace", args.leader_election_namespace)
        or environ.get("POD_NAMESPACE")
        or _read(NAMESPACE_FILE)
    )
    if not namespace:
        raise UsageError(
            "--leader-election-namespace is needed outside a pod (no POD_NAMESPACE variable"
            f" and no {NAMESPACE_FILE})"
        )
    name = pick("leader-election-id", args.leader_election_id) or DEFAULT_LEASE_NAME
    if not _DNS_SUBDOMAIN.fullmatch(name):
        raise UsageError(
            "--leader-election-id must be a Kubernetes object name (lower-case letters,"
            f" digits, '-' and '.', at most 253 characters), got {name!r}"
        )
    return leader.Election(namespace=namespace.strip(), name=name, timings=timings)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv, os.environ)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    kopf.configure(
        verbose=options.verbose,
        log_format=kopf.LogFormat.JSON if options.log_format == "json" else kopf.LogFormat.FULL,
    )
    if options.metrics_port:
        prometheus_client.start_http_server(options.metrics_port)
    try:
        asyncio.run(serve(options))
    except elected.LeadershipLostError as error:
        # As client-go controllers do: exit, and let Kubernetes restart us as a standby.
        print(f"{PROG}: {error}", file=sys.stderr)
        raise SystemExit(1) from None


Flag = asyncio.Event | threading.Event


async def serve(
    options: Options, *, stop_flag: Flag | None = None, ready_flag: Flag | None = None
) -> None:
    """Run the operator in the current event loop until ``stop_flag`` is set (or a signal).

    At shutdown kopf cancels every task started after it, so a program embedding the operator
    (the demo, the tests) runs it in a thread of its own, with ``threading.Event`` flags.
    With leader election on, kopf runs only while this replica holds the Lease.
    """
    if options.election is None:
        metrics.LEADER.set(1)  # the only replica
        await _operate(options, stop_flag, ready_flag, liveness=options.liveness_port)
        return
    api = kube.connect(await asyncio.to_thread(kube.load_configuration))
    try:
        await elected.serve(
            lambda: _operate(options, stop_flag, ready_flag, liveness=0),
            api=api,
            election=options.election,
            liveness_port=options.liveness_port,
            stop_flag=stop_flag,
        )
    finally:
        await asyncio.to_thread(api.close)


async def _operate(
    options: Options, stop_flag: Flag | None, ready_flag: Flag | None, *, liveness: int
) -> None:
    await kopf.operator(
        clusterwide=not options.namespaces,
        namespaces=options.namespaces,
        standalone=True,
        liveness_endpoint=f"http://0.0.0.0:{liveness}/healthz" if liveness else None,
        memo=kopf.Memo(resync_seconds=options.resync_seconds, namespaces=options.namespaces),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )


def _port(flag: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) > MAX_PORT:
        raise UsageError(f"--{flag} must be a port between 0 (off) and {MAX_PORT}, got {value!r}")
    return int(value)


def _seconds(value: str | None) -> float:
    if value is None:
        return settings.DEFAULT_RESYNC_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= MAX_RESYNC_SECONDS:
        raise UsageError(
            f"--resync-seconds must be between 1 and {MAX_RESYNC_SECONDS:g}, got {value!r}"
        )
    return seconds


def _lease_seconds(flag: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_LEASE_SECONDS:
        raise UsageError(
            f"--{flag} must be a number of seconds above 0 and at most {MAX_LEASE_SECONDS:g},"
            f" got {value!r}"
        )
    return seconds


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError:
        return ""


def _boolean(flag: str, value: str | None) -> bool:
    if value is None or value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise UsageError(
        f"{ENV_PREFIX}{flag.upper().replace('-', '_')} must be true or false, got {value!r}"
    )
