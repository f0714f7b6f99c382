"""What an energy guard reads, remembers and shows (the rules: docs/architecture.md).

``CounterReading`` is one reading of a lifetime counter, whatever it counts (the site's
production, a meter's consumption, import or export); ``GuardState`` is a guard's memory,
stored across restarts; ``GuardedCounter`` is what a guard lets through to the sensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..envoy_client import EnvoyProduction
from .stored import (
    Malformed,
    count,
    flag,
    integer,
    items,
    number,
    optional_count,
    optional_number,
    optional_text,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterReading:
    """One reading of a lifetime counter: power (W) and energies (Wh; unknown ones read 0)."""

    watts_now: int
    watt_hours_today: int = 0
    watt_hours_seven_days: int = 0
    watt_hours_lifetime: int

    @classmethod
    def of(cls, production: EnvoyProduction) -> CounterReading:
        """Return the site totals of ``/api/v1/production`` as a reading."""
        return cls(
            watts_now=production.watts_now,
            watt_hours_today=production.watt_hours_today,
            watt_hours_seven_days=production.watt_hours_seven_days,
            watt_hours_lifetime=production.watt_hours_lifetime,
        )


@dataclass(kw_only=True)
class GuardState:
    """What a guard remembers, stored across restarts."""

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
    credit: float = 0.0  # energy (Wh) carried over from the last accepted reading
    # The Envoy was replaced: its next plausible reading is the counter's new base.
    new_counter: bool = False
    # The levels the counter left when its base moved (rule 3), most recent last: when it
    # was last accepted there (epoch seconds), the counter then, the lifetime that reading
    # stood for (what was shown, and what was owed), and the energy (Wh) estimated since.
    left: list[tuple[float, int, int, int]] = field(default_factory=list)
    # Energy (Wh) the counter counted that the lifetime has not shown yet, paid from the
    # credit; below zero, what was shown beyond it (an estimate the counter proved high).
    owed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardState:
        """Rebuild a stored state (a missing part takes its default: older releases' load)."""
        return cls(
            envoy_lifetime=optional_count(data.get("envoy_lifetime")),
            lifetime=optional_count(data.get("lifetime")),
            accepted_at=optional_number(data.get("accepted_at")),
            accepted_power=count(data.get("accepted_power", 0)),
            peak_power=count(data.get("peak_power", 0)),
            day=optional_text(data.get("day")),
            day_start=optional_count(data.get("day_start")),
            seven_days=optional_count(data.get("seven_days")),
            held_since=optional_number(data.get("held_since")),
            candidates=[_candidate(item) for item in items(data.get("candidates", []))],
            credit=max(number(data.get("credit", 0.0)), 0.0),
            new_counter=flag(data.get("new_counter", False)),
            left=[_level(item) for item in items(data.get("left", []))],
            owed=integer(data.get("owed", 0)),
        )


def _candidate(item: object) -> tuple[float, int, int]:
    match item:
        case [when, counter, power]:
            return number(when), count(counter), count(power)
        case _:
            raise Malformed(item)


def _level(item: object) -> tuple[float, int, int, int]:
    match item:
        case [when, counter, lifetime, estimated]:
            return number(when), count(counter), integer(lifetime), count(estimated)
        case _:
            raise Malformed(item)


@dataclass(frozen=True, kw_only=True)
class GuardedCounter:
    """A counter's values to show: None where nothing trustworthy came yet."""

    watts_now: int | None
    today: int | None
    seven_days: int | None
    lifetime: int | None
    suspect: bool  # this reading was held back, in whole or in part
    rebased: bool  # this reading set a new base for the Envoy's counter
    returned: bool = False  # the counter came back to a level it left (rule 3)
