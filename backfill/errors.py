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


class RefusedError(DeliveryError):
    """The receiver refused the batch's content (400): some series in it are invalid for it.
    The batch is bisected to isolate them; `message` is the receiver's explanation."""

    def __init__(self, message: str, *, receiver_message: str) -> None:
        super().__init__(message, retryable=False)
        self.receiver_message = receiver_message


class Interrupted(Exception):  # noqa: N818 (not an error: the run was asked to stop)
    """SIGTERM or SIGINT arrived: stop waiting and end the run."""


class OutputClosed(Exception):  # noqa: N818 (not an error: the reader has what it wanted)
    """`--dry-run` output closed by its reader (`| head -1`): stop the run, quietly."""
