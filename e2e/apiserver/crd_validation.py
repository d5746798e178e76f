"""The checks kube-apiserver makes of a CustomResourceDefinition before accepting it, so that a
CRD a real cluster refuses is refused here too.

Mirrors k8s.io/apiextensions-apiserver ``pkg/apis/apiextensions/validation/validation.go``
(``ValidateCustomResourceDefinitionOpenAPISchema``) and ``pkg/apiserver/schema`` (structural
schema invariants, default validation), v1.28-v1.33, for what a CRD author gets wrong:

* a name other than ``<plural>.<group>``, no ``plural`` or ``kind``, not exactly one storage
  version;
* a specified field without ``type`` (but under ``x-kubernetes-int-or-string`` or
  ``x-kubernetes-preserve-unknown-fields``): ``<path>.type: Required value: must not be empty
  for specified object fields``;
* ``uniqueItems: true`` (Forbidden, quadratic), ``properties`` with ``additionalProperties``
  (Forbidden, mutually exclusive), ``x-kubernetes-list-map-keys`` without
  ``x-kubernetes-list-type: map``;
* a ``default`` that its own schema refuses or prunes (``must not have unknown fields``);
* an ``x-kubernetes-validations`` rule cel-python cannot compile.

Paths are the real server's: ``spec.versions[0].schema.openAPIV3Schema.properties[spec]
.properties[listeners].items...``. Not checked: the many rarer invariants (``metadata``
beyond name/generateName, ``x-kubernetes-embedded-resource``, CEL cost budgets...).
"""

import copy
from typing import Any

from e2e.apiserver import cel, structural
from e2e.apiserver.structural import Cause, Schema

_UNTYPED_OK = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")


def validate(crd: dict[str, Any]) -> list[Cause]:
    """Every check of a CRD (apiextensions validation.go): its name, names, storage version,
    then its schemas."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[Cause] = []
    wanted = f"{names.get('plural', '')}.{spec.get('group', '')}"
    name = (crd.get("metadata") or {}).get("name", "")
    if name != wanted:
        causes.append(
            (
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append((f"spec.names.{key}", "FieldValueRequired", "Required value"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            (
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: null: must have exactly one version marked as storage version",
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            (
                "spec.versions",
                "FieldValueInvalid",
                f"Invalid value: {structural.go_value(versions)}: must have exactly one version"
                " marked as storage version",
            )
        )
    return causes + validate_schemas(crd)


def validate_schemas(crd: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for index, version in enumerate((crd.get("spec") or {}).get("versions") or []):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, dict):
            path = f"spec.versions[{index}].schema.openAPIV3Schema"
            causes += _node(schema, path, root=True)
    return causes


def _node(node: Schema, path: str, *, root: bool = False) -> list[Cause]:
    causes: list[Cause] = []
    if not node.get("type") and not any(node.get(k) for k in _UNTYPED_OK):
        causes.append(
            (
                f"{path}.type",
                "FieldValueRequired",
                "Required value: must not be empty for specified object fields",
            )
        )
    if node.get("uniqueItems"):
        causes.append(
            (
                f"{path}.uniqueItems",
                "FieldValueForbidden",
                "Forbidden: uniqueItems cannot be set to true since the runtime complexity"
                " becomes quadratic",
            )
        )
    if node.get("properties") and isinstance(node.get("additionalProperties"), dict):
        causes.append(
            (
                f"{path}.additionalProperties",
                "FieldValueForbidden",
                "Forbidden: additionalProperties and properties are mutual exclusive",
            )
        )
    if node.get("x-kubernetes-list-map-keys") and node.get("x-kubernetes-list-type") != "map":
        causes.append(
            (
                f"{path}.x-kubernetes-list-type",
                "FieldValueInvalid",
                f'Invalid value: "{node.get("x-kubernetes-list-type", "")}": must be map if'
                " x-kubernetes-list-map-keys is non-empty",
            )
        )
    if "default" in node and not root:
        causes += _default(node, path)
    for index, rule in enumerate(node.get("x-kubernetes-validations") or []):
        try:
            cel.program(str(rule.get("rule", "")))
        except Exception as error:  # noqa: BLE001 (any compile error of cel-python is the cause)
            causes.append(
                (
                    f"{path}.x-kubernetes-validations[{index}].rule",
                    "FieldValueInvalid",
                    f"Invalid value: {structural.go_value(rule.get('rule', ''))}: compilation"
                    f" failed: {error}",
                )
            )
    for name, child in (node.get("properties") or {}).items():
        if isinstance(child, dict):
            causes += _node(child, f"{path}.properties[{name}]")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            causes += _node(node[key], f"{path}.{key}")
    return causes


def _default(node: Schema, path: str) -> list[Cause]:
    """A default must survive pruning and validate against its own schema."""
    value = copy.deepcopy(node["default"])
    shown = structural.go_value(node["default"])
    if structural.prune(value, node, f"{path}.default"):
        return [
            (
                f"{path}.default",
                "FieldValueInvalid",
                f"Invalid value: {shown}: must not have unknown fields",
            )
        ]
    structural.default(value, node)
    return structural.validate(value, node, f"{path}.default")
