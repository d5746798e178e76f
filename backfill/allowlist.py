"""Label and annotation allowlists in kube-state-metrics syntax: `pods=[app,team],*=[*]`.

A resource entry lists Kubernetes keys; `*` alone allows every key, and a `*` inside a key is
a wildcard (`app.kubernetes.io/*`). The resource `*` applies to every kind without an entry of
its own; a kind with no entry exports no keys (only its identity labels).
"""

import re
from collections.abc import Mapping
from typing import NamedTuple

from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kinds import KINDS

WILDCARD = "*"
_ENTRY = re.compile(r"\s*([^=\[\],\s]+)\s*=\s*\[([^\[\]]*)\]\s*(?:,|$)")
_KEY = re.compile(r"[A-Za-z0-9*][A-Za-z0-9._/*-]*")


class KeyFilter(NamedTuple):
    """Which keys of one kind pass: all of them, or the exact ones plus the patterns."""

    allow_all: bool
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    def select(self, mapping: Mapping[str, str]) -> Mapping[str, str]:
        if self.allow_all:
            return mapping
        if not self.exact and not self.patterns:
            return {}
        return {
            key: value
            for key, value in mapping.items()
            if key in self.exact or any(p.fullmatch(key) for p in self.patterns)
        }


NOTHING = KeyFilter(allow_all=False, exact=frozenset(), patterns=())


class Allowlist(NamedTuple):
    by_resource: Mapping[str, KeyFilter]

    def for_kind(self, plural: str) -> KeyFilter:
        if plural in self.by_resource:
            return self.by_resource[plural]
        return self.by_resource.get(WILDCARD, NOTHING)


def parse_allowlist(flag: str, text: str) -> Allowlist:
    """Parse `text`; a UsageError names `flag` and the offending part."""
    entries: dict[str, KeyFilter] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _ENTRY.match(text, position)
        if match is None:
            raise UsageError(
                f"{flag}: cannot parse {text[position:]!r}; "
                "expected resource=[key,...] entries separated by commas, e.g. pods=[app,team]"
            )
        resource, keys = match.group(1), match.group(2)
        if resource != WILDCARD and resource not in KINDS:
            raise UsageError(
                f"{flag}: unknown resource {resource!r}; allowed: * or {', '.join(KINDS)}"
            )
        if resource in entries:
            raise UsageError(f"{flag}: resource {resource!r} is listed twice")
        entries[resource] = _key_filter(flag, resource, keys)
        position = match.end()
    if text.endswith(","):
        raise UsageError(f"{flag}: trailing comma in {text!r}")
    return Allowlist(entries)


def _key_filter(flag: str, resource: str, keys_text: str) -> KeyFilter:
    keys = [key.strip() for key in keys_text.split(",")] if keys_text.strip() else []
    for key in keys:
        if not _KEY.fullmatch(key):
            raise UsageError(
                f"{flag}: invalid key {key!r} for {resource!r}; keys use letters, digits, "
                "'.', '_', '-', '/' and the wildcard '*'"
            )
    if WILDCARD in keys:
        return KeyFilter(allow_all=True, exact=frozenset(), patterns=())
    exact = frozenset(key for key in keys if WILDCARD not in key)
    patterns = tuple(
        re.compile(".*".join(re.escape(part) for part in key.split(WILDCARD)))
        for key in keys
        if WILDCARD in key
    )
    return KeyFilter(allow_all=False, exact=exact, patterns=patterns)
