"""Per-panel energy and reporting, estimated from the microinverters' reports.

The v1 API gives each microinverter's power at its last report but no energy: each new
report stands for the interval since the one before, so its energy is the reported power
times that interval, within the bounds told in docs/architecture.md ("Panel energy"). Times
are epoch seconds, days local ISO dates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from .stored import mapping, number, optional_text, restore_each

# Enphase microinverters are rated below 500 W AC: a larger report is garbage, and must not
# widen the energy guard's idea of what the site can produce.
MAX_MICROINVERTER_W: Final = 1000

# A report following a silence longer than this many report intervals adds no energy, and an
# inverter silent that long while others report has a reporting problem.
MAX_GAP_INTERVALS: Final = 3
# "Reported in the last interval" allows for a burst that lasts about a minute.
INTERVAL_SLACK: Final = 1.5
# The longest report interval Enphase sets (300, 900 or 3600 s): a longer one (a night's gap
# taken for the interval) never makes a gap count.
MAX_REPORT_INTERVAL: Final = 3600.0
# A report dated further than this ahead of the clock is garbage (or a clock gone wrong).
FUTURE_SLACK: Final = 300.0


def plausible_watts(watts: int) -> int | None:
    """Return a reported power a microinverter can produce; None for garbage."""
    return watts if 0 <= watts <= MAX_MICROINVERTER_W else None


def longest_counted_gap(interval: float) -> float:
    """Return the longest gap a report may stand for, on a site reporting every ``interval``.

    An interval that is not a positive number (NaN included) counts no gap at all.
    """
    if not interval > 0:
        return 0.0
    return MAX_GAP_INTERVALS * min(interval, MAX_REPORT_INTERVAL)


@dataclass(kw_only=True)
class PanelState:
    """What is known of one inverter's energy, stored across restarts."""

    last_report: float  # the report its energy was counted up to
    lifetime: float = 0.0  # Wh since the integration first saw the inverter
    day: str | None = None  # the local date "today" counts from
    day_start: float = 0.0  # the lifetime at the start of that day

    def today(self) -> float:
        """Return the energy since the start of ``day``."""
        return self.lifetime - self.day_start

    @classmethod
    def from_dict(cls, stored: object) -> PanelState:
        """Rebuild a stored state."""
        data = mapping(stored)
        return cls(
            last_report=number(data.get("last_report")),
            lifetime=number(data.get("lifetime")),
            day=optional_text(data.get("day")),
            day_start=number(data.get("day_start")),
        )


class PanelEnergy:
    """Counts each inverter's energy, report by report."""

    def __init__(self, panels: Mapping[str, PanelState] | None = None) -> None:
        """Start from the stored states, or from nothing."""
        self.panels: dict[str, PanelState] = dict(panels or {})

    @classmethod
    def from_dict(cls, stored: object, tag: str) -> PanelEnergy:
        """Rebuild what was stored; a malformed panel starts afresh (at its next report)."""
        return cls(restore_each("panel energy", tag, stored, PanelState.from_dict))

    def forget(self, serial: str) -> None:
        """Forget an inverter gone for good."""
        self.panels.pop(serial, None)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Return the states for storage."""
        return {serial: asdict(state) for serial, state in self.panels.items()}

    def report(
        self,
        serial: str,
        when: float,
        watts: int,
        interval: float,
        day: str,
        *,
        now: float,
        site_today: float | None = None,
    ) -> bool:
        """Count a report (its time, its power) seen on ``day`` at ``now`` (epoch seconds).

        Return True when the inverter is new or its energy moved.

        ``interval`` is the site's report interval, which bounds the gaps that count;
        ``site_today`` the site's energy today (Wh, None when unknown), which bounds the
        panel's.
        """
        if not math.isfinite(when) or not when <= now + FUTURE_SLACK:
            return False  # dated ahead of the clock: garbage, not even remembered
        state = self.panels.get(serial)
        if state is None:
            self.panels[serial] = PanelState(last_report=when, day=day)
            return True
        self.new_day(serial, day)
        if state.last_report > now + FUTURE_SLACK:
            # Stored ahead of the clock by an earlier release: count again from this report.
            state.last_report = when
            return False
        if when <= state.last_report:
            return False
        gap = when - state.last_report
        state.last_report = when
        power = plausible_watts(watts)
        if not power or gap > longest_counted_gap(interval):
            return False
        energy = power * gap / 3600
        if site_today is not None and not energy <= site_today - state.today():
            energy = max(0.0, site_today - state.today())
        state.lifetime += energy
        return energy > 0

    def count(
        self,
        reports: Mapping[str, tuple[float, int]],
        interval: float,
        day: str,
        *,
        now: float,
        site_today: float | None,
    ) -> set[str]:
        """Count new reports: {serial: (report time, power)}, as ``report`` does each.

        Return the inverters that are new or whose energy moved.
        """
        return {
            serial
            for serial, (when, watts) in reports.items()
            if self.report(serial, when, watts, interval, day, now=now, site_today=site_today)
        }

    def start_day(self, day: str) -> set[str]:
        """Start ``day`` for every inverter; return those whose day started now."""
        return {serial for serial in self.panels if self.new_day(serial, day)}

    def new_day(self, serial: str, day: str) -> bool:
        """Start ``day`` for an inverter if it has not started yet; True when it did."""
        state = self.panels[serial]
        if state.day == day:
            return False
        state.day, state.day_start = day, state.lifetime
        return True


def reporting_problems(reports: Mapping[str, float], now: float, interval: float) -> frozenset[str]:
    """Return the inverters that stopped reporting while the rest of the site reports."""
    recent = now - INTERVAL_SLACK * interval
    if not any(when >= recent for when in reports.values()):
        return frozenset()
    silent_since = now - MAX_GAP_INTERVALS * interval
    return frozenset(serial for serial, when in reports.items() if when < silent_since)


def reporting_count(reports: Mapping[str, float], now: float, interval: float) -> int:
    """Return how many inverters reported within the last interval (and its burst)."""
    recent = now - INTERVAL_SLACK * interval
    return sum(when >= recent for when in reports.values())
