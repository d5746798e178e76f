"""Field management: who owns which fields of an object (``metadata.managedFields``).

Mirrors kube-apiserver's field manager (k8s.io/apiserver ``pkg/endpoints/handlers/
fieldmanager`` and k8s.io/apimachinery ``pkg/util/managedfields/internal``) over
sigs.k8s.io/structured-merge-diff's ``merge.Updater``, as documented in
https://kubernetes.io/docs/reference/using-api/server-side-apply/ :

* an entry per manager, operation (``Apply``/``Update``) and subresource: ``{manager,
  operation, apiVersion, time, fieldsType: FieldsV1, fieldsV1, subresource?}``, sorted Apply
  first, then by time, manager, apiVersion, subresource (``sortEncodedManagedFields``);
* the fields never recorded (``stripMeta``): apiVersion, kind, metadata itself and its name,
  namespace, creationTimestamp, selfLink, uid, clusterName, generation, managedFields and
  resourceVersion;
* an **Update** (create, PUT, merge/JSON/strategic patch) owns what it added or changed; every
  other manager loses those fields and whatever was removed; the writer's time is set only when
  it changed something. The manager is ``?fieldManager=`` or the User-Agent up to its first ``/``
  (``prefixFromUserAgent``). A write that sends non-empty managedFields on the main endpoint
  replaces them (``[{}]`` clears them); otherwise the live ones are kept;
* an **Apply** owns exactly the fields of its configuration (``applying.py``);
* a write that changes nothing but timestamps keeps the old ones, so it stays a no-op
  (``IgnoreManagedFieldsTimestampsTransformer``);
* past 10 Update entries, the oldest are merged into one ``ancient-changes`` entry
  (``capManagersManager``).

A create is compared against the empty object of its kind: for built-in kinds, Go's empty
struct already holds the non-pointer struct fields (``metadata``, ``spec``, ``status``,
``template``, a pod template's ``spec``, ``strategy``/``updateStrategy``, a container's
``resources``) and, as null, the lists and maps without ``omitempty`` (``containers``), so
those get no ``.`` entry of their own, as on a real server.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from e2e.apiserver import fieldpath, listtypes, objects, structured
from e2e.apiserver.fieldpath import FieldSet
from e2e.apiserver.listtypes import Schema

APPLY, UPDATE = "Apply", "Update"
STRIPPED_METADATA = frozenset(
    {
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    }
)
VALUE_STRUCTS = frozenset(
    {"metadata", "spec", "status", "template", "strategy", "updateStrategy", "resources"}
)
MAX_MANAGER_LENGTH = 128
MAX_UPDATE_MANAGERS = 10  # DefaultMaxUpdateManagers
ANCIENT_CHANGES = "ancient-changes"


class Identity(NamedTuple):
    manager: str
    operation: str
    subresource: str


class Entry(NamedTuple):
    fields: FieldSet
    time: str
    api_version: str
    same_fields: bool = False  # the fields of the live entry: its fieldsV1 is reused


Managers = dict[Identity, Entry]


def manager_of(field_manager: str | None, user_agent: str) -> str:
    """``?fieldManager=``, else the User-Agent's prefix before ``/`` (printable, 128 bytes)."""
    if field_manager:
        return field_manager
    printable = "".join(c for c in user_agent.split("/", 1)[0] if c.isprintable())
    return printable.encode()[:MAX_MANAGER_LENGTH].decode(errors="ignore")


def decode(entries: Any) -> Managers:
    managers: Managers = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("operation"):
            continue
        identity = Identity(
            str(entry.get("manager", "")), str(entry["operation"]), entry.get("subresource", "")
        )
        managers[identity] = Entry(
            fieldpath.decode(entry.get("fieldsV1")),
            str(entry.get("time", "")),
            str(entry.get("apiVersion", "")),
            same_fields=True,
        )
    return managers


def _reused(managers: Managers, before: Any) -> dict[Identity, dict[str, Any]]:
    """The live entries whose fields did not change, to emit their fieldsV1 as they were."""
    reused = {}
    for entry in before if isinstance(before, list) else []:
        if not isinstance(entry, dict) or not entry.get("operation"):
            continue
        identity = Identity(
            str(entry.get("manager", "")), str(entry["operation"]), entry.get("subresource", "")
        )
        kept = managers.get(identity)
        if kept is not None and kept.same_fields:
            reused[identity] = entry
    return reused


def encode(managers: Managers, before: Any = None) -> list[dict[str, Any]]:
    def order(item: tuple[Identity, Entry]) -> tuple[str, str, str, str, str]:
        identity, entry = item
        return (identity.operation, entry.time, identity.manager, entry.api_version,
                identity.subresource)  # fmt: skip

    reused = _reused(managers, before)
    encoded = []
    for identity, entry in sorted(managers.items(), key=order):
        live = reused.get(identity)
        if live is not None and (live.get("time", ""), live.get("apiVersion")) == (
            entry.time,
            entry.api_version,
        ):
            encoded.append(live)
            continue
        item: dict[str, Any] = {"manager": identity.manager, "operation": identity.operation}
        item["apiVersion"] = entry.api_version
        if entry.time:
            item["time"] = entry.time
        fields_v1 = live["fieldsV1"] if live is not None else fieldpath.encode(entry.fields)
        item.update(fieldsType="FieldsV1", fieldsV1=fields_v1)
        if identity.subresource:
            item["subresource"] = identity.subresource
        encoded.append(item)
    return encoded


