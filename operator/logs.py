"""One log line per action or problem, as ``what key=value key="a value"``, like the
backfill's: easy to grep, and to parse in the JSON format too (the whole line is the message).
"""

from collections.abc import Mapping


def line(what: str, fields: Mapping[str, object]) -> str:
    """``child created kind=ConfigMap name=edge-config``; values with spaces or quotes are
    quoted (JSON-style escapes), empty ones are shown as ``""``."""
    return " ".join([what, *(f"{key}={_value(value)}" for key, value in fields.items())])


def _value(value: object) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if text and not any(char in text for char in ' "=\\\n\t'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
    return '"' + escaped + '"'
