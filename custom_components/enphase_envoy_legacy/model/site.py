"""The site's model: everything the integration judges of one Envoy, behind one call per poll.

``Site`` owns every part's state (identity, schedule, census, panel energy and its pacing,
the energy guards, the meters) and offers ``poll``: read what is due, judge it, and say in
a ``Snapshot`` what to show and what Home Assistant must do. ``as_dict``/``from_dict`` are
what the entry stores. One poll's way through it: docs/architecture.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ..envoy_client import (
    EnvoyClient,
    EnvoyData,
    EnvoyError,
    EnvoyInfo,
    EnvoyInverter,
    EnvoyUnsupportedFirmwareError,
)
from .census import CensusReading, InverterCensus, UnlistedInverters
from .counters import MeteredCounters
from .guard import EnergyGuard, log_judgement
from .guard_state import CounterReading, GuardedCounter, GuardState
from .identity import Identity, info_from_dict
from .metered import MeteredReading, MeterSetup
from .meters import MeterWatch
from .outage import Freshness
from .output import OutputWatch
from .pacing import PanelWrites
from .panels import PanelEnergy
from .reading import Reader, Reading
from .schedule import RECHECK, PollScheduler, RhythmState
from .snapshot import Snapshot
from .stored import mapping, restore

_LOGGER = logging.getLogger(__package__)


class Site:
    """One Envoy's site, as the integration judges it."""

    def __init__(self, serial: str, tag: str) -> None:
        """Start with nothing known (``tag`` names the entry in the log, never the serial)."""
        self.serial = serial
        self.tag = tag
        self.identity = Identity(serial)
        self.scheduler = PollScheduler()
        self.census = InverterCensus()
        self.panels = PanelEnergy()
        self.output = OutputWatch()
        self.pacing = PanelWrites()
        self.guard = EnergyGuard()
        self.meters = MeterWatch()
        self.counters = MeteredCounters()
        # What the client learned of the Envoy's sign-in (EnvoyClient.auth_state).
        self.auth: Mapping[str, object] | None = None
        self._last: Snapshot | None = None
        self._day: str | None = None  # the local day of the last poll
        self.freshness = Freshness(tag)
        self._unshown_info: EnvoyInfo | None = None  # read after a failed poll

    @classmethod
    def from_dict(cls, serial: str, tag: str, stored: Mapping[str, Any], now: datetime) -> Site:
        """Rebuild a site from what it stored; a malformed part starts afresh (one log line)."""
        site = cls(serial, tag)

        def part[T](name: str, label: str, build: Callable[[Any], T], fresh: Callable[[], T]) -> T:
            value = stored.get(name)
            if value is None:
                return fresh()
            return restore(label, tag, lambda: build(value), fresh)

        site.guard = EnergyGuard(
            part("guard", "energy guard", lambda v: GuardState.from_dict(mapping(v)), GuardState)
        )
        site.scheduler = PollScheduler(
            state=part("rhythm", "report rhythm", RhythmState.from_dict, RhythmState)
        )
        site.panels = PanelEnergy.from_dict(stored.get("panels"), tag)
        site.scheduler.restored(
            {serial: panel.last_report for serial, panel in site.panels.panels.items()}
        )
        site.output = part(
            "output", "panel output", lambda v: OutputWatch.from_dict(v, tag), OutputWatch
        )
        site.census = InverterCensus(UnlistedInverters.from_dict(stored.get("unlisted"), tag))
        auth = stored.get("auth")
        site.auth = auth if isinstance(auth, Mapping) else None
        setup = part("meters", "meters", MeterSetup.from_dict, lambda: None)
        site.meters = MeterWatch(setup)
        site.counters = MeteredCounters.from_dict(stored.get("counters"), tag)
        info = part("info", "identity", info_from_dict, lambda: None)
        if info is not None and info.serial != serial:
            site.replaced()
        elif info is not None:
            site.identity.restore(info, now)
        return site

    def replaced(self) -> None:
        """Go on with a new Envoy in front of the same site (the entry took its serial).

        Its identity and meters are read anew; every counter starts anew on it, and what
        each shows goes on from where it was (the guards' new base); the inverters, their
        panels' energy and the report rhythm stay, but whether it reports slowly is judged
        afresh (Enphase sets that per Envoy).
        """
        self.identity = Identity(self.serial)
        self.meters = MeterWatch()
        self.auth = None
        self.guard.new_counter()
        self.counters.new_counters()
        self.scheduler.new_envoy()

    def as_dict(self) -> dict[str, Any]:
        """Return what is kept across restarts."""
        return {
            "guard": self.guard.state.as_dict(),
            "rhythm": self.scheduler.state.as_dict(),
            "panels": self.panels.as_dict(),
            "output": self.output.as_dict(),
            "unlisted": self.census.unlisted.as_dict(),
            "auth": dict(self.auth) if self.auth is not None else None,
            "info": self.identity.as_dict(),
            "meters": None if self.meters.detect_due else self.meters.setup.as_dict(),
            "counters": self.counters.as_dict(),
        }

    async def identify(self, client: EnvoyClient, now: datetime) -> EnvoyInfo:
        """Read the Envoy's identity (a first setup); its meters are detected at the first poll.

        Raise the client's errors, or WrongEnvoyError when another Envoy answers.
        """
        info = await self.identity.read(client, now)
        self.meters.detect_again()
        return info

    async def poll(
        self, client: EnvoyClient, now: datetime, devices: Callable[[], Iterable[str]]
    ) -> Snapshot:
        """Read what is due at ``now`` (aware, local), judge it, and return what to show.

        ``devices`` lists the inverters Home Assistant keeps a device of (asked only when
        the inverter list is read). Raise the client's errors: after a failed poll the
        identity is read (an Envoy upgraded to token firmware raises that instead), and
        again at the next poll.
        """
        read_info = self.identity.is_due(now)
        info: EnvoyInfo | None = None
        try:
            if read_info:
                info = await self.identity.read(client, now)
                # The daily identity read detects the meters again (a CT added or removed).
                self.meters.detect_again()
            previous = self._last.envoy if self._last is not None else None
            reading = await self._reader().read(client, now.timestamp(), previous)
        except EnvoyError as err:
            self.identity.read_next_poll()
            if not read_info and (upgraded := await self._diagnose(client, now)) is not None:
                raise upgraded from err
            raise
        finally:
            self.auth = client.auth_state
        info, self._unshown_info = info or self._unshown_info, None
        return self._judge(reading, now, devices, info)

    def _reader(self) -> Reader:
        """Return the reader of this site's Envoy, for its parts as they are now."""
        return Reader(self.tag, self.identity, self.scheduler, self.census, self.meters)

    async def _diagnose(
        self, client: EnvoyClient, now: datetime
    ) -> EnvoyUnsupportedFirmwareError | None:
        """After a failed poll, read the identity: return the error of token firmware, if so."""
        try:
            self._unshown_info = await self.identity.read(client, now)
        except EnvoyUnsupportedFirmwareError as err:
            return err
        except EnvoyError:
            _LOGGER.debug("Envoy %s: /info.xml unreadable too", self.tag)
        return None

    def _judge(
        self,
        reading: Reading,
        now: datetime,
        devices: Callable[[], Iterable[str]],
        info: EnvoyInfo | None,
    ) -> Snapshot:
        """Judge what was read: the census, the guards, the panels; what to show and do."""
        last, envoy, reports = self._last, reading.envoy, reading.reports
        day = self._start_day(now)
        self.freshness.read(
            now.timestamp(), production=reading.production_current, inverters=reports is not None
        )
        site_shown, inverters_shown = shown = self._visibility(now)
        self.freshness.show(shown, say=True)
        census = self.census.last
        changed: frozenset[str] = frozenset()
        changed_panels: frozenset[str] = frozenset()
        if reports is not None:
            # Nothing else about the inverters can have changed without reading them.
            census = self._take_census(envoy.inverters, reports, now, devices)
            changed = census.changed
        peak = census.site_peak
        if reading.fresh_production or last is None:
            production = self._guard(
                envoy, now, peak, was_holding=last is not None and last.production.suspect
            )
        else:
            production = self.guard.carry_forward(last.production, now)
        metered, counters = self._judge_meters(reading.metered, now, peak)
        if reports is not None:
            # After the site totals: a panel's energy today never exceeds the site's.
            moved = self.panels.count(
                {
                    serial: (when, envoy.inverters[serial].last_report_watts)
                    for serial in changed
                    if (when := census.reports.get(serial)) is not None
                },
                self.scheduler.interval,
                day,
                now=now.timestamp(),
                site_today=production.today,
            )
            self.pacing.moved(moved)
            changed_panels = census.listing | self.pacing.due()
        self._last = Snapshot(
            envoy=envoy,
            production=production,
            changed_inverters=changed,
            changed_panels=changed_panels,
            census=census,
            panels=self.panels.panels,
            outputs=self.output.panels,
            underperforming=self.output.found,
            metered=metered,
            counters=counters,
            next_poll=self._next_poll(now),
            info=info,
            inverters_read=reports is not None,
            forgotten=census.forgotten if reports is not None else frozenset(),
            meter_faults=reading.metered.setup.faults() if reading.metered is not None else None,
            slowed=self.scheduler.slowed,
            site_shown=site_shown,
            inverters_shown=inverters_shown,
        )
        return self._last

    def _start_day(self, now: datetime) -> str:
        """Return the local day; a new one starts every inverter's "energy today" again.

        The day it ends is judged first: each panel's output against its normal (output.py).
        """
        day = now.date().isoformat()
        if day != self._day:
            self._day = day
            ended, outputs = self.panels.ending(day)
            if ended is not None:
                self.output.judge(ended, outputs)
            self.pacing.moved(self.panels.start_day(day))
        return day

    def hold(self, now: datetime) -> Snapshot | None:
        """Return the last values to show while the Envoy does not answer, or None: too old.

        Brief trouble is no event (docs/architecture.md, "When the Envoy does not answer"):
        what was read stays shown while it is no older than a healthy Envoy's would be, plus
        HOLD_MARGIN; the site's values and the inverters' each by their own age.
        """
        last = self._last
        if last is None:
            return None
        site_shown, inverters_shown = shown = self._visibility(now)
        self.freshness.show(shown, say=False)
        if not (site_shown or inverters_shown):
            return None
        self._start_day(now)
        self._last = replace(
            last,
            production=self.guard.carry_forward(last.production, now),
            counters=self.counters.carry_forward(now) if last.counters else last.counters,
            changed_inverters=frozenset(),
            changed_panels=frozenset(),
            next_poll=now + timedelta(seconds=RECHECK),
            info=None,
            inverters_read=False,
            forgotten=frozenset(),
            meter_faults=None,
            site_shown=site_shown,
            inverters_shown=inverters_shown,
        )
        return self._last

    def _visibility(self, now: datetime) -> tuple[bool, bool]:
        """Return whether the site's values and the inverters' are young enough to show.

        A healthy Envoy's are at most a report interval old; a meter's production a minute.
        """
        scheduler = self.scheduler
        interval = scheduler.interval
        metered = scheduler.state.metered is True
        return self.freshness.shown(
            now.timestamp(),
            production_age=scheduler.production_interval if metered else interval,
            inverter_age=interval,
        )

    def _take_census(
        self,
        inverters: dict[str, EnvoyInverter],
        reports: dict[str, float],
        now: datetime,
        devices: Callable[[], Iterable[str]],
    ) -> CensusReading:
        """Judge a new inverter list; forget the panels of inverters gone for good."""
        census = self.census.read(
            inverters,
            now.timestamp(),
            interval=self.scheduler.judged_interval,
            known={*devices(), *self.panels.panels},
            reports=reports,
        )
        for serial in census.forgotten:
            self.panels.forget(serial)
            self.output.forget(serial)
            self.pacing.forget(serial)
        return census

    def _guard(
        self, envoy: EnvoyData, now: datetime, peak: int, *, was_holding: bool
    ) -> GuardedCounter:
        """Judge the site's production with its guard, and say so in the log."""
        raw = CounterReading.of(envoy.production)
        production = self.guard.update(
            raw, now, site_peak_power=peak, report_interval=self.scheduler.interval
        )
        log_judgement(self.tag, "production", raw, production, was_holding=was_holding)
        return production

    def _judge_meters(
        self, metered: MeteredReading | None, now: datetime, peak: int
    ) -> tuple[MeteredReading | None, dict[str, GuardedCounter]]:
        """Judge the meters' counters when read; otherwise the last reading stands."""
        if metered is not None:
            return metered, self.counters.judge(metered, now, peak, tag=self.tag)
        last = self._last
        if (
            last is None
            or last.metered is None
            or not self.meters.metered(imeter=self.identity.imeter)
        ):
            return None, {}
        return last.metered, self.counters.carry_forward(now)

    def _next_poll(self, now: datetime) -> datetime:
        """Return the schedule's next poll, or local midnight ("energy today"), the first."""
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
        scheduled = datetime.fromtimestamp(self.scheduler.next_poll(now.timestamp()), UTC)
        return min(scheduled, midnight)