def stripped(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as field management sees it (stripMeta)."""
    result = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if isinstance(result.get("metadata"), dict):
        metadata = result["metadata"]
        result["metadata"] = {k: v for k, v in metadata.items() if k not in STRIPPED_METADATA}
    return result


def recordable(fields: FieldSet) -> FieldSet:
    """Without the root and ``metadata`` itself, which are never recorded."""
    return {p for p in fields if p and p != ("f:metadata",)}


def _empty_like(obj: Any, schema: Schema, built_in: bool) -> dict[str, Any]:
    """Go's empty object of a kind: the non-pointer struct fields of ``obj``, empty, and its
    fields without ``omitempty`` (required in the OpenAPI definitions) as null."""
    result: dict[str, Any] = {}
    if not built_in or not isinstance(obj, dict):
        return result
    required = listtypes.resolve(schema).get("required") or ()
    for name, value in obj.items():
        sub, declared = listtypes.child(schema, name)
        if name in VALUE_STRUCTS and isinstance(value, dict) and declared:
            if listtypes.is_struct(sub):
                result[name] = _empty_like(value, sub, built_in)
        elif name in required and isinstance(value, list | dict):
            result[name] = None
    return result


@dataclass
class FieldManager:
    """Who writes, and for an apply, the managers it computed (set by ``applying.applied``)."""

    manager: str
    subresource: str = ""
    applied: Managers | None = None

    @property
    def identity(self) -> Identity:
        operation = APPLY if self.applied is not None else UPDATE
        return Identity(self.manager, operation, self.subresource)

    def record(
        self,
        schema: Schema,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        *,
        built_in: bool,
    ) -> None:
        """Set ``new``'s managedFields for this write of ``old`` (None: a create)."""
        before = (old or {}).get("metadata", {}).get("managedFields")
        if self.applied is None and old is not None and _unchanged(old, new, before):
            _set(new, before)  # nothing changed hands: no need to compare
            return
        if self.applied is not None:
            managers = self.applied
        else:
            managers = _capped(self._updated(schema, old, new, built_in=built_in))
        encoded = encode(managers, before)
        if old is not None and _same_but_times(before, encoded, old, new):
            encoded = before
        _set(new, encoded)

    def _updated(
        self, schema: Schema, old: dict[str, Any] | None, new: dict[str, Any], *, built_in: bool
    ) -> Managers:
        live = old["metadata"].get("managedFields") if old else None
        sent = new.get("metadata", {}).get("managedFields")
        if not self.subresource and isinstance(sent, list) and sent and sent != live:
            sent_managers = {} if sent == [{}] else decode(sent)
            managers = {k: v._replace(same_fields=False) for k, v in sent_managers.items()}
        else:
            managers = decode(live)
        after = stripped(new)
        before = stripped(old) if old is not None else _empty_like(after, schema, built_in)
        change = structured.compare(before, after, schema)
        changed = recordable(change.added | change.modified)
        result: Managers = {}
        for identity, entry in managers.items():
            kept = entry.fields - changed - change.removed
            if len(kept) == len(entry.fields):
                result[identity] = entry
            elif kept:
                result[identity] = entry._replace(fields=kept, same_fields=False)
        if changed:
            previous = result.get(self.identity)
            fields = changed | (previous.fields if previous else set())
            same = previous is not None and previous.same_fields and changed <= previous.fields
            result[self.identity] = Entry(fields, objects.now(), new["apiVersion"], same)
        return result


def _capped(managers: Managers) -> Managers:
    """kube's capManagersManager: past 10 Update entries, the oldest merge into one
    ``ancient-changes`` entry (with the time of the newest merged)."""
    updaters = sorted(
        (i for i in managers if i.operation == UPDATE),
        key=lambda i: (managers[i].time, i.manager, i.subresource),
    )
    count, first = len(updaters), None
    bucket = Identity(ANCIENT_CHANGES, UPDATE, "")
    for identity in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        if first is None or identity == bucket:
            first = first or identity
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first)._replace(same_fields=False)
        entry, held = managers.pop(identity), managers[bucket]
        managers[bucket] = Entry(held.fields | entry.fields, entry.time, entry.api_version)
        count -= 1
    return managers


def working_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to build a write from, sharing the managedFields (never changed in place:
    every write sets new ones), which are often as large as the rest of the object."""
    entries = obj.get("metadata", {}).get("managedFields")
    if entries is None:
        return copy.deepcopy(obj)
    metadata = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    result = copy.deepcopy({**obj, "metadata": metadata})
    result["metadata"]["managedFields"] = entries
    return result


def _set(obj: dict[str, Any], entries: Any) -> None:
    if entries:  # shared with the stored object, which is never mutated
        obj["metadata"]["managedFields"] = entries
    else:
        obj["metadata"].pop("managedFields", None)


def _unchanged(old: dict[str, Any], new: dict[str, Any], before: Any) -> bool:
    """An update that sends back the live managedFields (or none) and changes nothing else."""
    sent = new.get("metadata", {}).get("managedFields")
    return sent in (None, [], before) and _without_managed(old) == _without_managed(new)


def _same_but_times(
    before: Any, encoded: list[dict[str, Any]], old: dict[str, Any], new: dict[str, Any]
) -> bool:
    if not isinstance(before, list) or len(before) != len(encoded):
        return False
    untimed = [{k: v for k, v in e.items() if k != "time"} for e in encoded]
    if untimed != [{k: v for k, v in e.items() if k != "time"} for e in before]:
        return False
    return _without_managed(old) == _without_managed(new)


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return {**obj, "metadata": metadata}
