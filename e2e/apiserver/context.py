"""What the request being served asked for beyond its body, and the warnings it collects.

The HTTP layer sets it per request; the API's checks read it (a write made by the emulator
itself, e.g. the garbage collector, runs with the defaults).
"""

import contextvars
from dataclasses import dataclass, field


@dataclass
class RequestContext:
    verb: str = ""
    # ``?fieldValidation=``: kube-apiserver's default is Warn (handlers/rest.go fieldValidation).
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)


CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "flowkeeper_emulator_request", default=None
)


def current() -> RequestContext:
    return CURRENT.get() or RequestContext()


def warning_header(text: str) -> str:
    """An RFC 7234 ``Warning`` value as kube-apiserver sends it (``299 - "..."``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
