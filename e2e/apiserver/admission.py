"""Checks a real server makes before storing a write: validation (422) and admission (403).

* DaemonSet ``spec.selector`` is immutable and must select the template's labels;
  a Service's ``clusterIP`` may not change once set;
* no new finalizer may be added to an object that is being deleted;
* OwnerReferencesPermissionEnforcement (OpenShift's default, optional here): a write that adds
  an ownerReference with ``blockOwnerDeletion: true`` needs ``update`` on the owner's
  ``<plural>/finalizers``, and an update that changes ownerReferences needs ``delete`` on the
  object.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from e2e.apiserver import resources, selectors, services, validation
from e2e.apiserver.errors import ApiError
from e2e.apiserver.resources import Resource

Rule = Mapping[str, Any]  # an RBAC PolicyRule: apiGroups, resources, verbs


def validate(
    resource: Resource, old: dict[str, Any] | None, new: dict[str, Any]
) -> list[tuple[str, str]]:
    causes = validation.validate(resource, new)
    if resource.kind == "DaemonSet":
        causes += _daemonset(old, new)
    if resource.kind == "Service" and old is not None:
        causes += services.immutable_changes(old, new)
    if old is not None and (old.get("metadata") or {}).get("deletionTimestamp"):
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new.get("metadata", {}).get("finalizers") or [] if f not in before]
        if added:
            causes.append(
                (
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted,"
                    f" found new finalizers {added!r}",
                )
            )
    return causes


def _daemonset(old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, str]]:
    spec = new.get("spec") or {}
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        return [("spec.selector", "Required value")]
    if old is not None and (old.get("spec") or {}).get("selector") != selector:
        return [("spec.selector", f"Invalid value: {_go_selector(selector)}: field is immutable")]
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selectors.matches_label_selector(selector, template_labels):
        return [
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(template_labels)}:"
                " `selector` does not match template `labels`",
            )
        ]
    return []


def _go_map(labels: Mapping[str, str]) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return f"map[string]string{{{inner}}}"


def _go_selector(selector: Mapping[str, Any]) -> str:
    expressions = selector.get("matchExpressions")
    shown = "[]v1.LabelSelectorRequirement(nil)" if not expressions else repr(expressions)
    labels = _go_map(selector.get("matchLabels") or {})
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{shown}}}"


def _allows(rules: Iterable[Rule], group: str, resource: str, verb: str) -> bool:
    plural, _, sub = resource.partition("/")
    names = {"*", resource} | ({f"*/{sub}", f"{plural}/*"} if sub else set())
    for rule in rules:
        if not ({"*", group} & set(rule.get("apiGroups") or [])):
            continue
        if not (names & set(rule.get("resources") or [])):
            continue
        if {"*", verb} & set(rule.get("verbs") or []):
            return True
    return False


def check_owner_references(
    rules: Iterable[Rule] | None,
    resource: Resource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    user: str,
) -> None:
    """403 as the OwnerReferencesPermissionEnforcement admission plugin answers it."""
    if rules is None:
        return
    rules = list(rules)
    before = list((old or {}).get("metadata", {}).get("ownerReferences") or [])
    after = list(new.get("metadata", {}).get("ownerReferences") or [])
    if before == after:
        return
    metadata = new.get("metadata", {})
    namespace = metadata.get("namespace", "")
    where = f' in the namespace "{namespace}"' if namespace else ""
    denied = f'{resource.qualified} "{metadata.get("name", "")}" is forbidden: '
    # Whoever creates an object could as well not create it: delete is checked on updates only.
    if old is not None and not _allows(rules, resource.group, resource.plural, "delete"):
        raise ApiError(
            403,
            denied + "cannot set an ownerRef on a resource you can't delete: "
            f'User "{user}" cannot delete resource "{resource.plural}" in API group '
            f'"{resource.group}"{where}',
        )
    for ref in after:
        if not ref.get("blockOwnerDeletion") or ref in before:
            continue
        owner = resources.of_api_version(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if owner is None:
            plural, group = str(ref.get("kind", "")).lower() + "s", ""
        else:
            plural, group = owner.plural, owner.group
        if not _allows(rules, group, f"{plural}/finalizers", "update"):
            raise ApiError(
                403,
                denied + "cannot set blockOwnerDeletion if an ownerReference refers to a "
                f'resource you can\'t set finalizers on: User "{user}" cannot update resource '
                f'"{plural}/finalizers" in API group "{group}"{where}, <nil>',
            )
