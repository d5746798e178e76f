"""The ServiceRadar flow-collector's config.json rules, and a check of a config against them.

The rules are data, `collector-config.schema.json` (package data next to this module): a JSON
Schema written from carverauto/serviceradar commit d8e67a9 (`rust/flow-collector/src/config.rs`,
struct `Config` and `Config::validate`, and the binds in `main.rs`/`metrics.rs`), each rule
citing its source. tests/operator/test_collector_schema.py proves it mirrors the Rust code.

This module adds what JSON Schema cannot say: Rust integers refuse JSON floats (`100.0`), the
`x-unique-by` keyword (validate's duplicate `listen_addr` check) and the `socket-address`
format (an address `UdpSocket::bind`/`TcpListener::bind` accept). Paths are config.json paths
(`("listeners", 0, "buffer_size")`); naming the spec field they come from is config.py's job.
Pure: no I/O beyond reading the package data once.
"""

import functools
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, NamedTuple

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

SCHEMA_FILE = "collector-config.schema.json"
SOURCE_COMMIT = "d8e67a9"  # carverauto/serviceradar, the collector release Flowkeeper targets

Path = tuple[str | int, ...]

_HOSTNAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


class Problem(NamedTuple):
    """One rule the config breaks: where (a config.json path) and what was expected."""

    path: Path
    expected: str
    got: str  # the offending value as JSON, "" when a key is missing


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def problems(config: Mapping[str, Any]) -> list[Problem]:
    """The rules of the collector's config that ``config`` breaks, one per path, in path order."""
    found: dict[Path, Problem] = {}
    for error in sorted(_validator().iter_errors(config), key=lambda e: e.json_path):
        problem = _problem(error)
        found.setdefault(problem.path, problem)
    return sorted(found.values(), key=lambda problem: [str(part) for part in problem.path])


def unknown_keys(config: Mapping[str, Any]) -> list[Path]:
    """Keys the collector does not read (serde ignores them: no struct denies unknown fields)."""
    return sorted(_unknown(config, schema(), ()), key=lambda path: [str(p) for p in path])


def socket_address(value: object) -> bool:
    """Whether Rust's ``ToSocketAddrs for &str`` (used by tokio's ``bind``) takes ``value``:
    ``<IPv4>:<port>``, ``[<IPv6>]:<port>`` or ``<host name>:<port>``, port a u16. Stricter
    than Rust only for forms Flowkeeper never writes (``+80``, unbracketed IPv6)."""
    if not isinstance(value, str):
        return True  # the type rule reports it
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        return False
    if host.startswith("[") and host.endswith("]"):
        return _is_ip(host[1:-1], ipaddress.IPv6Address)
    if re.fullmatch(r"[0-9.]+", host):
        return _is_ip(host, ipaddress.IPv4Address)
    return len(host) <= 253 and _HOSTNAME.fullmatch(host) is not None


def _is_ip(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _strict_integer(_checker: object, instance: object) -> bool:
    # serde_json gives a Rust integer only from an integer literal: 100.0 and true are refused.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _unique_by(
    validator: Any, key: str, instance: object, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    seen: dict[str, int] = {}
    item: object
    for index, item in enumerate(instance):
        if not isinstance(item, Mapping) or key not in item:
            continue
        value = json.dumps(item[key], sort_keys=True)
        if value in seen:
            yield ValidationError(
                f"a {key} not used by listeners[{seen[value]}]",
                path=[index, key],
                instance=item[key],
            )
        else:
            seen[value] = index


@functools.cache
def _validator() -> Any:
    checker = FormatChecker(formats=())
    checker.checks("socket-address")(socket_address)
    cls = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        {"x-unique-by": _unique_by},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
    )
    return cls(schema(), format_checker=checker)


def _problem(error: jsonschema.ValidationError) -> Problem:
    path: Path = tuple(error.absolute_path)
    node = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        key = missing.group(1) if missing else "?"
        return Problem((*path, key), "a value (the key is required)", "")
    if error.validator == "x-unique-by":
        return Problem(path, error.message, json.dumps(error.instance, ensure_ascii=False))
    expected = node.get("x-expected") or _ref_expected(node) or error.message
    return Problem(path, str(expected), json.dumps(error.instance, ensure_ascii=False))


def _ref_expected(node: Mapping[str, Any]) -> str | None:
    target = _resolve(node)
    return str(target["x-expected"]) if target is not node and "x-expected" in target else None


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Mapping[str, Any] = schema()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _properties(node: Mapping[str, Any], value: Mapping[str, Any]) -> dict[str, Any] | None:
    """The properties a schema node declares for ``value``, through $ref and the if/then of
    the listener variants; None when the node does not describe an object's keys."""
    parts: list[Mapping[str, Any]] = []
    if "properties" in node:
        parts.append(node["properties"])
    nested = [_resolve(node)] if "$ref" in node else []
    nested += [
        part["then"]
        for part in node.get("allOf", [])
        if "if" in part and _validator().evolve(schema=part["if"]).is_valid(value)
    ]
    for inner in nested:
        found = _properties(inner, value)
        if found is not None:
            parts.append(found)
    return {key: sub for part in parts for key, sub in part.items()} if parts else None


def _unknown(value: object, node: Mapping[str, Any], path: Path) -> list[Path]:
    if isinstance(value, Mapping):
        known = _properties(node, value)
        if known is None:
            return []
        found = [(*path, key) for key in value if key not in known]
        for key, sub in known.items():
            if key in value:
                found += _unknown(value[key], sub, (*path, key))
        return found
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = node.get("items") or _resolve(node).get("items")
        if not isinstance(items, Mapping):
            return []
        return [
            p for index, item in enumerate(value) for p in _unknown(item, items, (*path, index))
        ]
    return []
