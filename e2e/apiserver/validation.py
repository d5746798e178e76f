"""Field validation kube-apiserver applies to every write (422), the part a controller that
derives names and ports from user input can run into.

* object names: DNS-1123 subdomains (253), DNS-1123 labels for Namespaces (63), DNS-1035
  labels for Services (63, starting with a letter);
* label keys (optional DNS-subdomain prefix, name of at most 63) and values (at most 63);
* container port names: IANA service names (at most 15, a letter, no "--"), unique per pod;
* Service ports: names are DNS-1123 labels, required and unique when there are several;
* ConfigMap keys (``[-._a-zA-Z0-9]+``) and total size (1 MiB).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from e2e.apiserver.resources import Resource

Cause = tuple[str, str]
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_QUALIFIED_TEXT = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an"
    " alphanumeric character"
)
_DNS1123_LABEL_TEXT = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and"
    " must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex"
    " used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1123_SUBDOMAIN_TEXT = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
    " for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_DNS1035_LABEL_TEXT = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an"
    " alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or"
    " 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def validate(resource: Resource, obj: dict[str, Any]) -> list[Cause]:
    metadata = obj.get("metadata") or {}
    causes = list(_name(resource.kind, str(metadata.get("name", ""))))
    causes += _labels(metadata.get("labels") or {})
    if resource.kind == "Service":
        causes += _service_ports((obj.get("spec") or {}).get("ports") or [])
    elif resource.kind == "ConfigMap":
        causes += _config_map(obj)
    for path, pod in _pod_specs(obj):
        causes += _container_ports(path, pod)
    return causes


def _name(kind: str, name: str) -> Iterator[Cause]:
    field, shown = "metadata.name", f'Invalid value: "{name}"'
    if kind == "Service":
        limit, pattern, text = 63, _DNS1035_LABEL, _DNS1035_LABEL_TEXT
    elif kind == "Namespace":
        limit, pattern, text = 63, _DNS1123_LABEL, _DNS1123_LABEL_TEXT
    else:
        limit, pattern, text = 253, _DNS1123_SUBDOMAIN, _DNS1123_SUBDOMAIN_TEXT
    if len(name) > limit:
        yield field, f"{shown}: must be no more than {limit} characters"
    if not pattern.match(name):
        yield field, f"{shown}: {text}"


def _labels(labels: dict[str, Any]) -> Iterator[Cause]:
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix))) or not (
            len(name) <= 63 and _QUALIFIED_NAME.match(name)
        ):
            yield (
                "metadata.labels",
                f'Invalid value: "{key}": name part {_QUALIFIED_TEXT}',
            )
        text = str(value)
        if len(text) > 63:
            yield "metadata.labels", f'Invalid value: "{text}": must be no more than 63 characters'
        elif text and not _QUALIFIED_NAME.match(text):
            yield (
                "metadata.labels",
                f'Invalid value: "{text}": a valid label must be an empty string or'
                f" {_QUALIFIED_TEXT.removeprefix('must ')}",
            )


def _pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = obj.get("spec") or {}
    if isinstance(spec.get("containers"), list):
        yield "spec", spec
    template = spec.get("template") or {}
    if isinstance((template.get("spec") or {}).get("containers"), list):
        yield "spec.template.spec", template["spec"]


def _container_ports(path: str, pod: dict[str, Any]) -> Iterator[Cause]:
    seen: set[str] = set()
    for c, container in enumerate(pod.get("containers") or []):
        for p, port in enumerate(container.get("ports") or []):
            name = port.get("name")
            if not name:
                continue
            field = f"{path}.containers[{c}].ports[{p}].name"
            if len(name) > 15:
                yield field, f'Invalid value: "{name}": must be no more than 15 characters'
            elif not _IANA_SVC_NAME.match(name) or "--" in name or not re.search("[a-z]", name):
                yield (
                    field,
                    f'Invalid value: "{name}": must contain only alpha-numeric characters'
                    " (a-z, 0-9), and hyphens (-)",
                )
            if name in seen:
                yield field, f'Duplicate value: "{name}"'
            seen.add(name)


def _service_ports(ports: list[Any]) -> Iterator[Cause]:
    seen: set[str] = set()
    for p, port in enumerate(ports):
        name, field = port.get("name", ""), f"spec.ports[{p}].name"
        if not name:
            if len(ports) > 1:
                yield field, "Required value"
            continue
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            yield field, f'Invalid value: "{name}": {_DNS1123_LABEL_TEXT}'
        if name in seen:
            yield field, f'Duplicate value: "{name}"'
        seen.add(name)


def _config_map(obj: dict[str, Any]) -> Iterator[Cause]:
    size = 0
    for section in ("data", "binaryData"):
        for key, value in (obj.get(section) or {}).items():
            if not _CONFIG_KEY.match(key):
                yield (
                    f"{section}[{key}]",
                    f'Invalid value: "{key}": a valid config key must consist of alphanumeric'
                    " characters, '-', '_' or '.'",
                )
            size += len(key) + len(value if isinstance(value, str) else json.dumps(value))
    if size > 1024 * 1024:
        yield "[]", "Too long: must have at most 1048576 bytes"
