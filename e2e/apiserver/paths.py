"""kmock's URL parsing, fixed for the core group's namespaces."""

import re

from kmock._internal import parsing

_NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?(?:/(status|finalize))?/?$")
_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock reads /api/v1/namespaces[/NAME] as a namespace prefix with no resource (and fails
    on the bare list), so namespaces could not be listed, fetched or created."""
    match = _NAMESPACE_PATH.match(path)
    if match is None:
        return _kmock_parse_path(path)
    name, subresource = match.groups()
    return parsing.ParsedPath("", "v1", "namespaces", None, name, subresource)


def install() -> None:
    """Make kmock parse request paths with the fix (idempotent)."""
    parsing.parse_path = _parse_path
