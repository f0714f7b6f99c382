"""Each panel's output judged against its own normal: an underperforming panel found in days.

Panels differ for good reasons (an east-facing row, a chimney's shade every afternoon), so a
panel is never compared with the others as such: each day a panel's *share* is its energy
over the energy of the day's median panel, and its *normal* the median of its shares over
its last JUDGED_DAYS judged days. A day is judged once it is over, when it was bright enough
to tell (the site made at least BRIGHT_SHARE of its best day of the last BEST_OF_DAYS days:
under an overcast sky the shares are noise), and only for the panels that reported all day
(a silent inverter is another repair's business) and were counted from its start. A panel
whose share stays below LOW_SHARE of its normal for LOW_DAYS judged days in a row is
underperforming until it is back at BACK_SHARE of its normal for BACK_DAYS judged days.
A low day never enters the normal: a panel that lost output keeps the normal it had.
The rules, with the figures, are told to owners in the README ("Repairs").
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from .stored import (
    Malformed,
    count,
    flag,
    items,
    mapping,
    number,
    optional_number,
    optional_text,
    restore_each,
    text,
)

# A panel's normal: the median of its shares over this many judged days, once it has
# BASELINE_DAYS of them.
JUDGED_DAYS: Final = 14
BASELINE_DAYS: Final = 7
# A day is judged when the site made at least this share of its best day of the last
# BEST_OF_DAYS days, with at least MIN_PANELS panels judged.
BRIGHT_SHARE: Final = 0.4
BEST_OF_DAYS: Final = 30
MIN_PANELS: Final = 3
# Below LOW_SHARE of its normal a day is low; LOW_DAYS of them in a row raise the repair,
# BACK_DAYS in a row at BACK_SHARE of it or more clear it.
LOW_SHARE: Final = 0.8
LOW_DAYS: Final = 3
BACK_SHARE: Final = 0.9
BACK_DAYS: Final = 2
# No microinverter makes more than 1,000 W (panels.MAX_MICROINVERTER_W) for 24 hours: a day's
# energy outside 0..DAY_WH_LIMIT (a store tampered with, a clock gone wrong) is taken as the
# nearest bound. A median panel below MEDIAN_WH_FLOOR made too little for a share to mean
# anything (and to keep every share a finite, storable number).
DAY_WH_LIMIT: Final = 1000 * 24
MEDIAN_WH_FLOOR: Final = 1.0
# A panel reported all day when it missed at most this share of the reports of the panel
# that reported most (and at most one report on an Envoy reporting hourly).
MISSED_SHARE: Final = 0.1


def _share(value: object) -> float:
    """Return a stored share: a finite number, not negative."""
    share = number(value)
    if share < 0:
        raise Malformed(value)
    return share


def _day(value: object) -> str:
    """Return a stored day: an ISO date."""
    day = text(value)
    try:
        date.fromisoformat(day)
    except ValueError as err:
        raise Malformed(value) from err
    return day


@dataclass(frozen=True, kw_only=True)
class DayOutput:
    """One panel's finished day: its energy (Wh), its reports, whether counted from the start."""

    energy: float
    reports: int
    whole: bool = True


@dataclass(frozen=True, kw_only=True)
class Underperformance:
    """What the repair says of a panel: its normal and recent share, since when."""

    normal: float
    recent: float
    since: str


