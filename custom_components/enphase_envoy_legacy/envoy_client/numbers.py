"""What a number of an Envoy's JSON answer may be: the one rule every parser applies.

Every integral value the client returns is one of JSON's safe integers (RFC 8259, section 6),
so it survives any JSON store, any float conversion and any JavaScript frontend.
"""

from __future__ import annotations

import math
from typing import Final

MAX_SAFE_INTEGER: Final = 2**53 - 1


def safe(value: int) -> bool:
    """Return True when an int is one of JSON's safe integers."""
    return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def whole(value: object, *, minimum: int | None = None) -> int | None:
    """Return a JSON number as a safe int, or None.

    Finite floats are rounded (some encoders write ``-3.0``); booleans, strings, non-finite
    floats, numbers beyond the safe integers and numbers below ``minimum`` are not numbers.
    """
    number: int | None = None
    if type(value) is int and safe(value):
        number = value
    elif type(value) is float and math.isfinite(value) and abs(value) <= MAX_SAFE_INTEGER:
        number = round(value)
    if number is None or (minimum is not None and number < minimum):
        return None
    return number


def measure(value: object, low: float, high: float) -> float | None:
    """Return a JSON number as a float within [low, high], or None."""
    if type(value) is int and low <= value <= high:
        return float(value)
    if type(value) is float and math.isfinite(value) and low <= value <= high:
        return value
    return None
