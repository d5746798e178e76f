"""Named errors of the operator's pure layer."""


class SpecError(ValueError):
    """A FlowCollector field the operator cannot honour.

    ``field`` is the full path (``spec.listeners[1].port``); ``str()`` is the one-line message
    shown in the Ready condition and in Events.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message
