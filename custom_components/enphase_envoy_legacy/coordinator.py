"""Polls the Envoy for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, SUN_EVENT_SUNRISE
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.sun import get_astral_event_date, is_up
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .census import UNLISTED_FOR_GOOD, UnlistedInverters
from .config_flow import credentials_of
from .const import (
    AUTH_FAILURES_BEFORE_REAUTH,
    CONF_SERIAL,
    DOMAIN,
    ENERGY_SAVE_DELAY,
    ENERGY_STORE_VERSION,
    INFO_REFRESH_INTERVAL,
    LOGGER,
    MANUFACTURER,
    MAX_MICROINVERTER_W,
    MODEL_BY_PART_NUMBER,
    PRODUCTION_INTERVAL,
    RETIRED_INVERTER_AFTER,
    SILENT_INVERTER_AFTER,
)
from .energy import EnergyGuard, GuardedProduction, GuardState
from .envoy_client import (
    DEFAULT_TIMEOUT,
    EnvoyAuthenticationError,
    EnvoyClient,
    EnvoyData,
    EnvoyError,
    EnvoyInfo,
    EnvoyInverter,
    EnvoyProduction,
    EnvoyUnsupportedFirmwareError,
)
from .errors import reason
from .naming import entry_tag
from .panels import FUTURE_SLACK, PanelEnergy, PanelState, reporting_count, reporting_problems
from .schedule import RECHECK, PollScheduler, RhythmState

type EnvoyLegacyConfigEntry = ConfigEntry[EnvoyLegacyCoordinator]


@dataclass(frozen=True, kw_only=True)
class EnvoyLegacyData:
    """One poll: the Envoy's answer as it came, and the site totals the sensors show."""

    envoy: EnvoyData
    production: GuardedProduction
    # The inverters whose entities have something new to show since the last poll.
    changed_inverters: frozenset[str] = field(default_factory=frozenset)
    # Each inverter's energy (see panels.py), the ones with a reporting problem, and how
    # many of the listed (not retired) inverters reported in the last interval.
    panels: Mapping[str, PanelState] = field(default_factory=dict)
    reporting_problems: frozenset[str] = field(default_factory=frozenset)
    inverters_reporting: int = 0
    inverters_known: int = 0

    @property
    def inverters(self) -> dict[str, EnvoyInverter]:
        """Return the microinverters by serial."""
        return self.envoy.inverters


def energy_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of an entry's energy guard."""
    return Store(hass, ENERGY_STORE_VERSION, f"{DOMAIN}.{entry_id}.energy")


def is_retired(inverter: EnvoyInverter, now: datetime) -> bool:
    """Return True for an inverter listed but silent for RETIRED_INVERTER_AFTER or longer."""
    return now - inverter.last_report_date >= RETIRED_INVERTER_AFTER


def _info_from_dict(data: object) -> EnvoyInfo | None:
    """Return a stored identity, or None when there is none or it is malformed."""
    if not isinstance(data, dict):
        return None
    serial, firmware = data.get("serial"), data.get("firmware")
    part_number, web_tokens = data.get("part_number"), data.get("web_tokens")
    if (
        not isinstance(serial, str)
        or not isinstance(firmware, str)
        or not isinstance(part_number, str | None)
        or not isinstance(web_tokens, bool)
    ):
        return None
    return EnvoyInfo(
        serial=serial, firmware=firmware, part_number=part_number, web_tokens=web_tokens
    )


def _translated[E: HomeAssistantError](kind: type[E], err: EnvoyError) -> E:
    """Return a Home Assistant exception saying what a client error means, in translation.

    Home Assistant logs the message of a failed poll at ERROR: it names the reason only,
    never the client's own message, which may hold the Envoy's address or its challenge
    (see errors.py). That message goes to DEBUG.
    """
    LOGGER.debug("Envoy request failed: %s", err)
    return kind(translation_domain=DOMAIN, translation_key=reason(err))


def token_firmware_issue_id(serial: str) -> str:
    """Return the id of the repair issue for an Envoy that moved to token firmware."""
    return f"{serial}_token_firmware"


def silent_inverter_issue_id(serial: str, inverter_serial: str) -> str:
    """Return the id of the repair issue for a microinverter that stopped reporting."""
    return f"{serial}_inverter_silent_{inverter_serial}"


