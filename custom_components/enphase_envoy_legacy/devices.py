"""The Envoy's device and its microinverters' devices in Home Assistant's device registry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN, MANUFACTURER, MODEL_BY_PART_NUMBER
from .envoy_client import EnvoyInfo


def register_envoy(
    hass: HomeAssistant, entry_id: str, serial: str, info: EnvoyInfo, url: str
) -> str:
    """Create or update the Envoy's device from its identity; return the device's id."""
    prefix = (info.part_number or "")[:9]
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry_id,
        identifiers={(DOMAIN, serial)},
        manufacturer=MANUFACTURER,
        name=f"Envoy {serial}",
        model=MODEL_BY_PART_NUMBER.get(prefix, "Envoy"),
        model_id=info.part_number,
        serial_number=serial,
        sw_version=info.firmware,
        configuration_url=url,
    )
    return device.id


def inverter_devices(hass: HomeAssistant, entry_id: str, serial: str) -> dict[str, str]:
    """Return the id of each microinverter's device of an entry, by inverter serial."""
    registry = dr.async_get(hass)
    return {
        inverter: device.id
        for device in dr.async_entries_for_config_entry(registry, entry_id)
        for domain, inverter in device.identifiers
        if domain == DOMAIN and inverter != serial
    }


def release_device(hass: HomeAssistant, entry_id: str, device_id: str) -> None:
    """Take a device out of the entry (Home Assistant removes a device left with no entry)."""
    dr.async_get(hass).async_update_device(device_id, remove_config_entry_id=entry_id)
