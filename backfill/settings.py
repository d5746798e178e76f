"""Command line and environment to validated settings (pure: no I/O but reading named files).

Every flag can also be set as FLOWKEEPER_BACKFILL_<FLAG> (upper case, `-` as `_`); the command
line wins. Repeatable flags take a comma-separated list in their variable. Errors are one line
naming the flag, its variable and the allowed values. Whatever would fail later is checked
before anything is listed: the URL as the HTTP client parses it and that the allowlists leave
something to export (`parse_settings`), the files named by flags (`check_files`: readable,
the CA bundle loadable as one).
"""

import argparse
import importlib.metadata
import re
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, NoReturn
from urllib.parse import urlsplit

import requests
from flowkeeper.backfill.allowlist import Allowlist, parse_allowlist
from flowkeeper.backfill.encoder import REMOTE_WRITE_HEADERS
from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kinds import DEFAULT_RESOURCES, KINDS
from flowkeeper.backfill.sharding import UNSHARDED, Shard

PROG = "flowkeeper-backfill"
VERSION = importlib.metadata.version("flowkeeper")  # the one source: the package
ENV_PREFIX = "FLOWKEEPER_BACKFILL_"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Set by Kubernetes in each pod of an Indexed Job: the pod's completion index.
JOB_INDEX_ENV = "JOB_COMPLETION_INDEX"
MAX_SHARDS = 1000
DEFAULT_LABELS_ALLOWLIST = "*=[*]"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Settings(NamedTuple):
    remote_write_url: str
    resources: tuple[str, ...]
    labels_allowlist: Allowlist
    annotations_allowlist: Allowlist
    metric_prefix: str
    batch_size: int
    page_size: int
    external_labels: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    bearer_token_file: str
    basic_auth_username: str
    basic_auth_password_file: str
    ca_file: str
    dry_run: bool
    kubeconfig: str
    log_format: str
    timeout: float
    max_retry_seconds: float
    max_label_value_length: int
    max_labels_per_series: int
    shard: Shard = UNSHARDED
    progress_seconds: float = 10.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Send the labels and annotations of every Kubernetes object to a "
        "Prometheus remote-write receiver, as kube-state-metrics style series. "
        f"Every flag can be set as {ENV_PREFIX}<FLAG> (e.g. {ENV_PREFIX}BATCH_SIZE).",
        epilog="Exit codes: 0 every batch delivered; 1 some batch not delivered, a kind not "
        "listed or the receiver unavailable; 2 bad usage (flags, environment, kubeconfig); 130 "
        "stopped by SIGINT; 141 --dry-run output closed by its reader; 143 stopped by SIGTERM.",
    )
    add = parser.add_argument
    add("--version", action="version", version=f"{PROG} {VERSION}")
    add("--remote-write-url", metavar="URL", help="receiver endpoint (required unless --dry-run)")
    add(
        "--resources",
        metavar="LIST",
        help=f"kinds to list (default: {','.join(DEFAULT_RESOURCES)})",
    )
    add(
        "--metric-labels-allowlist",
        metavar="SPEC",
        help="labels to export, kube-state-metrics syntax; empty: none (default: *=[*])",
    )
    add(
        "--metric-annotations-allowlist",
        metavar="SPEC",
        help="annotations to export, same syntax (default: none)",
    )
    add("--metric-prefix", metavar="PREFIX", help="series name prefix (default: kube)")
    add(
        "--batch-size", metavar="N", help="series per remote-write request, 1..50000 (default: 500)"
    )
    add("--page-size", metavar="N", help="objects per LIST page, 1..10000 (default: 500)")
    add(
        "--external-label",
        metavar="K=V",
        action="append",
        help="label added to every series (repeatable)",
    )
    add(
        "--header",
        metavar="K=V",
        action="append",
        help="HTTP header sent to the receiver, e.g. X-Scope-OrgID=team (repeatable)",
    )
    add("--bearer-token-file", metavar="PATH", help="receiver bearer token")
    add(
        "--basic-auth-username",
        metavar="USER",
        help="receiver basic auth user (with --basic-auth-password-file)",
    )
    add("--basic-auth-password-file", metavar="PATH", help="receiver basic auth password")
    add("--ca-file", metavar="PATH", help="CA bundle to verify the receiver's certificate")
    add(
        "--dry-run",
        action="store_const",
        const="true",
        help="print the series in Prometheus text format instead of sending",
    )
    add(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)",
    )
    add("--log-format", metavar="FORMAT", help="plain or json (default: plain)")
    add("--timeout", metavar="SECONDS", help="per HTTP request, 0.1..3600 (default: 30)")
    add(
        "--max-retry-seconds",
        metavar="SECONDS",
        help="time spent waiting between retries of one request (API or receiver) before "
        "giving up, 0..86400 (default: 120)",
    )
    add(
        "--progress-seconds",
        metavar="SECONDS",
        help="log progress (objects, pages, objects/s) this often, 0 = never, 0..3600 "
        "(default: 10)",
    )
    add(
        "--shard-count",
        metavar="N",
        help=f"split the objects into N shards by uid, 1..{MAX_SHARDS} (default: 1)",
    )
    add(
        "--shard-index",
        metavar="I",
        help=f"the shard this run sends, 0..N-1 (default: {JOB_INDEX_ENV}, else 0)",
    )
    add(
        "--max-label-value-length",
        metavar="BYTES",
        help="cut longer label values (UTF-8 bytes), 0 = no limit, 0..1048576 (default: 2048)",
    )
    add(
        "--max-labels-per-series",
        metavar="N",
        help="keep identity labels and the first other labels up to N per series (incl. "
        "__name__), 0 = no limit (default: 0)",
    )
    return parser


