"""Polls the Envoy for the Enphase Envoy Legacy integration.

The coordinator reads what the schedule says is due (schedule.py), maps the client's errors
to Home Assistant's (errors.py), and hands the reading to the HA-free parts that judge it:
the energy guard (energy.py), the inverter census (census.py) and the panel energy
(panels.py); what a poll gives the entities is in data.py. The Envoy's identity is in
identity.py, the device registry in devices.py, repair issues in issues.py, and what is
kept across restarts in store.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .census import CensusReading, InverterCensus
from .const import AUTH_FAILURES_BEFORE_REAUTH, CONF_SERIAL, DOMAIN, LOGGER, PRODUCTION_INTERVAL
from .data import EnvoyLegacyData
from .devices import forget_inverters, inverter_devices
from .energy import EnergyGuard
from .energy_log import log_judgement
from .energy_state import GuardedProduction
from .envoy_client import (
    DEFAULT_TIMEOUT,
    EnvoyAuthenticationError,
    EnvoyClient,
    EnvoyData,
    EnvoyError,
    EnvoyInverter,
    EnvoyUnsupportedFirmwareError,
    credentials_of,
)
from .errors import translated
from .identity import EnvoyIdentity
from .issues import MeterFaults, SilentInverters
from .metered import MeteredReading
from .metered_guard import MeteredGuards
from .naming import entry_tag
from .pacing import PanelWrites
from .panels import PanelEnergy
from .reader import MeterWatch, read_due
from .schedule import RECHECK, PollScheduler
from .signals import async_signal
from .store import EntryStore

type EnvoyLegacyConfigEntry = ConfigEntry[EnvoyLegacyCoordinator]


class EnvoyLegacyCoordinator(DataUpdateCoordinator[EnvoyLegacyData]):
    """Reads the site totals and the microinverters of one Envoy."""

    config_entry: EnvoyLegacyConfigEntry
    request_timeout: float = DEFAULT_TIMEOUT

    def __init__(self, hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
        """Initialize the coordinator from the entry's data."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            # Home Assistant logs failed polls under this name: never the serial, whose last
            # six characters are the Envoy's password. The entry id's end tells entries apart.
            name=f"{DOMAIN} {entry_tag(entry.entry_id)}",
            # Replaced after every poll by the time until the next one (see schedule.py).
            update_interval=timedelta(seconds=RECHECK),
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.tag = entry_tag(entry.entry_id)
        self.client = EnvoyClient(
            entry.data[CONF_HOST],
            self.serial,
            async_get_clientsession(hass),
            credentials=credentials_of(entry.data),
            request_timeout=self.request_timeout,
            name=f"Envoy {self.tag}",
        )
        self.identity = EnvoyIdentity(hass, entry.entry_id, self.serial, self.client)
        self._auth_failures = 0
        self._store = EntryStore(hass, entry.entry_id)
        self.guard = EnergyGuard()
        self.scheduler = PollScheduler(PRODUCTION_INTERVAL)
        self.next_poll: datetime | None = None
        self.panels = PanelEnergy()
        self.pacing = PanelWrites()
        self.census = InverterCensus()
        self.silent_inverters = SilentInverters(hass, self.serial)
        self.meters = MeterWatch()
        self.counters = MeteredGuards()
        self.meter_faults = MeterFaults(hass, self.serial)
        self._day: str | None = None  # the local day of the last poll
        self._signalled_success = True  # the health the inverter entities last heard of

    async def _async_setup(self) -> None:
        """Restore what earlier runs learned; read the Envoy's identity only on a first setup.

        On a restart the stored identity serves until the daily re-read: the first poll's
        Digest login proves the Envoy is still the one with this serial (its password is
        derived from the serial), so setup costs only the two reads of a poll and the one
        Digest challenge of a new client.
        """
        restored = await self._store.async_restore()
        self.guard, self.panels, self.census = restored.guard, restored.panels, restored.census
        self.scheduler.state = restored.rhythm
        self.meters, self.counters = MeterWatch(restored.meters), restored.counters
        self.identity.imeter = self.meters.setup.imeter
        self.client.restore_auth(restored.auth)
        if self.identity.restore(restored.info):
            return
        # A first setup: the meters are detected at the first poll, after this read.
        self.meters.detect_due = True
        try:
            await self.identity.async_read()
        except EnvoyUnsupportedFirmwareError as err:
            raise translated(ConfigEntryError, err) from err
        except EnvoyError as err:
            raise translated(UpdateFailed, err) from err

    async def async_save(self) -> None:
        """Write what is kept across restarts now (on unload; otherwise it is written lazily)."""
        await self._store.async_save(self)

    async def _async_update_data(self) -> EnvoyLegacyData:
        """Read what the schedule says can have changed, then judge it.

        A failed poll is retried after RECHECK seconds; a successful one sets the time of
        the next (the schedule's, or local midnight for "energy today", whichever is first).
        """
        self.update_interval = timedelta(seconds=RECHECK)
        now = dt_util.now()
        previous = self.data.envoy if self.data is not None else None
        read_info = self.identity.is_due
        try:
            if read_info:
                await self.identity.async_read()
                # The daily identity read detects the meters again (a CT added or removed).
                self.meters.detect_due = True
            reading = await read_due(
                self.client,
                self.scheduler,
                self.census,
                previous,
                now.timestamp(),
                self.tag,
                self.meters,
                imeter=self.identity.info.imeter,
            )
        except EnvoyError as err:
            # The Envoy may come back upgraded: read its identity again first.
            self.identity.due = None
            if not read_info and (upgraded := await self.identity.async_diagnose()):
                kind = ConfigEntryError if self.data is None else UpdateFailed
                raise translated(kind, upgraded) from upgraded
            if isinstance(err, EnvoyAuthenticationError):
                self._auth_failures += 1
                if self._auth_failures >= AUTH_FAILURES_BEFORE_REAUTH:
                    raise translated(ConfigEntryAuthFailed, err) from err
            raise translated(UpdateFailed, err) from err
        self._auth_failures = 0
        envoy, reports = reading.envoy, reading.reports
        day = now.date().isoformat()
        if day != self._day:
            # A new day starts every inverter's "energy today" again, read or not.
            self._day = day
            self.pacing.moved(self.panels.start_day(day))
        census = self.census.last
        changed: frozenset[str] = frozenset()
        changed_panels: frozenset[str] = frozenset()
        if reports is not None:
            # Nothing else about the inverters can have changed without reading them (their
            # silence and retirement are judged at the next read, minutes later).
            census = self._take_census(envoy.inverters, reports, now)
            changed = census.changed
        if reading.fresh_production or self.data is None:
            production = self._guard(envoy, now, census.site_peak)
        else:
            production = self.guard.carry_forward(self.data.production, now)
        metered, counters = self._judge_meters(reading.metered, now, census.site_peak)
        if reports is not None:
            # After the site totals: a panel's energy today never exceeds the site's. Only
            # the listed, not retired inverters' reports count (census.reports).
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
        self._schedule_next(now)
        return EnvoyLegacyData(
            envoy=envoy,
            production=production,
            changed_inverters=changed,
            changed_panels=changed_panels,
            census=census,
            panels=self.panels.panels,
            metered=metered,
            counters=counters,
        )

    @callback
    def async_update_listeners(self) -> None:
        """Update the listeners, and signal the inverters that have something new to show.

        After a good poll only the inverters and panels that changed are signalled
        (signals.py); when the Envoy's health changed (a failed poll, the first good one
        after it) every listed inverter is.
        """
        super().async_update_listeners()
        data: EnvoyLegacyData | None = self.data  # None after a failed first refresh
        if data is None:
            return
        inverters: Iterable[str] = data.changed_inverters
        panels: Iterable[str] = data.changed_panels
        if self.last_update_success != self._signalled_success:
            # (After a failed poll Home Assistant calls no listener until a good one.)
            self._signalled_success = self.last_update_success
            inverters = panels = data.inverters
        async_signal(self.hass, self.config_entry.entry_id, inverters, panels)

    def _schedule_next(self, now: datetime) -> None:
        """Set the time until the next poll, and the lazy write of what was learned."""
        midnight = dt_util.start_of_local_day(now) + timedelta(days=1)
        next_poll = min(
            dt_util.utc_from_timestamp(self.scheduler.next_poll(now.timestamp())), midnight
        )
        self.next_poll = next_poll
        self.update_interval = max(next_poll - now, timedelta(seconds=1))
        self._store.async_delay_save(self)

    def _guard(self, envoy: EnvoyData, now: datetime, peak: int) -> GuardedProduction:
        """Judge the reading with the energy guard (``peak``: see census.py), and log it."""
        was_holding = self.data is not None and self.data.production.suspect
        self.guard.report_interval = self.scheduler.interval
        production = self.guard.update(envoy.production, now, site_peak_power=peak)
        log_judgement(self.tag, envoy.production, production, was_holding=was_holding)
        return production

    def _judge_meters(
        self, metered: MeteredReading | None, now: datetime, peak: int
    ) -> tuple[MeteredReading | None, dict[str, GuardedProduction]]:
        """Judge the meters' counters (metered_guard.py) and health (issues.py) when read.

        Not read this poll: the last reading stands (unless no meter is left), and only
        "energy today" can change.
        """
        if metered is not None:
            self.meter_faults.update(metered.setup)
            return metered, self.counters.judge(metered, now, peak)
        if self.data is None or self.data.metered is None or not self.meters.setup.metered:
            return None, {}
        return self.data.metered, self.counters.carry_forward(now)

    def _take_census(
        self, inverters: dict[str, EnvoyInverter], reports: dict[str, float], now: datetime
    ) -> CensusReading:
        """Judge a new inverter list (census.py): repair issues, and forget who is long gone."""
        entry_id = self.config_entry.entry_id
        devices = inverter_devices(self.hass, entry_id, self.serial)
        known = devices.keys() | self.panels.panels.keys()
        interval = self.scheduler.interval
        census = self.census.read(
            inverters, now.timestamp(), interval=interval, known=known, reports=reports
        )
        self.silent_inverters.update(inverters, census.retired, now)
        forget_inverters(self.hass, entry_id, devices, census.forgotten, self.tag)
        for serial in census.forgotten:
            self.panels.panels.pop(serial, None)
            self.pacing.forget(serial)
            self.silent_inverters.forget(serial)
        return census
