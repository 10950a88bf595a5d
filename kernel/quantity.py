"""Kubernetes resource quantities: ``500m`` cpu, ``128Mi`` memory, ``1e3``."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
# Binary suffixes are capitalised ("Ki", as nodes report memory); "ki" is none.
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]|)$")


class QuantityError(ValueError):
    pass


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity; raises QuantityError with Kubernetes' wording."""
    match = _QUANTITY.match(text.strip())
    if not match or match.group(2) in ("ni", "ui", "mi"):
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise QuantityError(f"invalid quantity {text!r}") from None
    if suffix not in _SUFFIXES:  # an exponent: "e3", "E-2"
        return value * Decimal(10) ** int(suffix[1:])
    return value * _SUFFIXES[suffix]


@functools.lru_cache(maxsize=4096)  # the same few strings, for every pod and node
def cpu_millis(text: str) -> int:
    """CPU in millicores (``"500m"`` -> 500, ``"2"`` -> 2000), rounded up."""
    return int((parse_quantity(text) * 1000).to_integral_value(rounding="ROUND_CEILING"))


@functools.lru_cache(maxsize=4096)
def to_bytes(text: str) -> int:
    """Memory (or storage) in bytes, rounded up."""
    return int(parse_quantity(text).to_integral_value(rounding="ROUND_CEILING"))
