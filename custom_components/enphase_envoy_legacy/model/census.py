"""The inverter census: who is listed, retired, reporting, and what changed since the last read.

``InverterCensus.read`` judges each read of the inverter list against the one before and
returns a frozen ``CensusReading``. Envoys keep listing removed inverters for years (they
retire after RETIRED_AFTER of silence) and some answer an empty list at night (the last
records are kept then); an inverter unlisted for UNLISTED_FOR_GOOD is forgotten.
Times are epoch seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ..envoy_client import EnvoyInverter
from .panels import (
    FUTURE_SLACK,
    MAX_MICROINVERTER_W,
    PRODUCING_SHARE,
    latest_burst,
    plausible_watts,
    reporting_problems,
    site_reports,
)
from .stored import number, restore_each

_LOGGER = logging.getLogger(__package__)

# Three months: longer than any outage, repair visit or an Envoy's empty lists at night.
UNLISTED_FOR_GOOD: Final = 90 * 24 * 3600.0
# Microinverters listed but silent this long were removed or replaced long ago: their power
# is no longer shown and they raise no repair issue.
RETIRED_AFTER: Final = 30 * 24 * 3600.0


def report_times(inverters: Mapping[str, EnvoyInverter], now: float) -> dict[str, float]:
    """Return each inverter's last report time, leaving out those dated ahead of the clock.

    A report dated ahead of the clock is garbage: it is neither counted nor learned from (it
    would stop an inverter's counting, or the rhythm, until that date).
    """
    latest = now + FUTURE_SLACK
    return {
        serial: when
        for serial, item in inverters.items()
        if (when := item.last_report_date.timestamp()) <= latest
    }


@dataclass(frozen=True, kw_only=True)
class CensusReading:
    """What one read of the inverter list says about the site's inverters."""

    changed: frozenset[str] = frozenset()
    listing: frozenset[str] = frozenset()
    retired: frozenset[str] = frozenset()
    problems: frozenset[str] = frozenset()
    reporting: int = 0
    known: int = 0
    site_peak: int = 0
    forgotten: frozenset[str] = frozenset()
    # The last report time of each listed, not retired inverter (none ahead of the clock).
    reports: Mapping[str, float] = field(default_factory=dict)


def producing(inverters: Mapping[str, EnvoyInverter], burst: Iterable[str], peak: int) -> bool:
    """Return True when a burst's reports carry PRODUCING_SHARE of the site's peak power."""
    produced = sum(plausible_watts(inverters[serial].last_report_watts) or 0 for serial in burst)
    return produced > 0 and produced >= PRODUCING_SHARE * peak


class UnlistedInverters:
    """Remembers since when each known inverter has been missing from the Envoy's list."""

    def __init__(self, since: Mapping[str, float] | None = None) -> None:
        """Start from since when each was missing ({serial: epoch seconds})."""
        self.since: dict[str, float] = dict(since or {})

    @classmethod
    def from_dict(cls, stored: object, tag: str) -> UnlistedInverters:
        """Rebuild what was stored; a malformed item starts afresh (is left out)."""
        return cls(restore_each("unlisted inverters", tag, stored, number))

    def as_dict(self) -> dict[str, float]:
        """Return the state for storage."""
        return dict(self.since)

    def update(self, known: Iterable[str], listed: Iterable[str], now: float) -> set[str]:
        """Note who is missing from the list; return the inverters gone for good.

        ``known``: the inverters the integration has (devices, panels); ``listed``: those in
        the Envoy's list now. An inverter returned here is forgotten here too.
        """
        present = set(listed)
        missing = set(known) - present
        # A stored time ahead of the clock counts from now: nothing is forgotten early.
        self.since = {serial: min(self.since.get(serial, now), now) for serial in missing}
        gone = {serial for serial, since in self.since.items() if now - since >= UNLISTED_FOR_GOOD}
        for serial in gone:
            del self.since[serial]
        return gone


class InverterCensus:
    """Judges each read of the inverter list against the one before."""

    def __init__(self, unlisted: UnlistedInverters | None = None) -> None:
        """Start with no inverter seen, and since when each was unlisted (as stored)."""
        self.unlisted = unlisted or UnlistedInverters()
        self.last = CensusReading()
        self._inverters: Mapping[str, EnvoyInverter] = {}

    def keep_through_empty_lists(
        self, listed: dict[str, EnvoyInverter], tag: str
    ) -> dict[str, EnvoyInverter]:
        """Return the list to read: the last records when the Envoy lists none at all.

        Some firmware answers an empty list at night every few hours; an inverter that is
        really gone disappears from a list that still holds the others. ``tag`` names the
        entry in the log.
        """
        if listed or not self._inverters:
            return listed
        _LOGGER.debug("Envoy %s listed no inverters; keeping the last records", tag)
        return dict(self._inverters)

    def read(
        self,
        inverters: Mapping[str, EnvoyInverter],
        now: float,
        *,
        interval: float,
        known: Iterable[str] = (),
        reports: Mapping[str, float] | None = None,
    ) -> CensusReading:
        """Take in the inverter list read at ``now``; return what it says (also kept as last).

        ``interval`` is the site's report interval (``PollScheduler.judged_interval``);
        ``known`` the inverters the integration keeps something of (devices, panel energy),
        for forgetting those gone for good; ``reports`` the list's report_times, when the
        caller has them already.
        """
        retired = frozenset(
            serial
            for serial, item in inverters.items()
            if now - item.last_report_date.timestamp() >= RETIRED_AFTER
        )
        before = self._inverters
        changed = {
            serial
            for serial in inverters.keys() | before.keys()
            if inverters.get(serial) != before.get(serial)
        }
        if reports is None:
            reports = report_times(inverters, now)
        reports = {serial: when for serial, when in reports.items() if serial not in retired}
        problems = reporting_problems(reports, now, interval)
        changed |= retired ^ self.last.retired
        changed |= problems ^ self.last.problems
        self._inverters = dict(inverters)  # a copy: the caller may change its own
        site_peak = sum(
            min(max(item.max_report_watts, 0), MAX_MICROINVERTER_W)
            for serial, item in inverters.items()
            if serial not in retired
        )
        # Who reported in the latest burst, while the site reports (panels.site_reports).
        # (Whether its panels produced is worked out only for a burst that is late.)
        newest, burst = latest_burst(reports, interval)
        if not site_reports(newest, now, interval, producing=False) and not (
            site_reports(newest, now, interval, producing=True)
            and producing(inverters, burst, site_peak)
        ):
            burst = []
        self.last = CensusReading(
            changed=frozenset(changed),
            listing=frozenset(inverters.keys() ^ before.keys()),
            retired=retired,
            problems=problems,
            reporting=len(burst),
            known=len(inverters) - len(retired),
            site_peak=site_peak,
            forgotten=frozenset(self.unlisted.update(known, inverters, now)),
            reports=reports,
        )
        return self.last