@dataclass(kw_only=True)
class PanelOutput:
    """One panel's shares: its normal, its latest day, and a low streak if any."""

    shares: list[float] = field(default_factory=list)  # judged days not low, newest last
    latest: float | None = None  # the share of the latest judged day
    low: list[float] = field(default_factory=list)  # the shares of a low streak
    since: str | None = None  # the first day of that streak
    raised: bool = False
    back: int = 0  # judged days back at normal while raised

    @property
    def normal(self) -> float | None:
        """Return the panel's normal share, None until it has BASELINE_DAYS judged days."""
        if len(self.shares) < BASELINE_DAYS:
            return None
        return statistics.median(self.shares)

    def relative(self) -> float | None:
        """Return the latest judged day's share as a percentage of the normal (None: unknown)."""
        normal = self.normal
        if self.latest is None or normal is None or not normal > 0:
            return None
        return round(100 * self.latest / normal, 1)

    def underperformance(self) -> Underperformance | None:
        """Return what the repair says while the panel underperforms, None otherwise."""
        normal = self.normal
        if not self.raised or normal is None or self.since is None or not self.low:
            return None
        return Underperformance(
            normal=normal, recent=statistics.fmean(self.low[-LOW_DAYS:]), since=self.since
        )

    def judge(self, share: float, day: str) -> None:
        """Take a judged day's share into the panel's normal or into its low streak."""
        self.latest = share
        normal = self.normal
        if normal is None or not normal > 0:
            self._keep(share)
            return
        relative = share / normal
        if relative < LOW_SHARE:
            if not self.low:
                self.since = day
            self.low = [*self.low, share][-LOW_DAYS:]
            self.back = 0
            self.raised = self.raised or len(self.low) >= LOW_DAYS
            return
        if not self.raised:
            self.low, self.since = [], None
            self._keep(share)
            return
        self.back = self.back + 1 if relative >= BACK_SHARE else 0
        if self.back >= BACK_DAYS:
            self.low, self.since, self.raised, self.back = [], None, False, 0

    def _keep(self, share: float) -> None:
        """Add a day not low to the shares the normal comes from."""
        self.shares = [*self.shares, share][-JUDGED_DAYS:]

    @classmethod
    def from_dict(cls, stored: object) -> PanelOutput:
        """Rebuild a stored panel."""
        data = mapping(stored)
        shares = [_share(value) for value in items(data.get("shares", []))]
        low = [_share(value) for value in items(data.get("low", []))]
        latest = optional_number(data.get("latest"))
        since = data.get("since")
        return cls(
            shares=shares[-JUDGED_DAYS:],
            latest=None if latest is None else _share(latest),
            low=low[-LOW_DAYS:],
            since=None if since is None else _day(since),
            raised=flag(data.get("raised", False)),
            back=count(data.get("back", 0)),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the panel for storage (shares rounded: four digits tell enough)."""
        return {
            "shares": [round(share, 4) for share in self.shares],
            "latest": None if self.latest is None else round(self.latest, 4),
            "low": [round(share, 4) for share in self.low],
            "since": self.since,
            "raised": self.raised,
            "back": self.back,
        }


@dataclass(kw_only=True)
class OutputWatch:
    """Every panel's output against its normal, judged once a day."""

    panels: dict[str, PanelOutput] = field(default_factory=dict)
    # The site's energy (Wh, its panels' sum) on each of the last BEST_OF_DAYS days seen.
    days: dict[str, float] = field(default_factory=dict)
    judged: str | None = None  # the latest day judged (each day is judged once)
    # The panels underperforming, by serial: worked out when judged, not at every poll.
    found: Mapping[str, Underperformance] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        """Work out which of the panels restored underperform."""
        self._find()

    def judge(self, day: str, outputs: Mapping[str, DayOutput]) -> frozenset[str]:
        """Judge a finished ``day`` of the panels' ``outputs``; return the panels judged.

        A day judged already, or older than one judged, is not judged again.
        """
        if self.judged is not None and day <= self.judged:
            return frozenset()
        self.judged = day
        energies = {
            serial: min(max(output.energy, 0.0), DAY_WH_LIMIT) for serial, output in outputs.items()
        }
        site = sum(energies.values())
        self._remember(day, site)
        if not site > 0 or site < BRIGHT_SHARE * max(self.days.values()):
            return frozenset()
        judged = _reported_all_day(outputs)
        if len(judged) < MIN_PANELS:
            return frozenset()
        median = statistics.median(energies[serial] for serial in judged)
        if median < MEDIAN_WH_FLOOR:
            return frozenset()
        for serial in judged:
            panel = self.panels.setdefault(serial, PanelOutput())
            panel.judge(energies[serial] / median, day)
        self._find()
        return frozenset(judged)

    def _remember(self, day: str, energy: float) -> None:
        """Keep the site's energy of ``day``, and forget days older than BEST_OF_DAYS."""
        first = (date.fromisoformat(day) - timedelta(days=BEST_OF_DAYS - 1)).isoformat()
        self.days = {seen: wh for seen, wh in self.days.items() if first <= seen < day}
        self.days[day] = energy

    def _find(self) -> None:
        """Work out the panels underperforming now (a new mapping when any changed)."""
        found = {
            serial: underperformance
            for serial, panel in self.panels.items()
            if (underperformance := panel.underperformance()) is not None
        }
        if found != self.found:
            self.found = found

    def forget(self, serial: str) -> None:
        """Forget a panel gone for good (a new serial starts with a normal of its own)."""
        if self.panels.pop(serial, None) is not None:
            self._find()

    @classmethod
    def from_dict(cls, stored: object, tag: str) -> OutputWatch:
        """Rebuild what was stored (raises Malformed for the site's part; a panel starts afresh)."""
        data = mapping(stored)
        days = {_day(day): _share(wh) for day, wh in mapping(data.get("days", {})).items()}
        judged = optional_text(data.get("judged"))
        return cls(
            panels=restore_each("panel output", tag, data.get("panels"), PanelOutput.from_dict),
            days=days,
            judged=None if judged is None else _day(judged),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return what is kept across restarts."""
        return {
            "panels": {serial: panel.as_dict() for serial, panel in self.panels.items()},
            "days": {day: round(wh, 1) for day, wh in self.days.items()},
            "judged": self.judged,
        }


def _reported_all_day(outputs: Mapping[str, DayOutput]) -> list[str]:
    """Return the panels counted from the day's start that missed hardly any report."""
    whole = [serial for serial, output in outputs.items() if output.whole]
    most = max((outputs[serial].reports for serial in whole), default=0)
    least = most - max(1.0, MISSED_SHARE * most)
    return [serial for serial in whole if outputs[serial].reports >= max(least, 1)]
