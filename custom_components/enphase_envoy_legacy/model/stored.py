"""How every stored value is checked when it is read back (docs/architecture.md, "What is stored").

Each part of the store is rebuilt by its owner's ``from_dict``, which reads its values with
the helpers below; a value that is not what that part ever stores raises ``Malformed``.
``restore`` turns that into the one rule: the part starts afresh, with one log line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

_LOGGER = logging.getLogger(__package__)

# Every integer stored stays within what a float (and Home Assistant's JSON store) holds exactly.
MAX_STORED: Final = 2**53


class Malformed(ValueError):  # noqa: N818 - read as "the part is malformed"
    """A stored value is not what its part ever stores."""


def count(value: object) -> int:
    """Return a stored integer within 0..MAX_STORED."""
    if type(value) is not int or not 0 <= value <= MAX_STORED:
        raise Malformed(value)
    return value


def integer(value: object) -> int:
    """Return a stored integer within -MAX_STORED..MAX_STORED (a difference of counts)."""
    if type(value) is not int or not -MAX_STORED <= value <= MAX_STORED:
        raise Malformed(value)
    return value


def optional_count(value: object) -> int | None:
    """Return a stored count, or None."""
    return None if value is None else count(value)


def number(value: object) -> float:
    """Return a stored finite number (seconds, Wh)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(value)
    return float(value)


def optional_number(value: object) -> float | None:
    """Return a stored finite number, or None."""
    return None if value is None else number(value)


def text(value: object) -> str:
    """Return a stored string."""
    if not isinstance(value, str):
        raise Malformed(value)
    return value


def optional_text(value: object) -> str | None:
    """Return a stored string, or None."""
    return None if value is None else text(value)


def flag(value: object) -> bool:
    """Return a stored boolean."""
    if not isinstance(value, bool):
        raise Malformed(value)
    return value


def optional_flag(value: object) -> bool | None:
    """Return a stored boolean, or None."""
    return None if value is None else flag(value)


def mapping(value: object) -> Mapping[str, Any]:
    """Return a stored JSON object."""
    if not isinstance(value, Mapping):
        raise Malformed(value)
    return value


def items(value: object) -> list[Any]:
    """Return a stored JSON list."""
    if not isinstance(value, list):
        raise Malformed(value)
    return value


def restore[T](part: str, tag: str, build: Callable[[], T], fresh: Callable[[], T]) -> T:
    """Return ``build()``, or ``fresh()`` with one log line when the stored part is malformed.

    ``part`` names what is stored (never a value of it); ``tag`` names the entry.
    """
    try:
        return build()
    except Malformed:
        _LOGGER.warning("Envoy %s: the stored %s is malformed; starting it afresh", tag, part)
        return fresh()


def restore_each[T](part: str, tag: str, stored: object, build: Callable[[Any], T]) -> dict[str, T]:
    """Return each item of a stored mapping rebuilt; a malformed item starts afresh (left out).

    One log line for the whole part, however many items were malformed.
    """
    if stored is None:
        return {}
    found: dict[str, T] = {}
    malformed = not isinstance(stored, Mapping)
    for key, value in stored.items() if isinstance(stored, Mapping) else ():
        try:
            found[text(key)] = build(value)
        except Malformed:
            malformed = True
    if malformed:
        _LOGGER.warning(
            "Envoy %s: some of the stored %s are malformed; those start afresh", tag, part
        )
    return found