class EnvoyLegacyCoordinator(DataUpdateCoordinator[EnvoyLegacyData]):
    """Reads the site totals and the microinverters of one Envoy."""

    config_entry: EnvoyLegacyConfigEntry
    info: EnvoyInfo
    envoy_device_id: str
    request_timeout: float = DEFAULT_TIMEOUT

    def __init__(self, hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
        """Initialize the coordinator from the entry's data and options."""
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
        )
        self._info_due: datetime | None = None
        self._auth_failures = 0
        # Whether the switch to Connection: close was said (or restored: said before).
        self._said_connection_close = False
        self._store = energy_store(hass, entry.entry_id)
        self.guard = EnergyGuard()
        self.scheduler = PollScheduler(PRODUCTION_INTERVAL)
        self.next_poll: datetime | None = None
        # The listed inverters silent for RETIRED_INVERTER_AFTER, as of the last read.
        self.retired_inverters: set[str] = set()
        self._site_peak = 0  # what the listed inverters can produce together (W)
        self.panels = PanelEnergy()
        self.unlisted = UnlistedInverters()
        self._problems: frozenset[str] = frozenset()
        self._listeners_saw_success = True
        self._day: str | None = None  # the local day of the last poll
        self._report_times: dict[str, float] = {}  # each listed inverter's last report
        self._reporting = 0
        # Issues outlive a reload of the entry: pick up the ones raised before it.
        prefix = silent_inverter_issue_id(self.serial, "")
        self._silent_inverters: set[str] = {
            issue_id.removeprefix(prefix)
            for domain, issue_id in ir.async_get(hass).issues
            if domain == DOMAIN and issue_id.startswith(prefix)
        }

    async def _async_setup(self) -> None:
        """Restore what earlier runs learned; read the Envoy's identity only on a first setup.

        On a restart the stored identity serves until the daily re-read: the first poll's
        Digest login proves the Envoy is still the one with this serial (its password is
        derived from the serial), so setup costs only the two reads of a poll and the one
        Digest challenge of a new client.
        """
        stored = await self._store.async_load() or {}
        guard_state = GuardState.from_dict(stored)
        if guard_state is None:
            LOGGER.warning(
                "The stored state of the energy guard of entry %s is malformed; starting"
                " the energy guard afresh",
                self.config_entry.entry_id,
            )
        self.guard = EnergyGuard(guard_state)
        self.scheduler.state = RhythmState.from_dict(stored.get("rhythm"))
        self.panels = PanelEnergy(stored.get("panels"))
        self.unlisted = UnlistedInverters(stored.get("unlisted"))
        self.client.restore_auth(stored.get("auth"))
        self._said_connection_close = self.client.connection_close
        info = _info_from_dict(stored.get("info"))
        if info is not None and info.serial == self.serial and not info.uses_tokens:
            self._register(info)
            self._info_due = dt_util.utcnow() + INFO_REFRESH_INTERVAL
            return
        try:
            await self._async_read_info()
        except EnvoyUnsupportedFirmwareError as err:
            raise _translated(ConfigEntryError, err) from err
        except EnvoyError as err:
            raise _translated(UpdateFailed, err) from err

    def _stored(self) -> dict[str, Any]:
        """Return what is kept across restarts."""
        return {
            **self.guard.state.as_dict(),
            "rhythm": self.scheduler.state.as_dict(),
            "panels": self.panels.as_dict(),
            "unlisted": self.unlisted.as_dict(),
            "auth": self.client.auth_state,
            "info": asdict(self.info),
        }

    async def async_save_energy(self) -> None:
        """Write what is kept across restarts now (on unload; otherwise it is written lazily)."""
        await self._store.async_save(self._stored())

    async def _async_update_data(self) -> EnvoyLegacyData:
        """Read what the schedule says can have changed, then guard it.

        A failed poll is retried after RECHECK seconds; a successful one sets the time of
        the next (the schedule's, or local midnight for "energy today", whichever is first).
        """
        self.update_interval = timedelta(seconds=RECHECK)
        now = dt_util.now()
        timestamp = now.timestamp()
        previous = self.data.envoy if self.data is not None else None
        read_info = self._info_due is None or dt_util.utcnow() >= self._info_due
        try:
            if read_info:
                await self._async_read_info()
            envoy, fresh_inverters, fresh_production = await self._async_read(previous, timestamp)
        except EnvoyError as err:
            self._log_connection_close()
            # The Envoy may come back upgraded: read its identity again first.
            self._info_due = None
            if not read_info:
                await self._async_diagnose()
            if isinstance(err, EnvoyAuthenticationError):
                self._auth_failures += 1
                if self._auth_failures >= AUTH_FAILURES_BEFORE_REAUTH:
                    raise _translated(ConfigEntryAuthFailed, err) from err
            raise _translated(UpdateFailed, err) from err
        self._log_connection_close()
        self._auth_failures = 0
        day = now.date().isoformat()
        changed: set[str] = set()
        if day != self._day:
            # A new day starts every inverter's "energy today" again, read or not.
            self._day = day
            changed = {serial for serial in self.panels.panels if self.panels.new_day(serial, day)}
        if fresh_inverters:
            # Nothing else about the inverters can have changed without reading them (their
            # silence and retirement are judged at the next read, minutes later).
            self._update_silent_inverters(envoy.inverters, now)
            self._forget_unlisted(envoy.inverters, timestamp)
            changed |= self._changed_inverters(previous, envoy, now)
            self._site_peak = sum(
                min(max(inverter.max_report_watts, 0), MAX_MICROINVERTER_W)
                for serial, inverter in envoy.inverters.items()
                if serial not in self.retired_inverters
            )
        if fresh_production or self.data is None:
            production = self._guard(envoy, now)
        else:
            production = self.guard.carry_forward(self.data.production, now)
        if fresh_inverters:
            # After the site totals: a panel's energy today never exceeds the site's.
            problems = self._problems
            self._count_panels(envoy.inverters, changed, now, production.today)
            changed |= problems ^ self._problems
        self._schedule_next(now)
        return EnvoyLegacyData(
            envoy=envoy,
            production=production,
            changed_inverters=frozenset(changed),
            panels=self.panels.panels,
            reporting_problems=self._problems,
            inverters_reporting=self._reporting,
            inverters_known=len(envoy.inverters) - len(self.retired_inverters),
        )

    def _log_connection_close(self) -> None:
        """Say once that the client switched to Connection: close (stored at the next save)."""
        if self.client.connection_close and not self._said_connection_close:
            self._said_connection_close = True
            LOGGER.info(
                "Envoy %s resets kept-alive connections: every request now asks it to close "
                "the connection after answering",
                self.tag,
            )

    @callback
    def async_update_listeners(self) -> None:
        """Call the listeners that have something new to show.

        Inverter entities listen with their inverter's serial as context: after a good poll
        only those of the inverters that changed are called, so with hundreds of inverters
        a poll costs time in proportion to what changed. After a failed poll, or the first
        good one after it, every listener is called (their availability changed).
        """
        success = self.last_update_success
        if self.data is None or success != self._listeners_saw_success or not success:
            self._listeners_saw_success = success
            super().async_update_listeners()
            return
        changed = self.data.changed_inverters
        for update_callback, context in list(self._listeners.values()):
            if context is not None and context not in changed:
                continue
            try:
                update_callback()
            except Exception:
                self.logger.exception("Unexpected error updating a listener of %s", self.name)

    def _count_panels(
        self,
        inverters: dict[str, EnvoyInverter],
        changed: set[str],
        now: datetime,
        site_today: int | None,
    ) -> None:
        """Count the new reports of the inverters that changed; judge which stopped reporting.

        ``site_today`` is the site's guarded energy today (None when unknown): no panel's
        energy today goes above it.
        """
        interval = self.scheduler.interval
        day = now.date().isoformat()
        timestamp = now.timestamp()
        retired = self.retired_inverters
        reports = {
            serial: when for serial, when in self._report_times.items() if serial not in retired
        }
        for serial in changed:
            if (when := reports.get(serial)) is not None:
                watts = inverters[serial].last_report_watts
                self.panels.report(
                    serial, when, watts, interval, day, now=timestamp, site_today=site_today
                )
        self._problems = reporting_problems(reports, timestamp, interval)
        self._reporting = reporting_count(reports, timestamp, interval)

    async def _async_read(
        self, previous: EnvoyData | None, timestamp: float
    ) -> tuple[EnvoyData, bool, bool]:
        """Read the endpoints that are due.

        Return the reading, whether the inverters were read, and whether production was.
        """
        fetch = self.scheduler.plan(timestamp)
        inverters = previous.inverters if previous is not None else {}
        production: EnvoyProduction | None = previous.production if previous else None
        new_reports = False
        read_inverters = fetch.inverters or previous is None
        if read_inverters:
            inverters = self._keep_inverters_through_empty_lists(await self.client.inverters())
            # A report dated ahead of the clock is garbage: it is neither counted nor learned
            # from (it would stop an inverter's counting, or the rhythm, until that date).
            latest = timestamp + FUTURE_SLACK
            self._report_times = {
                serial: when
                for serial, item in inverters.items()
                if (when := item.last_report_date.timestamp()) <= latest
            }
            new_reports = self.scheduler.inverters_seen(timestamp, self._report_times)
        fresh = (
            production is None
            or fetch.production
            or (new_reports and self.scheduler.production_follows_reports)
        )
        if fresh or production is None:
            reading = await self.client.production()
            self.scheduler.production_seen(timestamp, changed=reading != production)
            production = reading
        return EnvoyData(production=production, inverters=inverters), read_inverters, fresh

    async def _async_diagnose(self) -> None:
        """After a failed poll, read /info.xml: an Envoy on token firmware says so there."""
        try:
            await self._async_read_info()
        except EnvoyUnsupportedFirmwareError as err:
            kind = ConfigEntryError if self.data is None else UpdateFailed
            raise _translated(kind, err) from err
        except EnvoyError:
            LOGGER.debug("Envoy %s: /info.xml unreadable too", self.tag)

    def _schedule_next(self, now: datetime) -> None:
        """Set the time until the next poll, and the lazy write of what was learned."""
        midnight = dt_util.start_of_local_day(now) + timedelta(days=1)
        next_poll = min(
            dt_util.utc_from_timestamp(self.scheduler.next_poll(now.timestamp())), midnight
        )
        self.next_poll = next_poll
        self.update_interval = max(next_poll - now, timedelta(seconds=1))
        self._store.async_delay_save(self._stored, ENERGY_SAVE_DELAY)

    def _changed_inverters(
        self, previous: EnvoyData | None, envoy: EnvoyData, now: datetime
    ) -> frozenset[str]:
        """Return the inverters whose record, listing or retirement changed since the last poll."""
        retired = {serial for serial, item in envoy.inverters.items() if is_retired(item, now)}
        before = previous.inverters if previous is not None else {}
        changed = {
            serial
            for serial in envoy.inverters.keys() | before.keys()
            if envoy.inverters.get(serial) != before.get(serial)
        }
        changed |= retired ^ self.retired_inverters
        self.retired_inverters = retired
        return frozenset(changed)

    def _keep_inverters_through_empty_lists(
        self, inverters: dict[str, EnvoyInverter]
    ) -> dict[str, EnvoyInverter]:
        """Keep the last inverter records when the Envoy lists none at all.

        Some firmware answers an empty list at night every few hours; an inverter that is
        really gone disappears from a list that still holds the others.
        """
        previous = self.data.inverters if self.data is not None else {}
        if inverters or not previous:
            return inverters
        LOGGER.debug("Envoy %s listed no inverters; keeping the last records", self.tag)
        return previous

    def _guard(self, envoy: EnvoyData, now: datetime) -> GuardedProduction:
        """Judge the reading with the energy guard, log what it held back, and remember."""
        peak = self._site_peak
        was_holding = self.data is not None and self.data.production.suspect
        self.guard.report_interval = self.scheduler.interval
        production = self.guard.update(envoy.production, now, site_peak_power=peak)
        raw = envoy.production
        if production.suspect and not was_holding:
            LOGGER.warning(
                "Envoy %s reports production that cannot be right (lifetime %s Wh, today %s Wh,"
                " now %s W); showing the last good values until it makes sense again",
                self.tag,
                raw.watt_hours_lifetime,
                raw.watt_hours_today,
                raw.watts_now,
            )
        elif production.suspect:
            LOGGER.debug("Envoy %s: holding back %s", self.tag, raw)
        elif was_holding:
            LOGGER.info("Envoy %s reports plausible production again", self.tag)
        if production.rebased:
            LOGGER.warning(
                "Envoy %s: its lifetime counter moved to %s Wh and stayed there (a counter wrap"
                " or a replaced Envoy); lifetime energy continues from %s Wh without a jump",
                self.tag,
                raw.watt_hours_lifetime,
                production.lifetime,
            )
        return production

    async def _async_read_info(self) -> None:
        """Read /info.xml, check it is still this Envoy and keep its device up to date."""
        try:
            info = await self.client.info()
        except EnvoyUnsupportedFirmwareError as err:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                token_firmware_issue_id(self.serial),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="token_firmware",
                translation_placeholders={"serial": self.serial, "error": str(err)},
            )
            raise
        ir.async_delete_issue(self.hass, DOMAIN, token_firmware_issue_id(self.serial))
        if info.serial != self.serial:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="serial_mismatch")
        self._info_due = dt_util.utcnow() + INFO_REFRESH_INTERVAL
        self._register(info)

    def _register(self, info: EnvoyInfo) -> None:
        """Keep the Envoy's identity and its device up to date."""
        self.info = info
        prefix = (info.part_number or "")[:9]
        device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={(DOMAIN, self.serial)},
            manufacturer=MANUFACTURER,
            name=f"Envoy {self.serial}",
            model=MODEL_BY_PART_NUMBER.get(prefix, "Envoy"),
            model_id=info.part_number,
            serial_number=self.serial,
            sw_version=info.firmware,
            configuration_url=self.client.url,
        )
        self.envoy_device_id = device.id

    def _forget_unlisted(self, inverters: dict[str, EnvoyInverter], timestamp: float) -> None:
        """Forget the inverters the Envoy stopped listing long ago (see census.py)."""
        registry = dr.async_get(self.hass)
        devices = {
            serial: device
            for device in dr.async_entries_for_config_entry(registry, self.config_entry.entry_id)
            for domain, serial in device.identifiers
            if domain == DOMAIN and serial != self.serial
        }
        known = devices.keys() | self.panels.panels.keys()
        for serial in self.unlisted.update(known, inverters, timestamp):
            if (device := devices.get(serial)) is not None:
                registry.async_update_device(
                    device.id, remove_config_entry_id=self.config_entry.entry_id
                )
            self.panels.panels.pop(serial, None)
            self._silent_inverters.discard(serial)
            ir.async_delete_issue(self.hass, DOMAIN, silent_inverter_issue_id(self.serial, serial))
            LOGGER.info(
                "Envoy %s: forgot microinverter %s, not listed for %d days",
                self.tag,
                serial,
                UNLISTED_FOR_GOOD // 86400,
            )

    def _daylight_for_long_enough(self, now: datetime) -> bool:
        """Return True when the sun has been up for SILENT_INVERTER_AFTER at least."""
        if not is_up(self.hass, now):
            return False
        sunrise = get_astral_event_date(self.hass, SUN_EVENT_SUNRISE, dt_util.as_local(now).date())
        # No sunrise today while the sun is up: polar day.
        return sunrise is None or now - sunrise >= SILENT_INVERTER_AFTER

    def _update_silent_inverters(self, inverters: dict[str, EnvoyInverter], now: datetime) -> None:
        """Raise a repair issue for each inverter silent in daylight; clear it when it reports.

        An inverter is silent when its last report is older than SILENT_INVERTER_AFTER while
        another inverter of the site reported within that time and the sun has been up at
        least that long: nightfall, an Envoy outage or a whole-site shutdown flags nothing.
        """
        cutoff = now - SILENT_INVERTER_AFTER
        judge = self._daylight_for_long_enough(now) and any(
            inverter.last_report_date >= cutoff for inverter in inverters.values()
        )
        for serial in list(self._silent_inverters):
            inverter = inverters.get(serial)
            if inverter is None or inverter.last_report_date >= cutoff:
                self._silent_inverters.discard(serial)
                ir.async_delete_issue(
                    self.hass, DOMAIN, silent_inverter_issue_id(self.serial, serial)
                )
        if not judge:
            return
        for serial, inverter in inverters.items():
            if (
                inverter.last_report_date < cutoff
                and serial not in self._silent_inverters
                and not is_retired(inverter, now)
            ):
                self._silent_inverters.add(serial)
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    silent_inverter_issue_id(self.serial, serial),
                    is_fixable=False,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key="inverter_silent",
                    translation_placeholders={
                        "inverter": serial,
                        "envoy": self.serial,
                        "last_report": inverter.last_report_date.isoformat(),
                    },
                )