def parse_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    parser = build_parser()
    args = vars(parser.parse_args(list(argv)))
    known = {f"{ENV_PREFIX}{name.upper()}" for name in args}
    unknown = sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)
    if unknown:
        raise UsageError(
            f"unknown environment variable {unknown[0]}; known: {', '.join(sorted(known))}"
        )
    values = _Values(args, environ)

    dry_run = values.boolean("dry_run")
    url = _remote_write_url(values, dry_run=dry_run)
    resources = tuple(_split(values.text("resources") or ",".join(DEFAULT_RESOURCES)))
    for resource in resources:
        if resource not in KINDS:
            values.fail("resources", f"unknown resource {resource!r}; allowed: {', '.join(KINDS)}")
    if not resources or len(set(resources)) != len(resources):
        values.fail("resources", "must list each resource once, at least one")

    prefix = values.text("metric_prefix", "kube")
    if not _METRIC_PREFIX.fullmatch(prefix):
        values.fail("metric_prefix", f"must match [a-zA-Z_:][a-zA-Z0-9_:]*, got {prefix!r}")

    username = values.text("basic_auth_username")
    password_file = values.text("basic_auth_password_file")
    if bool(username) != bool(password_file):
        values.fail("basic_auth_username", "and --basic-auth-password-file go together")
    bearer = values.text("bearer_token_file")
    if bearer and username:
        values.fail("bearer_token_file", "cannot be combined with basic auth")
    headers = _headers(values, has_auth=bool(bearer or username))

    external = _external_labels(values, resources)
    max_labels = int(values.number("max_labels_per_series", 0, 0, 10_000, integer=True))
    needed = 1 + len(external) + max(len(KINDS[r].identity) for r in resources)
    if 0 < max_labels < needed:
        values.fail(
            "max_labels_per_series",
            f"must be 0 or at least {needed} (__name__, identity and external labels), "
            f"got {max_labels}",
        )

    log_format = values.text("log_format", "plain")
    if log_format not in {"plain", "json"}:
        values.fail("log_format", f"must be plain or json, got {log_format!r}")

    labels, annotations = _allowlists(values, resources)

    return Settings(
        remote_write_url=url,
        resources=resources,
        labels_allowlist=labels,
        annotations_allowlist=annotations,
        metric_prefix=prefix,
        batch_size=int(values.number("batch_size", 500, 1, 50_000, integer=True)),
        page_size=int(values.number("page_size", 500, 1, 10_000, integer=True)),
        external_labels=external,
        headers=headers,
        bearer_token_file=bearer,
        basic_auth_username=username,
        basic_auth_password_file=password_file,
        ca_file=values.text("ca_file"),
        dry_run=dry_run,
        kubeconfig=values.text("kubeconfig"),
        log_format=log_format,
        timeout=values.number("timeout", 30, 0.1, 3600),
        max_retry_seconds=values.number("max_retry_seconds", 120, 0, 86_400),
        shard=_shard(values, environ),
        max_label_value_length=int(
            values.number("max_label_value_length", 2048, 0, 1 << 20, integer=True)
        ),
        max_labels_per_series=max_labels,
        progress_seconds=values.number("progress_seconds", 10, 0, 3600),
    )


