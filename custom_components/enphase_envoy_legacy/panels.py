"""Per-panel energy and health, derived from the microinverters' reports.

The v1 API gives each microinverter's power at its last report (``lastReportWatts``) and the
time of that report, but no energy. Each new report stands for the interval since the one
before it, so that interval's energy is estimated as the reported power times its length:

- one sample per interval: the power between two reports is not known, only at the report,
  so a cloud passing between two reports is missed or counted in full. Over a day these
  errors mostly cancel (the tests compare a simulated day with the Envoy's own counter);
- a report that follows a gap longer than MAX_GAP_INTERVALS report intervals (the first one
  after a restart that lasted long, a night, an inverter or Envoy outage) adds nothing rather
  than a guess: its power says nothing about the gap;
- a report that straddles local midnight counts for the new day.

An inverter has a reporting problem when its last report is more than MAX_GAP_INTERVALS
intervals old while another inverter of the site reported within the last interval: at
nightfall, in an Envoy outage or when the whole site is off, no panel is flagged.

This module has no Home Assistant imports; times are epoch seconds, days local ISO dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

# A report following a silence longer than this many report intervals adds no energy, and an
# inverter silent that long while others report has a reporting problem.
MAX_GAP_INTERVALS: Final = 3
# "Reported in the last interval" allows for a burst that lasts about a minute.
INTERVAL_SLACK: Final = 1.5


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
            isinstance(value, int | float) and not isinstance(value, bool) for value in values
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

    def report(self, serial: str, when: float, watts: int, interval: float, day: str) -> bool:
        """Count a report (its time, its power) seen on ``day``; True when the energy moved.

        ``interval`` is the site's report interval, which bounds the gaps that count.
        """
        state = self.panels.get(serial)
        if state is None:
            self.panels[serial] = PanelState(last_report=when, day=day)
            return True
        self.new_day(serial, day)
        if when <= state.last_report:
            return False
        gap = when - state.last_report
        state.last_report = when
        if gap > MAX_GAP_INTERVALS * interval or watts <= 0:
            return False
        state.lifetime += watts * gap / 3600
        return True

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
