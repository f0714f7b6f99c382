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

from .output import DayOutput
from .stored import (
    Malformed,
    mapping,
    number,
    optional_count,
    optional_number,
    optional_text,
    restore_each,
)

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
# The longest gap a report may ever stand for: three of the longest intervals. A longer one
# (a night) is never counted, nor held back (see PanelState.held).
LONGEST_GAP: Final = MAX_GAP_INTERVALS * MAX_REPORT_INTERVAL
# While the site's latest reports carry this share of its peak power, its panels produce:
# bursts that stop then may be an interval made longer (site_reports).
PRODUCING_SHARE: Final = 0.05


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


def _held(value: object) -> float:
    """Return a stored energy or gap held back (absent: none)."""
    held = 0.0 if value is None else number(value)
    if held < 0:
        raise Malformed(value)
    return held


@dataclass(kw_only=True)
class PanelState:
    """What is known of one inverter's energy, stored across restarts.

    ``held``: the energy of reports after a gap longer than the interval in use covers (Wh),
    ``held_before`` the part of it reported before ``day``, ``held_gap`` the longest such
    gap. Such a report is the first of a longer interval, or follows an outage: the next
    report counted says which. When the interval in use has grown to cover ``held_gap``
    they were the first reports of the longer interval, and count; otherwise they count
    nothing (an outage). Only gaps up to LONGEST_GAP are held (the night never is).

    ``reports``: the reports counted on ``day``; ``first_day`` and ``since``: the day and
    time of the first report seen, from which its energy counts (absent in stores before
    version 2.4: such a panel's days are all whole).
    """

    last_report: float  # the report its energy was counted up to
    lifetime: float = 0.0  # Wh since the integration first saw the inverter
    day: str | None = None  # the local date "today" counts from
    day_start: float = 0.0  # the lifetime at the start of that day
    held: float = 0.0
    held_before: float = 0.0
    held_gap: float = 0.0
    reports: int = 0
    first_day: str | None = None
    since: float | None = None

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
            held=_held(data.get("held")),
            held_before=_held(data.get("held_before")),
            held_gap=_held(data.get("held_gap")),
            reports=optional_count(data.get("reports")) or 0,
            first_day=optional_text(data.get("first_day")),
            since=optional_number(data.get("since")),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage (nothing held back is left out: the usual case)."""
        stored = asdict(self)
        if not (self.held or self.held_before or self.held_gap):
            for name in ("held", "held_before", "held_gap"):
                del stored[name]
        return stored

    def finished(self) -> DayOutput:
        """Return what the panel did on ``day`` (over when another starts)."""
        return DayOutput(
            energy=self.today(), reports=self.reports, whole=self.first_day != self.day
        )

    def hold(self, energy: float, gap: float) -> None:
        """Hold back a report's energy after a gap the interval in use does not cover."""
        self.held += energy
        self.held_gap = max(self.held_gap, gap)

    def release(self, longest: float) -> float:
        """Take what is held: return what counts today, once ``longest`` covers the held gap.

        What was reported on an earlier day goes into the lifetime, not today.
        """
        today, before = (self.held, self.held_before) if self.held_gap <= longest else (0.0, 0.0)
        self.lifetime += before
        self.day_start += before
        self.held = self.held_before = self.held_gap = 0.0
        return today


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
        return {serial: state.as_dict() for serial, state in self.panels.items()}

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

        Return True when the inverter is new or its energy moved. A report after a gap the
        interval does not cover is held back (``PanelState.held``) for the next one to count
        or drop.

        ``interval`` is the site's report interval, which bounds the gaps that count;
        ``site_today`` the site's energy today (Wh, None when unknown), which bounds the
        panel's.
        """
        if not math.isfinite(when) or not when <= now + FUTURE_SLACK:
            return False  # dated ahead of the clock: garbage, not even remembered
        state = self.panels.get(serial)
        if state is None:
            self.panels[serial] = PanelState(last_report=when, day=day, first_day=day, since=when)
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
        state.reports += 1
        energy = (plausible_watts(watts) or 0) * gap / 3600
        longest = longest_counted_gap(interval)
        if gap > longest:
            # The first report of a longer interval, or one after an outage: held back until
            # the next report counted says which. A night's gap is neither.
            if gap <= LONGEST_GAP:
                state.hold(energy, gap)
            return False
        lifetime = state.lifetime
        if state.held_gap or state.held or state.held_before:
            energy += state.release(longest)
        if site_today is not None and not energy <= site_today - state.today():
            energy = max(0.0, site_today - state.today())
        state.lifetime += energy
        return state.lifetime > lifetime

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

    def ending(self, day: str) -> tuple[str | None, dict[str, DayOutput]]:
        """Return the latest day that ``day`` ends, and what each panel did on it.

        Panels whose last day was an older one (silent since) are left out.
        """
        ended = [(state.day, serial) for serial, state in self.panels.items() if state.day != day]
        latest = max((seen for seen, _ in ended if seen is not None), default=None)
        return latest, {
            serial: self.panels[serial].finished() for seen, serial in ended if seen == latest
        }

    def new_day(self, serial: str, day: str) -> bool:
        """Start ``day`` for an inverter if it has not started yet; True when it did."""
        state = self.panels[serial]
        if state.day == day:
            return False
        state.day, state.day_start, state.reports = day, state.lifetime, 0
        state.held_before, state.held = state.held_before + state.held, 0.0
        return True


def reporting_problems(reports: Mapping[str, float], now: float, interval: float) -> frozenset[str]:
    """Return the inverters that stopped reporting while the rest of the site reports."""
    recent = now - INTERVAL_SLACK * interval
    if not any(when >= recent for when in reports.values()):
        return frozenset()
    silent_since = now - MAX_GAP_INTERVALS * interval
    return frozenset(serial for serial, when in reports.items() if when < silent_since)


def latest_burst(reports: Mapping[str, float], interval: float) -> tuple[float, list[str]]:
    """Return the site's newest report, and the inverters that reported in its burst.

    Those whose report is within INTERVAL_SLACK intervals of the newest (the burst, and a
    half). The newest of no report at all is -inf.
    """
    newest = max(reports.values(), default=-math.inf)
    since = newest - INTERVAL_SLACK * interval
    return newest, [serial for serial, when in reports.items() if when >= since]


def site_reports(newest: float, now: float, interval: float, *, producing: bool) -> bool:
    """Return True while a site whose newest report is ``newest`` still reports.

    While that report is no older than INTERVAL_SLACK intervals or, when its panels were
    ``producing`` then, INTERVAL_SLACK of the longest interval Enphase sets: by day, bursts
    that stop are as likely an interval made longer (which only its next burst shows) as a
    site switched off, while the night's last reports carry almost no power.
    """
    longest = max(interval, MAX_REPORT_INTERVAL) if producing else interval
    return now - newest <= INTERVAL_SLACK * longest
