"""Leader-election records on a coordination.k8s.io/v1 Lease (pure: no I/O).

The semantics are client-go's (k8s.io/client-go/tools/leaderelection):

* a candidate may take the Lease when nobody holds it, when it holds it itself, or when the
  record has not changed for ``leaseDurationSeconds`` *as measured on the candidate's own clock*
  since it last saw it change (never by comparing ``renewTime`` with its clock: clocks skew);
* taking it from someone else bumps ``leaseTransitions`` and sets ``acquireTime``;
* every write carries the ``resourceVersion`` that was read, so of two candidates writing at
  once, the API server answers 409 Conflict to the second.
"""

import datetime
from collections.abc import Mapping
from typing import Any, NamedTuple

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"

Object = dict[str, Any]


class Timings(NamedTuple):
    lease_duration: float  # seconds a record stays valid for the others without a renewal
    renew_deadline: float  # seconds the leader keeps trying to renew before it gives up
    retry_period: float  # seconds between two tries (acquire or renew)


DEFAULT_TIMINGS = Timings(lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)


def check_timings(timings: Timings) -> None:
    """The leader must give up (renew deadline) before the others may take over (lease
    duration), and must get several tries (retry period) within its deadline."""
    for flag, value in zip(
        ("--lease-duration", "--renew-deadline", "--retry-period"), timings, strict=True
    ):
        if not value > 0:
            raise ValueError(f"{flag} must be a number of seconds above 0, got {value:g}")
    if timings.renew_deadline >= timings.lease_duration:
        raise ValueError(
            f"--renew-deadline ({timings.renew_deadline:g}s) must be shorter than"
            f" --lease-duration ({timings.lease_duration:g}s)"
        )
    if timings.retry_period >= timings.renew_deadline:
        raise ValueError(
            f"--retry-period ({timings.retry_period:g}s) must be shorter than"
            f" --renew-deadline ({timings.renew_deadline:g}s)"
        )


def holder(lease: Mapping[str, Any] | None) -> str:
    """Who holds the Lease ("" when nobody does)."""
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


def record(lease: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The part of a Lease that changes on every renewal: what "seen it change" compares."""
    return dict((lease or {}).get("spec") or {})


def may_take(
    lease: Mapping[str, Any] | None,
    *,
    identity: str,
    observed_at: float,
    now: float,
    lease_duration: float,
) -> bool:
    """Whether ``identity`` may write itself into the Lease now.

    ``observed_at`` is when (on our monotonic clock) we first saw the current record; the
    duration is the one written in the record by its holder, else ours.
    """
    return (
        expires_in(
            lease,
            identity=identity,
            observed_at=observed_at,
            now=now,
            lease_duration=lease_duration,
        )
        <= 0
    )


def expires_in(
    lease: Mapping[str, Any] | None,
    *,
    identity: str,
    observed_at: float,
    now: float,
    lease_duration: float,
) -> float:
    """Seconds until ``identity`` may take the Lease (0 or less: now). A standby sleeps until
    then rather than to its next periodic try, so a dead leader is replaced without delay."""
    current = holder(lease)
    if not current or current == identity:
        return 0.0
    written = record(lease).get("leaseDurationSeconds")
    duration = float(written) if written else lease_duration
    return observed_at + duration - now


def claim(
    lease: Mapping[str, Any] | None,
    *,
    name: str,
    namespace: str,
    identity: str,
    lease_duration: float,
    now: datetime.datetime,
) -> Object:
    """The Lease to create (``lease`` is None) or to PUT back to acquire or renew it."""
    previous = record(lease)
    stamp = micro_time(now)
    renewing = holder(lease) == identity
    spec: Object = {
        "holderIdentity": identity,
        "leaseDurationSeconds": max(1, round(lease_duration)),
        "acquireTime": previous.get("acquireTime", stamp) if renewing else stamp,
        "renewTime": stamp,
        "leaseTransitions": int(previous.get("leaseTransitions") or 0)
        + (0 if renewing or lease is None else 1),
    }
    return _with_spec(lease, name=name, namespace=namespace, spec=spec)


def release(lease: Mapping[str, Any], *, now: datetime.datetime) -> Object:
    """Give the Lease up on a clean shutdown, so a standby takes it at its next try instead of
    waiting out the lease duration (client-go's ReleaseOnCancel)."""
    metadata = lease.get("metadata") or {}
    spec: Object = {
        **record(lease),
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "renewTime": micro_time(now),
    }
    return _with_spec(lease, name=metadata["name"], namespace=metadata["namespace"], spec=spec)


def micro_time(now: datetime.datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 in UTC with microseconds."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _with_spec(
    lease: Mapping[str, Any] | None, *, name: str, namespace: str, spec: Object
) -> Object:
    metadata: Object = {"name": name, "namespace": namespace}
    version = ((lease or {}).get("metadata") or {}).get("resourceVersion")
    if version:
        metadata["resourceVersion"] = version  # the precondition that makes the write atomic
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
