"""Strategic merge patch for built-in kinds, as kube-apiserver applies it (the common subset).

Maps merge (``null`` deletes); lists with a patch merge key merge item by item (``$patch:
delete`` removes one, ``$patch: replace`` replaces the list); ``finalizers`` merge as a set;
``$setElementOrder/<list>`` orders the result; ``$deleteFromPrimitiveList/<list>`` removes
values; ``$retainKeys`` keeps only the listed keys. Every other list is replaced, as the
Kubernetes types declare them atomic.
"""

import copy
from typing import Any

# field -> merge key, from the Kubernetes types' patchMergeKey tags.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "env": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "ownerReferences": "uid",
    "conditions": "type",
    "resourceClaims": "name",
}
PRIMITIVE_SETS = frozenset({"finalizers"})
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # a container's ports merge by containerPort, a Service's by port
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


def apply(original: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    orders = {k[len(_ORDER) :]: v for k, v in patch.items() if k.startswith(_ORDER)}
    for key, value in patch.items():
        if key.startswith("$"):
            if key.startswith(_DELETE_PRIMITIVE):
                field = key[len(_DELETE_PRIMITIVE) :]
                result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _list(key, result.get(key), value)
        else:
            result[key] = apply(result.get(key), value)
    if isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _ordered(field, result[field], order)
    return result


def _list(field: str, original: Any, patch: list[Any]) -> list[Any]:
    current = list(original) if isinstance(original, list) else []
    if field in PRIMITIVE_SETS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, patch + current)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy(patch)
    if any(i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "replace"]
    for item in patch:
        index = next((n for n, c in enumerate(current) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del current[index]
        elif index is None:
            current.append(apply({}, item))
        else:
            current[index] = apply(current[index], item)
    return current


def _ordered(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _merge_key(field, items)

    def rank(item: Any) -> int:
        wanted = item.get(key) if key and isinstance(item, dict) else item
        probe = [o.get(key) if key and isinstance(o, dict) else o for o in order]
        return probe.index(wanted) if wanted in probe else len(probe)

    return sorted(items, key=rank)
