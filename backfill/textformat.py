"""Series in the Prometheus text exposition format, for `--dry-run` (pure)."""

from flowkeeper.backfill.series import Series


def family_header(name: str, kind: str, help_text: str) -> str:
    """`# HELP` and `# TYPE` lines; `kind` is `gauge`, `counter` or `histogram`."""
    return f"# HELP {name} {_escape_help(help_text)}\n# TYPE {name} {kind}\n"


def sample_line(series: Series, value: float, timestamp_ms: int) -> str:
    """`name{label="value",...} value timestamp`; `__name__` becomes the metric name."""
    name = ""
    labels = []
    for label, text in series:
        if label == "__name__":
            name = text
        else:
            labels.append(f'{label}="{_escape_value(text)}"')
    return f"{name}{{{','.join(labels)}}} {_number(value)} {timestamp_ms}\n"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
