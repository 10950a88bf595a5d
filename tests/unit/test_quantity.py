"""Kubernetes quantities (shoal.quantity)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from shoal.quantity import QuantityError, cpu_millis, parse_quantity, to_bytes


def test_binary_suffixes_including_ki() -> None:
    # Nodes report memory in Ki (/proc/meminfo), and metrics in Ki too.
    assert to_bytes("16311220Ki") == 16311220 * 1024
    assert to_bytes("64Mi") == 64 * 1024 * 1024
    assert parse_quantity("1Ei") == Decimal(2) ** 60


def test_decimal_suffixes_and_exponents() -> None:
    assert cpu_millis("250000000n") == 250
    assert cpu_millis("1") == 1000
    assert to_bytes("1k") == 1000
    assert to_bytes("1e3") == 1000


@pytest.mark.parametrize("text", ["1ki", "1K", "1mi", "x", "1Kib"])
def test_malformed_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
