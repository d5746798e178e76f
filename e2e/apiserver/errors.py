"""API errors as kube-apiserver reports them: a metav1.Status body and its HTTP code."""

from typing import Any

REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """An answer other than success; ``status()`` is the body kube-apiserver would send."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def no_such_resource() -> ApiError:
    """404 for a path no served resource (or subresource) answers, as the mux words it."""
    return ApiError(404, "the server could not find the requested resource")


def not_found(qualified: str, name: str) -> ApiError:
    kind = qualified.split(".", 1)[0]
    return ApiError(404, f'{qualified} "{name}" not found', details={"name": name, "kind": kind})


def already_exists(qualified: str, name: str) -> ApiError:
    kind = qualified.split(".", 1)[0]
    return ApiError(
        409,
        f'{qualified} "{name}" already exists',
        reason="AlreadyExists",
        details={"name": name, "kind": kind},
    )


def conflict(qualified: str, name: str) -> ApiError:
    kind = qualified.split(".", 1)[0]
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified;'
        " please apply your changes to the latest version and try again",
        details={"name": name, "kind": kind},
    )


_CAUSE_TYPES = (
    ("Required value", "FieldValueRequired"),
    ("Duplicate value", "FieldValueDuplicate"),
    ("Unsupported value", "FieldValueNotSupported"),
    ("Forbidden", "FieldValueForbidden"),
    ("Too long", "FieldValueTooLong"),
    ("Too many", "FieldValueTooMany"),
)


def cause_type(body: str) -> str:
    """The field.ErrorType a message body starts with (``Required value`` ...)."""
    return next((kind for text, kind in _CAUSE_TYPES if body.startswith(text)), "FieldValueInvalid")


def invalid(
    kind: str, qualified: str, name: str, causes: "list[tuple[str, str] | tuple[str, str, str]]"
) -> ApiError:
    """422 with one cause per (field, message) or (field, type, message), worded as
    kube-apiserver words them: the Status message joins ``<field>: <message>``; each cause
    holds the field, the message without it (field.Error.ErrorBody) and the error type."""
    group = qualified.split(".", 1)[1] if "." in qualified else ""
    shown = f"{kind}.{group}" if group else kind
    typed = [(c[0], c[1], c[2]) if len(c) == 3 else (c[0], cause_type(c[1]), c[1]) for c in causes]
    text = ", ".join(f"{field}: {message}" for field, _, message in typed)
    prefix = "[" if len(causes) > 1 else ""
    suffix = "]" if len(causes) > 1 else ""
    return ApiError(
        422,
        f'{shown} "{name}" is invalid: {prefix}{text}{suffix}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [
                {"reason": reason, "message": message, "field": field}
                for field, reason, message in typed
            ],
        },
    )
