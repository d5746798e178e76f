"""Media types, as kube-apiserver negotiates them: what a request body may be encoded as, and
what form of an object a reader asks for (the object itself, a ``Table``, or only metadata).

Source: k8s.io/apiserver/pkg/endpoints/handlers/negotiation (``NegotiateInputSerializer``,
``NegotiateOutputMediaType``) and handlers/rest.go (``targetEncodingForTransform``).
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import yaml

from e2e.apiserver.errors import ApiError

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
# What the emulator decodes a POST/PUT/DELETE body from; protobuf too for the kinds protobuf.py
# decodes. kube-apiserver takes protobuf for every built-in kind and, with the CBOR feature,
# application/cbor.
BODY_TYPES = (JSON, YAML)
META_GROUP = "meta.k8s.io"
# Forms of an answer other than the object itself (for a single object, for a LIST), served in
# meta.k8s.io v1 and v1beta1.
TRANSFORMS = {
    False: ("Table", "PartialObjectMetadata"),
    True: ("Table", "PartialObjectMetadataList"),
}
META_VERSIONS = ("v1", "v1beta1")


class Target(NamedTuple):
    """What to answer with: ``as_`` is "" for the object (or list) itself, else "Table" or
    "PartialObjectMetadata" in meta.k8s.io/``version``."""

    as_: str = ""
    version: str = ""

    @property
    def api_version(self) -> str:
        return f"{META_GROUP}/{self.version}"


def parse(header: str) -> list[tuple[str, dict[str, str]]]:
    """A comma-separated media type list, each as (type/subtype, parameters), in order."""
    ranges = []
    for item in header.split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        if not kind:
            continue
        values = dict(p.split("=", 1) for p in params if "=" in p)
        ranges.append((kind.lower(), {k.strip(): v.strip() for k, v in values.items()}))
    return ranges


def header(headers: Mapping[str, str], name: str) -> str:
    """A request header's first value, by case-insensitive name ("" when absent)."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def media_type(content_type: str) -> str:
    """A Content-Type's media type without its parameters, lower-cased."""
    return content_type.split(";", 1)[0].strip().lower()


def is_protobuf(method: str, content_type: str, body: bytes) -> bool:
    """A POST/PUT/DELETE body in protobuf (see protobuf.py for the kinds decoded)."""
    return (
        method in ("POST", "PUT", "DELETE") and bool(body) and media_type(content_type) == PROTOBUF
    )


def check_body(method: str, content_type: str, body: bytes) -> None:
    """415 for a POST/PUT/DELETE body the emulator cannot decode (PATCH bodies are checked by
    patch type in objects.apply_patch)."""
    if method not in ("POST", "PUT", "DELETE") or not body:
        return
    if media_type(content_type) in ("", *BODY_TYPES):
        return
    raise unsupported()


def unsupported() -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(BODY_TYPES),
    )


def target(headers: Mapping[str, str], *, listing: bool = False) -> Target:
    """The first form in the Accept header the emulator serves (406 when none is). A LIST
    takes ``as=PartialObjectMetadataList``, a GET or WATCH ``as=PartialObjectMetadata``."""
    accept = header(headers, "Accept")
    if not accept.strip():
        return Target()
    for kind, params in parse(accept):
        if kind in ("*/*", "application/*", JSON):
            wanted = params.get("as", "")
            if not wanted:
                return Target()
            if (
                params.get("g") == META_GROUP
                and params.get("v") in META_VERSIONS
                and wanted in TRANSFORMS[listing]
            ):
                return Target(wanted.removesuffix("List"), params["v"])
    raise ApiError(
        406,
        f"only the following media types are accepted: {JSON}, "
        f"{JSON};as=Table;v=v1;g={META_GROUP}, {JSON};as=PartialObjectMetadata;v=v1;g={META_GROUP}",
    )


def decode(content_type: str, body: bytes, parsed: object) -> object:
    """The request body as data: kmock parsed JSON already; YAML is parsed here."""
    if media_type(content_type) == YAML and body:
        return load_yaml(body)
    return parsed


def load_yaml(body: str | bytes, failure: str = "the body of the request is not valid YAML") -> Any:
    """A YAML (or JSON) body as data; 400 ``<failure>: <the parser's error>`` otherwise."""
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as error:
        raise ApiError(400, f"{failure}: {error}") from error
