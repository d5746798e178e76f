"""resource.Quantity's canonical form, as kube-apiserver stores requests and limits.

Rules of apimachinery's quantity.go: the value is rounded up to a whole nano unit; the format
family of the input is kept (binary ``Ki``..``Ei``, decimal ``n``..``E``, or exponent ``eN``);
the suffix is the largest one that leaves an integer mantissa; a binary quantity that is not a
whole number at least 1024 in magnitude is written in the decimal family. Examples:
``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``, ``1.5Gi`` -> ``1536Mi``, ``1000`` -> ``1k``,
``1e3`` -> ``1e3`` (the exponent family is kept), integer ``1`` -> ``"1"``.
"""

import decimal
import re
from typing import Any

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_SUFFIX_OF_EXPONENT = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_NANO = decimal.Decimal("1e-9")


class QuantityError(ValueError):
    pass


def canonical(raw: Any) -> str:
    """The string kube-apiserver stores for a quantity sent as ``raw`` (a string or a number).

    Raises QuantityError for what it refuses ("quantities must match the regular expression").
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise QuantityError(f"{raw!r}: quantities must be strings or numbers")
    text = raw.strip() if isinstance(raw, str) else repr(raw)
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(
            f"{raw!r}: quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, suffix = decimal.Decimal(match["number"]), match["suffix"] or ""
    with decimal.localcontext() as context:
        context.prec = 80
        if suffix in _BINARY:
            family, value = "binary", number * (2 ** _BINARY[suffix])
        elif suffix in _DECIMAL:
            family, value = "decimal", number * decimal.Decimal(10) ** _DECIMAL[suffix]
        else:
            family, value = "exponent", number * decimal.Decimal(10) ** int(suffix[1:])
        # Precision below 1n is rounded up (away from zero), as Go's Quantity does.
        value = value.quantize(_NANO, rounding=decimal.ROUND_UP)
        return _format(value, family)


def _format(value: decimal.Decimal, family: str) -> str:
    if value == 0:
        return "0"
    sign, magnitude = ("-" if value < 0 else ""), abs(value)
    if family == "binary" and (magnitude < 1024 or magnitude != magnitude.to_integral_value()):
        family = "decimal"
    if family == "binary":
        whole = int(magnitude)
        for suffix, shift in sorted(_BINARY.items(), key=lambda item: -item[1]):
            if whole % (1 << shift) == 0:
                return f"{sign}{whole >> shift}{suffix}"
        return f"{sign}{whole}"
    # Largest exponent (a multiple of 3, from -9 up) that keeps the mantissa whole.
    nanos = int(magnitude / _NANO)
    exponent = -9
    while nanos % 1000 == 0 and exponent < 18:
        nanos //= 1000
        exponent += 3
    if family == "exponent":
        return f"{sign}{nanos}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{nanos}{_SUFFIX_OF_EXPONENT[exponent]}"
