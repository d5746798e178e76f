"""The few failures the backfill distinguishes; each maps to one exit code in the CLI."""


class UsageError(ValueError):
    """Bad flag, env var or kubeconfig: one line naming the field (exit code 2)."""


class ApiError(RuntimeError):
    """The Kubernetes API refused a LIST (unavailable=False) or failed beyond the retry budget."""

    def __init__(self, message: str, *, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class DeliveryError(RuntimeError):
    """The receiver refused a batch (4xx) or stayed unavailable beyond the retry budget."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
