"""`flowkeeper-operator`: flags and FLOWKEEPER_OPERATOR_* variables, then kopf in-process.

A flag wins over its variable (the table is in ``flags``). What the operator cannot start with
(a bad flag or variable, no usable Kubernetes configuration, a port in use) ends it with one
line on stderr and exit code 2, before anything is served.
"""

import asyncio
import importlib.metadata
import os
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import kopf
from flowkeeper.operator import flags, metrics, preflight
from flowkeeper.operator.app import handlers  # importing it registers the handlers with kopf
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.leadership import elector as leader
from flowkeeper.operator.leadership import gate as elected
from flowkeeper.operator.leadership import lease

PROG = flags.PROG
VERSION = importlib.metadata.version("flowkeeper")
LOG_FORMATS = ("plain", "json")
MAX_PORT = 65535
MAX_RESYNC_SECONDS = 86400.0
MAX_LEASE_SECONDS = 3600.0
EXIT_LEADERSHIP_LOST, EXIT_USAGE = 1, 2
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


UsageError = flags.UsageError


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    args = flags.build_parser(VERSION).parse_args(list(argv))
    flags.check_variables(environ)
    given = flags.Given(args, environ)
    everywhere = given.boolean("all-namespaces")
    namespaces = [name.strip() for name in (given.raw("namespace") or "").split(",")]
    namespaces = [name for name in namespaces if name]
    if everywhere and namespaces:
        raise UsageError(
            f"{given.source('all-namespaces')} and {given.source('namespace')} exclude each other"
        )
    log_format = (given.raw("log-format") or "plain").strip()
    if log_format not in LOG_FORMATS:
        given.fail("log-format", f"must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    liveness_port, metrics_port = _port(given, "liveness-port"), _port(given, "metrics-port")
    if liveness_port and liveness_port == metrics_port:
        raise UsageError(
            f"{given.source('liveness-port')} and {given.source('metrics-port')} must differ,"
            f" both are {liveness_port}"
        )
    return Options(
        namespaces=tuple(namespaces),
        liveness_port=liveness_port,
        metrics_port=metrics_port,
        log_format=log_format,
        verbose=given.boolean("verbose"),
        resync_seconds=_seconds(given),
        election=_election(given, environ),
    )


def _election(given: flags.Given, environ: Mapping[str, str]) -> leader.Election | None:
    if not given.boolean("leader-election"):
        return None
    names = ("lease-duration", "renew-deadline", "retry-period")
    timings = lease.Timings(*(_lease_seconds(given, name) for name in names))
    try:
        lease.check_timings(timings)
    except ValueError as error:
        message = str(error)
        for name in names:  # named as the user gave them
            message = message.replace(flags.BY_NAME[name].option, given.source(name))
        raise UsageError(message) from None
    namespace = (
        given.raw("leader-election-namespace")
        or environ.get("POD_NAMESPACE")
        or _read(NAMESPACE_FILE)
    )
    if not namespace:
        raise UsageError(
            "--leader-election-namespace is needed outside a pod (no POD_NAMESPACE variable"
            f" and no {NAMESPACE_FILE})"
        )
    name = given.raw("leader-election-id") or flags.BY_NAME["leader-election-id"].default
    if not _DNS_SUBDOMAIN.fullmatch(name):
        given.fail(
            "leader-election-id",
            "must be a Kubernetes object name (lower-case letters, digits, '-' and '.', at most"
            f" 253 characters), got {name!r}",
        )
    return leader.Election(namespace=namespace.strip(), name=name, timings=timings)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv, os.environ)
        preflight.check_kubernetes_configuration(os.environ)
        if options.liveness_port:
            preflight.check_port_free("liveness-port", options.liveness_port)
        if options.metrics_port:
            preflight.serve_metrics(options.metrics_port)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    kopf.configure(
        verbose=options.verbose,
        log_format=kopf.LogFormat.JSON if options.log_format == "json" else kopf.LogFormat.FULL,
    )
    try:
        asyncio.run(serve(options))
    except elected.LeadershipLostError as error:
        # As client-go controllers do: exit, and let Kubernetes restart us as a standby.
        print(f"{PROG}: {error}", file=sys.stderr)
        raise SystemExit(EXIT_LEADERSHIP_LOST) from None


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
        # The only replica: it leads from the end of kopf's start-up handlers (which need the
        # API) until kopf stops, not while it cannot start.
        started = asyncio.Event()
        leading = asyncio.create_task(_lead_once(started, ready_flag))  # before kopf: kept
        try:
            await _operate(options, stop_flag, started, liveness=options.liveness_port)
        finally:
            leading.cancel()
            metrics.LEADER.set(0)
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


async def _lead_once(started: asyncio.Event, ready_flag: Flag | None) -> None:
    await started.wait()
    metrics.LEADER.set(1)
    if ready_flag is not None:
        ready_flag.set()


async def _operate(
    options: Options, stop_flag: Flag | None, ready_flag: Flag | None, *, liveness: int
) -> None:
    memo = kopf.Memo(resync_seconds=options.resync_seconds, namespaces=options.namespaces)
    try:
        await kopf.operator(
            clusterwide=not options.namespaces,
            namespaces=options.namespaces,
            standalone=True,
            liveness_endpoint=f"http://0.0.0.0:{liveness}/healthz" if liveness else None,
            memo=memo,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    finally:
        # kopf runs the cleanup handler on a graceful stop only; after a failure or a
        # cancellation (leadership lost) the watches' sessions would be left open.
        await asyncio.shield(handlers.release(memo))


def _port(given: flags.Given, name: str) -> int:
    value = given.raw(name)
    if value is None:
        return int(flags.BY_NAME[name].default)
    if not value.isdigit() or int(value) > MAX_PORT:
        given.fail(name, f"must be a port between 0 (off) and {MAX_PORT}, got {value!r}")
    return int(value)


def _seconds(given: flags.Given) -> float:
    value = given.raw("resync-seconds")
    if value is None:
        return float(flags.BY_NAME["resync-seconds"].default)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= MAX_RESYNC_SECONDS:
        given.fail("resync-seconds", f"must be between 1 and {MAX_RESYNC_SECONDS:g}, got {value!r}")
    return seconds


def _lease_seconds(given: flags.Given, name: str) -> float:
    value = given.raw(name)
    if value is None:
        return float(flags.BY_NAME[name].default)
    try:
        seconds = float(value.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_LEASE_SECONDS:
        given.fail(
            name,
            f"must be a number of seconds above 0 and at most {MAX_LEASE_SECONDS:g}, got {value!r}",
        )
    return seconds


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError:
        return ""
