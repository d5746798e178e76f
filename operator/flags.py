"""The operator's flags, each declared once: its help, its default and its variable.

Every flag can also be set as FLOWKEEPER_OPERATOR_<FLAG> (upper case, `-` as `_`); the command
line wins. ``--help`` is built from this table, so it shows each flag's default and variable; an
unknown FLOWKEEPER_OPERATOR_* variable is refused, listing the known ones; a bad value is
reported under the name it was given by: the flag, or the variable.
"""

import argparse
import re
from collections.abc import Mapping
from typing import NamedTuple, NoReturn

from flowkeeper.operator.leadership import lease

PROG = "flowkeeper-operator"
ENV_PREFIX = "FLOWKEEPER_OPERATOR_"


class UsageError(ValueError):
    """A bad flag or environment variable; the message names it and the allowed values."""


class Flag(NamedTuple):
    name: str  # the long option without its dashes
    help: str
    default: str  # as --help shows it; numeric defaults are parsed from it, so they agree
    metavar: str = ""  # "": a switch (true/false in its variable)
    short: str = ""
    repeatable: bool = False  # the variable then takes a comma-separated list
    negatable: bool = False  # --no-<name> too

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


def _seconds(value: float) -> str:
    return f"{value:g}"


FLAGS = (
    Flag(
        "all-namespaces", "watch every namespace", "true, unless --namespace is given", short="-A"
    ),
    Flag(
        "namespace",
        "watch only this namespace (repeatable, or comma-separated); excludes --all-namespaces",
        "all namespaces",
        metavar="NS",
        short="-n",
        repeatable=True,
    ),
    Flag("liveness-port", "serve /healthz on this port; 0 turns it off", "8080", metavar="PORT"),
    Flag("metrics-port", "serve /metrics on this port; 0 turns it off", "9090", metavar="PORT"),
    Flag("log-format", "plain, or json for log pipelines", "plain", metavar="FORMAT"),
    Flag("verbose", "debug logging", "false"),
    Flag(
        "resync-seconds",
        "period of the safety-net resync, 1..86400",
        "300",
        metavar="SECONDS",
    ),
    Flag(
        "leader-election",
        "take part in leader election, so several replicas can run (the chart turns it on"
        " when replicaCount > 1)",
        "false",
        negatable=True,
    ),
    Flag(
        "leader-election-namespace",
        "namespace of the Lease",
        "$POD_NAMESPACE, else the service account's namespace",
        metavar="NS",
    ),
    Flag("leader-election-id", "name of the Lease", "flowkeeper-operator", metavar="NAME"),
    Flag(
        "lease-duration",
        "how long a standby waits, after it last saw the Lease renewed, before it takes over",
        _seconds(lease.DEFAULT_TIMINGS.lease_duration),
        metavar="SECONDS",
    ),
    Flag(
        "renew-deadline",
        "how long the leader keeps failing to renew before it stops; below --lease-duration",
        _seconds(lease.DEFAULT_TIMINGS.renew_deadline),
        metavar="SECONDS",
    ),
    Flag(
        "retry-period",
        "time between two tries to acquire or renew; below --renew-deadline",
        _seconds(lease.DEFAULT_TIMINGS.retry_period),
        metavar="SECONDS",
    ),
)
BY_NAME = {flag.name: flag for flag in FLAGS}
_EXCLUSIVE = ("all-namespaces", "namespace")  # argparse refuses both on one command line
# Exit codes, for --help and the docs.
EPILOG = (
    "Exit codes: 0 stopped by SIGTERM or SIGINT; 1 lost the leader Lease (Kubernetes restarts"
    " the container as a standby); 2 bad usage (a flag, a variable, the Kubernetes"
    " configuration, a port in use)."
)
# Variables kubelet sets for each Service of the pod's namespace (service links), named after
# the Service: a Service `flowkeeper-operator-metrics` gives FLOWKEEPER_OPERATOR_METRICS_*.
# Rules from kubernetes pkg/kubelet/envvars/envvars.go (FromServices, makeLinkVariables):
# <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT[_<PORT NAME>], <SVC>_PORT=<proto>://<ip>:<port>,
# <SVC>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]. They are never flags, so never refused.
_SERVICE_LINK_NAME = re.compile(r".+_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT_\d+_(TCP|UDP|SCTP)\w*)")
_SERVICE_LINK_URL = re.compile(r"(tcp|udp|sctp)://\S+")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser(version: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Reconciles FlowCollector resources (flows.flowkeeper.dev) into collector"
        f" DaemonSets. Every flag can also be set as {ENV_PREFIX}<FLAG> (upper case, - as _;"
        " a list is comma-separated); the command line wins.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version}")
    scope = parser.add_mutually_exclusive_group()
    for flag in FLAGS:
        names = [flag.short, flag.option] if flag.short else [flag.option]
        add = scope.add_argument if flag.name in _EXCLUSIVE else parser.add_argument
        text = f"{flag.help} (default: {flag.default}; {flag.variable})".replace("%", "%%")
        if flag.negatable:
            add(*names, action=argparse.BooleanOptionalAction, help=text)
        elif not flag.metavar:
            add(*names, action="store_const", const="true", help=text)
        else:
            add(
                *names,
                metavar=flag.metavar,
                action="append" if flag.repeatable else "store",
                help=text,
            )
    return parser


def check_variables(environ: Mapping[str, str]) -> None:
    """Refuse a FLOWKEEPER_OPERATOR_* variable that is no flag's (a typo would be ignored)."""
    known = sorted(flag.variable for flag in FLAGS)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known or service_link(name, environ[name]):
            continue
        raise UsageError(f"unknown environment variable {name}; known: {', '.join(known)}")


def service_link(name: str, value: str) -> bool:
    """Whether kubelet could have set this variable for a Service (see the rules above)."""
    if _SERVICE_LINK_NAME.fullmatch(name):
        return True
    return name.endswith("_PORT") and bool(_SERVICE_LINK_URL.fullmatch(value))


class Given:
    """Each flag's value: from the command line, else its variable; ``None`` when neither."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self._args = args
        self._environ = environ

    def on_command_line(self, name: str) -> bool:
        return getattr(self._args, BY_NAME[name].dest) is not None

    def raw(self, name: str) -> str | None:
        flag = BY_NAME[name]
        value = getattr(self._args, flag.dest)
        if isinstance(value, list):
            return ",".join(value)
        if value is not None:
            return str(value)
        return self._environ.get(flag.variable)

    def source(self, name: str) -> str:
        """The name the value was given by: the flag, else its variable (when set)."""
        flag = BY_NAME[name]
        if self.on_command_line(name) or flag.variable not in self._environ:
            return flag.option
        return flag.variable

    def fail(self, name: str, problem: str) -> NoReturn:
        raise UsageError(f"{self.source(name)} {problem}")

    def boolean(self, name: str) -> bool:
        value = (self.raw(name) or "").strip().lower()
        if value in ("", "0", "false", "no", "off"):
            return False
        if value in ("1", "true", "yes", "on"):
            return True
        return self.fail(name, f"must be true or false, got {self.raw(name)!r}")
