"""resource.Quantity canonical forms, as apimachinery's quantity_test.go expects them."""

import pytest

from e2e.apiserver.quantity import QuantityError, canonical


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (0.5, "500m"),
        ("0.5", "500m"),
        (1, "1"),
        (1.0, "1"),
        ("1024Mi", "1Gi"),
        ("2000m", "2"),
        ("1.5Gi", "1536Mi"),
        ("1.5", "1500m"),
        ("1000", "1k"),
        ("1234000", "1234k"),
        ("1000M", "1G"),
        ("1e3", "1e3"),  # the exponent family is kept, as Go keeps DecimalExponent
        ("1E6", "1e6"),
        ("1000e-12", "1e-9"),
        (".001Ki", "1024m"),  # binary below 1024 is written as decimal
        (".000000000001Ki", "2n"),  # rounded up to a whole nano unit
        ("1025", "1025"),
        ("1000Ki", "1000Ki"),
        ("0.5Gi", "512Mi"),
        ("100.035k", "100035"),
        ("0", "0"),
        ("-1", "-1"),
        (" 1 ", "1"),
    ],
)
def test_canonical_form(sent, stored):
    assert canonical(sent) == stored


@pytest.mark.parametrize("sent", ["", "1.2.3", "one", "1Kb", True, None, [1]])
def test_refused(sent):
    with pytest.raises(QuantityError):
        canonical(sent)
