"""Injected failures: the next N requests that match answer an error instead of being served."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from e2e.apiserver.errors import ApiError


class Call(NamedTuple):
    """What a fault predicate sees of a request."""

    verb: str  # get list watch create update patch delete deletecollection
    resource: str  # plural
    subresource: str  # "" for the object itself
    namespace: str
    name: str
    agent: str  # User-Agent
    body: Any


@dataclass
class Fault:
    """One rule: ``status`` for the next ``times`` matching calls (None: every one)."""

    status: int = 500
    verb: str | None = None
    resource: str | None = None
    subresource: str | None = None  # "" matches the object itself only
    namespace: str | None = None
    name: str | None = None
    times: int | None = 1
    retry_after: float | None = None
    message: str | None = None
    predicate: Callable[[Call], bool] | None = None
    hits: int = 0
    seen: list[Call] = field(default_factory=list)

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, call: Call) -> bool:
        wanted = (
            (self.verb, call.verb),
            (self.resource, call.resource),
            (self.subresource, call.subresource),
            (self.namespace, call.namespace),
            (self.name, call.name),
        )
        if any(expected is not None and expected != actual for expected, actual in wanted):
            return False
        return self.predicate is None or self.predicate(call)

    def error(self, call: Call) -> ApiError:
        headers = {}
        if self.retry_after is not None:
            # Whole seconds, as kube-apiserver sends it (and as urllib3 parses it).
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        message = self.message or (
            f"injected fault: {call.verb} {call.resource}"
            + (f"/{call.subresource}" if call.subresource else "")
            + (f" {call.name}" if call.name else "")
        )
        details: dict[str, Any] = {"name": call.name, "kind": call.resource}
        if self.retry_after is not None:
            details["retryAfterSeconds"] = max(1, math.ceil(self.retry_after))
        return ApiError(self.status, message, details=details, headers=headers)


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def check(self, call: Call) -> None:
        """Raise the first live rule's error for this call, and count it."""
        for fault in self.rules:
            if not fault.spent and fault.matches(call):
                fault.hits += 1
                fault.seen.append(call)
                raise fault.error(call)
