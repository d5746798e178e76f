"""Label and annotation allowlists in kube-state-metrics syntax: `pods=[app,team],*=[*]`.

Parsing and matching follow KSM v2.20 (`pkg/options/types.go`, `internal/store/builder.go`,
`createPrometheusLabelKeysValues` in `internal/store/utils.go`):

* `*` allows every key only as the *first* entry of a list; elsewhere in a list it is ignored.
* A `*` inside a key is a wildcard (`app.kubernetes.io/*`); a key with more than one `*` is an
  error.
* The resource `*` applies its list to every kind and overrides the per-kind entries.
* A resource listed twice: the last entry wins. `kind=[]` is allowed and means no keys.
* A kind whose list is empty (or absent, with no `*` resource) gets no series at all.
* An unknown resource is an error naming it.

One departure, listed in docs/backfill.md: spaces around `=`, `[`, `]` and `,` are tolerated.
"""

import re
from collections.abc import Mapping
from typing import NamedTuple

from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kinds import KINDS

WILDCARD = "*"
MAX_WILDCARDS_PER_KEY = 1
_ENTRY = re.compile(r"\s*([^=\[\],\s]+)\s*=\s*\[([^\[\]]*)\]\s*(?:,|$)")
_KEY = re.compile(r"[A-Za-z0-9*][A-Za-z0-9._/*-]*")


class KeyFilter(NamedTuple):
    """The allowlist of one kind, in the order given: which keys pass, and whether the
    kind's family is emitted at all (KSM emits no series for an empty list)."""

    keys: tuple[str, ...]
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    @property
    def emits(self) -> bool:
        return bool(self.keys)

    @property
    def allow_all(self) -> bool:
        return bool(self.keys) and self.keys[0] == WILDCARD

    def select(self, mapping: Mapping[str, str]) -> Mapping[str, str]:
        if self.allow_all:
            return mapping
        if not self.patterns:
            return {key: value for key, value in mapping.items() if key in self.exact}
        return {
            key: value
            for key, value in mapping.items()
            if key in self.exact or any(p.fullmatch(key) for p in self.patterns)
        }


def key_filter(keys: tuple[str, ...]) -> KeyFilter:
    exact = frozenset(key for key in keys if WILDCARD not in key)
    patterns = tuple(
        re.compile(".*".join(re.escape(part) for part in key.split(WILDCARD)))
        for key in keys
        if WILDCARD in key and key != WILDCARD
    )
    return KeyFilter(keys=keys, exact=exact, patterns=patterns)


NOTHING = key_filter(())


class Allowlist(NamedTuple):
    by_resource: Mapping[str, KeyFilter]

    def for_kind(self, plural: str) -> KeyFilter:
        # KSM: "*" takes precedence over every per-resource entry.
        if WILDCARD in self.by_resource:
            return self.by_resource[WILDCARD]
        return self.by_resource.get(plural, NOTHING)


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
        entries[resource] = key_filter(_keys(flag, resource, keys))  # the last one wins
        position = match.end()
    if text.endswith(","):
        raise UsageError(f"{flag}: trailing comma in {text!r}")
    return Allowlist(entries)


def _keys(flag: str, resource: str, keys_text: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in keys_text.split(",")) if keys_text.strip() else ()
    for key in keys:
        if not _KEY.fullmatch(key):
            raise UsageError(
                f"{flag}: invalid key {key!r} for {resource!r}; keys use letters, digits, "
                "'.', '_', '-', '/' and the wildcard '*'"
            )
        if key.count(WILDCARD) > MAX_WILDCARDS_PER_KEY:
            raise UsageError(
                f"{flag}: key {key!r} for {resource!r} has more than one '*'; "
                "only one wildcard per key is allowed"
            )
    return keys
