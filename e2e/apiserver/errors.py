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


def invalid(kind: str, qualified: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 with one cause per (field, message), worded as kube-apiserver words them."""
    group = qualified.split(".", 1)[1] if "." in qualified else ""
    shown = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{field}: {message}" for field, message in causes)
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
                {"reason": "FieldValueInvalid", "message": f"{field}: {message}", "field": field}
                for field, message in causes
            ],
        },
    )
