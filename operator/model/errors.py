"""Named errors of the operator's pure layer."""


class SpecError(ValueError):
    """A FlowCollector field the operator cannot honour.

    ``field`` is the full path (``spec.listeners[1].port``); ``str()`` is the one-line message
    shown in the Ready condition and in Events; ``reason`` is the Ready condition's reason.
    """

    reason = "InvalidSpec"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


class ConfigError(SpecError):
    """The config.json built from a spec breaks a rule of the collector (its schema): ``field``
    is the spec field it comes from; ``str()`` reads ``<field>: expected ..., got ...``."""

    reason = "InvalidConfig"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.args = (f"{field}: {message}",)
