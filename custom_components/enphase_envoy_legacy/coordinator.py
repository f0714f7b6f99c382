"""Polls the Envoy for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_SERIAL, DOMAIN, LOGGER, MANUFACTURER, MODEL_BY_PART_NUMBER, SCAN_INTERVAL
from .envoy_client import (
    EnvoyAuthenticationError,
    EnvoyClient,
    EnvoyData,
    EnvoyError,
    EnvoyInfo,
    EnvoyUnsupportedFirmwareError,
)

type EnvoyLegacyConfigEntry = ConfigEntry[EnvoyLegacyCoordinator]


def _translated[E: HomeAssistantError](kind: type[E], key: str, err: EnvoyError) -> E:
    """Return a Home Assistant exception with the translated message for a client error."""
    return kind(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"error": str(err)},
    )


class EnvoyLegacyCoordinator(DataUpdateCoordinator[EnvoyData]):
    """Reads the site totals and the microinverters of one Envoy."""

    config_entry: EnvoyLegacyConfigEntry
    info: EnvoyInfo
    envoy_device_id: str

    def __init__(self, hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
        """Initialize the coordinator."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_SERIAL]}",
            update_interval=SCAN_INTERVAL,
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.client = EnvoyClient(entry.data[CONF_HOST], self.serial, async_get_clientsession(hass))

    async def _async_setup(self) -> None:
        """Read the Envoy's identity once, before the first poll."""
        try:
            info = await self.client.info()
        except EnvoyUnsupportedFirmwareError as err:
            raise _translated(ConfigEntryError, "unsupported_firmware", err) from err
        except EnvoyError as err:
            raise _translated(UpdateFailed, "communication_error", err) from err
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

    async def _async_update_data(self) -> EnvoyData:
        """Read production and inverters."""
        try:
            return await self.client.update()
        except EnvoyAuthenticationError as err:
            raise _translated(ConfigEntryAuthFailed, "invalid_auth", err) from err
        except EnvoyError as err:
            raise _translated(UpdateFailed, "communication_error", err) from err
