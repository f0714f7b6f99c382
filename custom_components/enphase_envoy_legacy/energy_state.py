"""What the energy guard (energy.py) remembers, and what it shows.

``GuardState`` is the guard's memory, stored across restarts (store.py): every part is
checked when it is read back, and a part of the wrong type or beyond what the guard ever
stores makes the whole state start afresh. ``GuardedProduction`` is one judged reading: the
site totals the sensors show.

This module has no Home Assistant imports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

# Every integer the guard stores or reports stays within what a float holds exactly.
MAX_STORED: Final = 2**53


def _count(value: object) -> int:
    """Return a stored integer within 0..MAX_STORED, or raise ValueError."""
    if type(value) is not int or not 0 <= value <= MAX_STORED:
        raise ValueError(value)
    return value


def _optional_count(value: object) -> int | None:
    """Return a stored integer within 0..MAX_STORED or None, or raise ValueError."""
    return None if value is None else _count(value)


def _number(value: object) -> float:
    """Return a stored finite number (seconds, or Wh of credit), or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _optional_number(value: object) -> float | None:
    """Return a stored finite number or None, or raise ValueError."""
    return None if value is None else _number(value)


@dataclass(kw_only=True)
class GuardState:
    """What the guard remembers, stored across restarts."""

    envoy_lifetime: int | None = None  # the last accepted reading of the Envoy's counter
    lifetime: int | None = None  # the guarded lifetime the sensor reports
    accepted_at: float | None = None  # when the last reading was accepted (epoch seconds)
    accepted_power: int = 0  # the power (W) reported with it
    peak_power: int = 0  # what the site's microinverters can produce together (W)
    day: str | None = None  # the local date "today" counts from
    day_start: int | None = None  # the guarded lifetime at the start of that day
    seven_days: int | None = None  # the last good "last seven days" value
    held_since: float | None = None  # when readings started being held back
    # Readings out of line with the last accepted one: (epoch seconds, counter, power W).
    candidates: list[tuple[float, int, int]] = field(default_factory=list)
    credit: float = 0.0  # energy (Wh) carried over from the last accepted reading (rule 1)

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardState | None:
        """Rebuild the state from storage, ignoring what it does not know.

        Return None when a part it knows is malformed (of the wrong type, or beyond what
        the guard ever stores): the caller starts afresh. A missing part takes its default,
        so a state stored by an older release loads.
        """
        try:
            return cls(
                envoy_lifetime=_optional_count(data.get("envoy_lifetime")),
                lifetime=_optional_count(data.get("lifetime")),
                accepted_at=_optional_number(data.get("accepted_at")),
                accepted_power=_count(data.get("accepted_power", 0)),
                peak_power=_count(data.get("peak_power", 0)),
                day=_day(data.get("day")),
                day_start=_optional_count(data.get("day_start")),
                seven_days=_optional_count(data.get("seven_days")),
                held_since=_optional_number(data.get("held_since")),
                candidates=_candidates(data.get("candidates", [])),
                credit=max(_number(data.get("credit", 0.0)), 0.0),
            )
        except ValueError:
            return None


def _day(value: object) -> str | None:
    """Return a stored local date, or raise ValueError."""
    if value is not None and not isinstance(value, str):
        raise ValueError(value)
    return value


def _candidates(value: object) -> list[tuple[float, int, int]]:
    """Return the stored candidate readings, or raise ValueError."""
    if not isinstance(value, list):
        raise ValueError(value)  # noqa: TRY004 - the caller handles malformed parts as one
    candidates: list[tuple[float, int, int]] = []
    for item in value:
        match item:
            case [when, counter, power]:
                candidates.append((_number(when), _count(counter), _count(power)))
            case _:
                raise ValueError(item)
    return candidates


@dataclass(frozen=True, kw_only=True)
class GuardedProduction:
    """The site totals to show: None where the Envoy gave nothing trustworthy yet."""

    watts_now: int | None
    today: int | None
    seven_days: int | None
    lifetime: int | None
    suspect: bool  # this reading was held back, in whole or in part
    rebased: bool  # this reading set a new base for the Envoy's counter
