"""Upgrade from a pre-DaemonSet install: delete the Deployment the user names, and only it.

The operator never deletes an object it does not control unless the user asked for it by name:
``spec.migration.replaceDeployment: <name>`` (same namespace). It is deleted once the DaemonSet
that replaces it exists, so the collectors are never all gone at once; each outcome is posted
as an Event on the FlowCollector once (per uid and name), and counted in
``flowkeeper_operator_deployments_replaced``.

``step`` decides (pure); ``DeploymentReplacer`` reads, deletes and reports.
"""

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import kubernetes.client
from flowkeeper.operator import metrics

# (type "Normal" | "Warning", reason, message): posts an Event on the FlowCollector.
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.model import spec

Post = Callable[[str, str, str], Awaitable[None]]


class Step(enum.Enum):
    NOTHING = "nothing"  # no Deployment named, or it is already on its way out
    WAIT = "wait"  # the DaemonSet does not exist yet
    DELETE = "delete"
    MISSING = "missing"  # named, but there is no such Deployment


def named(parsed: spec.FlowCollectorSpec) -> str:
    """The Deployment named in spec.migration.replaceDeployment, or ""."""
    return parsed.get("migration", {}).get("replaceDeployment", "")


def step(*, name: str, daemonset_exists: bool, deployment: Mapping[str, Any] | None) -> Step:
    if not name:
        return Step.NOTHING
    if not daemonset_exists:
        return Step.WAIT
    if deployment is None:
        return Step.MISSING
    if (deployment.get("metadata") or {}).get("deletionTimestamp"):
        return Step.NOTHING
    return Step.DELETE


class DeploymentReplacer:
    """Carries out spec.migration.replaceDeployment; remembers what it reported, by uid."""

    def __init__(self) -> None:
        self._reported: dict[str, set[tuple[str, str]]] = {}  # uid -> {(deployment, outcome)}

    async def run(
        self,
        api: kubernetes.client.ApiClient,
        *,
        owner: Mapping[str, Any],
        parsed: spec.FlowCollectorSpec,
        daemonset_exists: bool,
        post: Post,
        logger: Any,
    ) -> bool:
        """Delete the named Deployment when it is time; True when it was deleted now.

        A transient API error is raised (the work queue retries the reconcile); a refusal is
        reported, and the next reconcile tries again.
        """
        name = named(parsed)
        if not name or not daemonset_exists:
            return False
        metadata = owner["metadata"]
        namespace, uid = str(metadata["namespace"]), str(metadata.get("uid", ""))
        field = "spec.migration.replaceDeployment"
        report = _Reporter(self._reported.setdefault(uid, set()), name, post, logger)
        try:
            live = await kube.call(
                kube.read, api=api, kind="Deployment", namespace=namespace, name=name
            )
            todo = step(name=name, daemonset_exists=daemonset_exists, deployment=live)
            if todo is Step.MISSING and not report.done("deleted"):
                await report(
                    "missing",
                    "Warning",
                    "ReplaceDeploymentNotFound",
                    f"Deployment {name} named in {field} does not exist in {namespace};"
                    " nothing deleted (remove the field once the upgrade is done)",
                )
            if todo is not Step.DELETE:
                return False
            deleted = await kube.call(
                kube.delete, api=api, kind="Deployment", namespace=namespace, name=name
            )
        except kube.KubeError as error:
            if error.transient:
                raise
            await report(
                f"failed {error.status}",
                "Warning",
                "ReplaceDeploymentFailed",
                f"Could not delete Deployment {name} ({field}): {error}",
            )
            return False
        if deleted:
            await report(
                "deleted",
                "Normal",
                "DeploymentReplaced",
                f"Deleted Deployment {name} ({field}): replaced by DaemonSet {metadata['name']}",
            )
        return deleted

    def forget(self, uids: set[str]) -> None:
        """Drop what is remembered about FlowCollectors other than ``uids`` (deleted ones)."""
        for uid in set(self._reported) - uids:
            del self._reported[uid]


class _Reporter:
    """Counts, logs and posts each outcome once per (uid,) Deployment and outcome."""

    def __init__(self, reported: set[tuple[str, str]], name: str, post: Post, logger: Any) -> None:
        self._reported, self._name, self._post, self._logger = reported, name, post, logger

    def done(self, outcome: str) -> bool:
        return (self._name, outcome) in self._reported

    async def __call__(self, outcome: str, kind: str, reason: str, message: str) -> None:
        if self.done(outcome):
            return
        self._reported.add((self._name, outcome))
        metrics.DEPLOYMENTS_REPLACED.labels(result=outcome.split(maxsplit=1)[0]).inc()
        (self._logger.info if kind == "Normal" else self._logger.warning)(message)
        await self._post(kind, reason, message)