def _remote_write_url(values: "_Values", *, dry_run: bool) -> str:
    url = values.text("remote_write_url")
    if url:
        problem = url_problem(url)
        if problem:
            values.fail(
                "remote_write_url", f"must be an http:// or https:// URL ({problem}), got {url!r}"
            )
    elif not dry_run:
        values.fail("remote_write_url", "is required unless --dry-run is set")
    return url


def _allowlists(values: "_Values", resources: Sequence[str]) -> tuple[Allowlist, Allowlist]:
    # An empty list means no keys, as in kube-state-metrics: `--metric-labels-allowlist ''`
    # exports no labels (the default, when the flag is not given, is every label).
    labels = values.allowlist("metric_labels_allowlist", DEFAULT_LABELS_ALLOWLIST)
    annotations = values.allowlist("metric_annotations_allowlist", "")
    if not any(labels.for_kind(r).emits or annotations.for_kind(r).emits for r in resources):
        values.fail(
            "metric_labels_allowlist",
            f"and --metric-annotations-allowlist ({ENV_PREFIX}METRIC_ANNOTATIONS_ALLOWLIST) "
            f"give no series for any kind of --resources ({', '.join(resources)}): the run "
            "would export nothing",
        )
    return labels, annotations


def check_files(settings: Settings) -> None:
    """The files the flags name, read at start-up rather than at the first request: a
    UsageError names the flag of one that cannot be read (or, the CA bundle, loaded)."""
    for dest in ("bearer_token_file", "basic_auth_password_file"):
        if path := getattr(settings, dest):
            read_secret(dest, path)
    if settings.ca_file:
        _check_ca_file(settings.ca_file)


