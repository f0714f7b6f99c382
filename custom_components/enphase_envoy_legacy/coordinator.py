"""Polls the Envoy for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_SCAN_INTERVAL, SUN_EVENT_SUNRISE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.sun import get_astral_event_date, is_up
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    AUTH_FAILURES_BEFORE_REAUTH,
    CONF_KEEP_ALIVE,
    CONF_SERIAL,
    DEFAULT_KEEP_ALIVE,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    ENERGY_SAVE_DELAY,
    ENERGY_STORE_VERSION,
    INFO_REFRESH_INTERVAL,
    LOGGER,
    MANUFACTURER,
    MAX_MICROINVERTER_W,
    MODEL_BY_PART_NUMBER,
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
    EnvoyUnsupportedFirmwareError,
)

type EnvoyLegacyConfigEntry = ConfigEntry[EnvoyLegacyCoordinator]


@dataclass(frozen=True, kw_only=True)
class EnvoyLegacyData:
    """One poll: the Envoy's answer as it came, and the site totals the sensors show."""

    envoy: EnvoyData
    production: GuardedProduction

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


def _translated[E: HomeAssistantError](kind: type[E], key: str, err: EnvoyError) -> E:
    """Return a Home Assistant exception with the translated message for a client error."""
    return kind(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"error": str(err)},
    )


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
            name=f"{DOMAIN} {entry.data[CONF_SERIAL]}",
            update_interval=timedelta(
                seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
            ),
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.client = EnvoyClient(
            entry.data[CONF_HOST],
            self.serial,
            async_get_clientsession(hass),
            keep_alive=entry.options.get(CONF_KEEP_ALIVE, DEFAULT_KEEP_ALIVE),
            request_timeout=self.request_timeout,
        )
        self._info_due: datetime | None = None
        self._auth_failures = 0
        self._store = energy_store(hass, entry.entry_id)
        self.guard = EnergyGuard()
        # Issues outlive a reload of the entry: pick up the ones raised before it.
        prefix = silent_inverter_issue_id(self.serial, "")
        self._silent_inverters: set[str] = {
            issue_id.removeprefix(prefix)
            for domain, issue_id in ir.async_get(hass).issues
            if domain == DOMAIN and issue_id.startswith(prefix)
        }

    async def _async_setup(self) -> None:
        """Load the energy guard's memory and read the Envoy's identity before the first poll."""
        if (stored := await self._store.async_load()) is not None:
            self.guard = EnergyGuard(GuardState.from_dict(stored))
        try:
            await self._async_read_info()
        except EnvoyUnsupportedFirmwareError as err:
            raise _translated(ConfigEntryError, "unsupported_firmware", err) from err
        except EnvoyError as err:
            raise _translated(UpdateFailed, "communication_error", err) from err

    async def async_save_energy(self) -> None:
        """Write the energy guard's memory now (on unload; otherwise it is written lazily)."""
        await self._store.async_save(self.guard.state.as_dict())

    async def _async_update_data(self) -> EnvoyLegacyData:
        """Read production and inverters (and the identity when it is due), then guard them."""
        try:
            if self._info_due is None or dt_util.utcnow() >= self._info_due:
                await self._async_read_info()
            envoy = await self.client.update()
        except EnvoyAuthenticationError as err:
            self._info_due = None
            self._auth_failures += 1
            if self._auth_failures >= AUTH_FAILURES_BEFORE_REAUTH:
                raise _translated(ConfigEntryAuthFailed, "invalid_auth", err) from err
            raise _translated(UpdateFailed, "invalid_auth", err) from err
        except EnvoyError as err:
            # The Envoy may come back upgraded: read its identity again first.
            self._info_due = None
            raise _translated(UpdateFailed, "communication_error", err) from err
        self._auth_failures = 0
        envoy = self._keep_inverters_through_empty_lists(envoy)
        now = dt_util.now()
        production = self._guard(envoy, now)
        self._update_silent_inverters(envoy.inverters, now)
        return EnvoyLegacyData(envoy=envoy, production=production)

    def _keep_inverters_through_empty_lists(self, envoy: EnvoyData) -> EnvoyData:
        """Keep the last inverter records when the Envoy lists none at all.

        Some firmware answers an empty list at night every few hours; an inverter that is
        really gone disappears from a list that still holds the others.
        """
        previous = self.data.inverters if self.data is not None else {}
        if envoy.inverters or not previous:
            return envoy
        LOGGER.debug("Envoy %s listed no inverters; keeping the last records", self.serial)
        return EnvoyData(production=envoy.production, inverters=previous)

    def _guard(self, envoy: EnvoyData, now: datetime) -> GuardedProduction:
        """Judge the reading with the energy guard, log what it held back, and remember."""
        peak = sum(
            min(inverter.max_report_watts, MAX_MICROINVERTER_W)
            for inverter in envoy.inverters.values()
            if not is_retired(inverter, now)
        )
        was_holding = self.data is not None and self.data.production.suspect
        production = self.guard.update(envoy.production, now, site_peak_power=peak)
        raw = envoy.production
        if production.suspect and not was_holding:
            LOGGER.warning(
                "Envoy %s reports production that cannot be right (lifetime %s Wh, today %s Wh,"
                " now %s W); showing the last good values until it makes sense again",
                self.serial,
                raw.watt_hours_lifetime,
                raw.watt_hours_today,
                raw.watts_now,
            )
        elif production.suspect:
            LOGGER.debug("Envoy %s: holding back %s", self.serial, raw)
        elif was_holding:
            LOGGER.info("Envoy %s reports plausible production again", self.serial)
        if production.rebased:
            LOGGER.warning(
                "Envoy %s: its lifetime counter moved to %s Wh and stayed there (a counter wrap"
                " or a replaced Envoy); lifetime energy continues from %s Wh without a jump",
                self.serial,
                raw.watt_hours_lifetime,
                production.lifetime,
            )
        self._store.async_delay_save(self.guard.state.as_dict, ENERGY_SAVE_DELAY)
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
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="serial_mismatch",
                translation_placeholders={
                    "host": self.config_entry.data[CONF_HOST],
                    "found": info.serial,
                    "expected": self.serial,
                },
            )
        self.info = info
        self._info_due = dt_util.utcnow() + INFO_REFRESH_INTERVAL
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
