"""Per-panel energy and health, derived from the microinverters' reports.

The v1 API gives each microinverter's power at its last report (``lastReportWatts``) and the
time of that report, but no energy. Each new report stands for the interval since the one
before it, so that interval's energy is estimated as the reported power times its length:

- one sample per interval: the power between two reports is not known, only at the report,
  so a cloud passing between two reports is missed or counted in full. Over a day these
  errors mostly cancel (the tests compare a simulated day with the Envoy's own counter);
- a report that follows a gap longer than MAX_GAP_INTERVALS report intervals (the first one
  after a restart that lasted long, a night, an inverter or Envoy outage) adds nothing rather
  than a guess: its power says nothing about the gap. The interval is taken as at most
  MAX_REPORT_INTERVAL, the longest Enphase sets: an "interval" learned from a night's gap is
  never a reason to count;
- a report of a power no microinverter can produce (above MAX_MICROINVERTER_W, or below
  zero) adds nothing: it is garbage, and its interval's energy is not known;
- a report dated more than FUTURE_SLACK ahead of the clock is ignored (neither counted nor
  stored), and a panel whose stored last report is that far ahead (stored by an earlier
  release) starts counting again from its next report;
- a panel's energy today never exceeds the site's (when the site's is known): an increment
  that would take it higher is cut: gaps, garbage and clock trouble only ever leave a
  panel's energy below the truth;
- a report that straddles local midnight counts for the new day.

An inverter has a reporting problem when its last report is more than MAX_GAP_INTERVALS
intervals old while another inverter of the site reported within the last interval: at
nightfall, in an Envoy outage or when the whole site is off, no panel is flagged.

This module has no Home Assistant imports; times are epoch seconds, days local ISO dates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from .const import MAX_MICROINVERTER_W

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
    def from_dict(cls, data: object) -> PanelState | None:
        """Rebuild a stored state; None when it is malformed."""
        if not isinstance(data, Mapping):
            return None
        values = [data.get(name) for name in ("last_report", "lifetime", "day_start")]
        day = data.get("day")
        if not all(
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            for value in values
        ) or not isinstance(day, str | None):
            return None
        last_report, lifetime, day_start = (float(value) for value in values)  # type: ignore[arg-type]
        return cls(last_report=last_report, lifetime=lifetime, day=day, day_start=day_start)


class PanelEnergy:
    """Counts each inverter's energy, report by report."""

    def __init__(self, stored: object = None) -> None:
        """Start from what was stored (a mapping of serial to state), or from nothing."""
        self.panels: dict[str, PanelState] = {}
        if isinstance(stored, Mapping):
            for serial, data in stored.items():
                if isinstance(serial, str) and (state := PanelState.from_dict(data)):
                    self.panels[serial] = state

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