def url_problem(url: str) -> str:
    """Why the HTTP client would refuse `url` at the first request, or "" (a port that is not
    a number, an unclosed IPv6 bracket, no host...)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is what raises)
    except ValueError as error:
        return str(error)
    if parts.scheme not in {"http", "https"}:
        return "the scheme must be http or https"
    if not parts.hostname:
        return "no host"
    try:
        requests.Request("POST", url).prepare()
    except requests.RequestException as error:
        return str(error)
    return ""


def _flag(dest: str) -> str:
    return f"--{dest.replace('_', '-')} ({ENV_PREFIX}{dest.upper()})"


def read_secret(dest: str, path: str) -> str:
    """The content of the file a flag names; a UsageError naming the flag if unreadable."""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{_flag(dest)} cannot read {path!r}: {reason}") from None


def _check_ca_file(path: str) -> None:
    """Loaded as TLS would load it at the first request, now."""
    read_secret("ca_file", path)
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError) as error:
        raise UsageError(
            f"{_flag('ca_file')} {path!r} is not a PEM bundle of CA certificates ({error})"
        ) from None


def _shard(values: "_Values", environ: Mapping[str, str]) -> Shard:
    count = int(values.number("shard_count", 1, 1, MAX_SHARDS, integer=True))
    if values.raw("shard_index") is None and environ.get(JOB_INDEX_ENV, "").strip():
        text = environ[JOB_INDEX_ENV].strip()
        if not text.isdigit() or int(text) >= count:
            values.fail(
                "shard_index",
                f"defaults to {JOB_INDEX_ENV}, which must be an integer in 0..{count - 1} "
                f"(one less than --shard-count), got {text!r}",
            )
        return Shard(int(text), count)
    index = int(values.number("shard_index", 0, 0, count - 1, integer=True))
    return Shard(index, count)


class _Values:
    """Flag value, else environment variable, else default; errors name both."""

    def __init__(self, args: dict[str, object], environ: Mapping[str, str]) -> None:
        self._args = args
        self._environ = environ

    def fail(self, dest: str, problem: str) -> NoReturn:
        raise UsageError(f"{_flag(dest)} {problem}")

    def raw(self, dest: str) -> str | None:
        value = self._args.get(dest)
        if value is not None:
            return str(value)
        return self._environ.get(f"{ENV_PREFIX}{dest.upper()}")

    def items(self, dest: str) -> list[str]:
        """A repeatable flag: one item per use, so values may hold commas; the environment
        variable has a single value, so there the items are comma-separated."""
        value = self._args.get(dest)
        if isinstance(value, list):
            return [str(item).strip() for item in value if str(item).strip()]
        return _split(self.text(dest))

    def text(self, dest: str, default: str = "") -> str:
        value = self.raw(dest)
        return default if value is None else value.strip()

    def boolean(self, dest: str) -> bool:
        value = self.text(dest).lower()
        if value not in _TRUE | _FALSE:
            self.fail(dest, f"must be true or false, got {value!r}")
        return value in _TRUE

    def number(
        self, dest: str, default: float, low: float, high: float, *, integer: bool = False
    ) -> float:
        text = self.text(dest)
        if not text:
            return default
        problem = (
            f"must be {'an integer' if integer else 'a number'} in {_bound(low)}..{_bound(high)}"
        )
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            self.fail(dest, f"{problem}, got {text!r}")
        if not low <= value <= high:
            self.fail(dest, f"{problem}, got {text!r}")
        return value

    def allowlist(self, dest: str, default: str) -> Allowlist:
        return parse_allowlist(_flag(dest), self.text(dest, default))


def _bound(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _pairs(values: _Values, dest: str) -> list[tuple[str, str]]:
    pairs = []
    for item in values.items(dest):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            values.fail(dest, f"must look like NAME=VALUE, got {item!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _external_labels(values: _Values, resources: Sequence[str]) -> tuple[tuple[str, str], ...]:
    reserved = {"namespace", "uid", "shard"} | {
        label for r in resources for label in KINDS[r].identity_labels
    }
    seen: set[str] = set()
    for name, _ in (pairs := _pairs(values, "external_label")):
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            values.fail(
                "external_label",
                f"name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]* without a leading __",
            )
        if name in reserved or name.startswith(("label_", "annotation_")):
            values.fail(
                "external_label",
                f"name {name!r} is taken by an identity label ({', '.join(sorted(reserved))}) "
                "or label_*, annotation_*",
            )
        if name in seen:
            values.fail("external_label", f"name {name!r} is given twice")
        seen.add(name)
    return tuple(pairs)


def _headers(values: _Values, *, has_auth: bool) -> tuple[tuple[str, str], ...]:
    protocol = {name.lower() for name in REMOTE_WRITE_HEADERS} | {"user-agent", "content-length"}
    pairs = _pairs(values, "header")
    for name, _ in pairs:
        if not _HEADER_NAME.fullmatch(name):
            values.fail("header", f"name {name!r} is not a valid HTTP header name")
        if name.lower() in protocol:
            values.fail(
                "header", f"{name} is set by the remote-write protocol and cannot be changed"
            )
        if name.lower() == "authorization" and has_auth:
            values.fail(
                "header", "Authorization cannot be combined with --bearer-token-file or basic auth"
            )
    return tuple(pairs)
