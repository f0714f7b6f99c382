"""The Envoy's device and its microinverters' devices in Home Assistant's device registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import (
    DOMAIN,
    LOGGER,
    MANUFACTURER,
    METERED_OR_NOT_PART_NUMBERS,
    MODEL_BY_PART_NUMBER,
)
from .envoy_client import EnvoyInfo
from .model import UNLISTED_FOR_GOOD


def envoy_model(part_number: str | None, *, imeter: bool | None) -> str:
    """Return the Envoy's product name from its part number (and ``<imeter>``)."""
    prefix = (part_number or "")[:9]
    if prefix in METERED_OR_NOT_PART_NUMBERS and imeter is not None:
        return "Envoy-S Metered" if imeter else "Envoy-S"
    return MODEL_BY_PART_NUMBER.get(prefix, "Envoy")


def register_envoy(
    hass: HomeAssistant, entry_id: str, serial: str, info: EnvoyInfo, url: str
) -> str:
    """Create or update the Envoy's device from its identity; return the device's id."""
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry_id,
        identifiers={(DOMAIN, serial)},
        manufacturer=MANUFACTURER,
        name=f"Envoy {serial}",
        model=envoy_model(info.part_number, imeter=info.imeter),
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


def forget_inverters(
    hass: HomeAssistant,
    entry_id: str,
    devices: Mapping[str, str],
    serials: Iterable[str],
    tag: str,
) -> None:
    """Release the devices of inverters gone for good (model/census.py), and say so in the log.

    ``devices``: inverter_devices of the entry; ``tag`` names the entry in the log.
    """
    for serial in serials:
        if (device_id := devices.get(serial)) is not None:
            release_device(hass, entry_id, device_id)
        LOGGER.info(
            "Envoy %s: forgot microinverter %s, not listed for %d days",
            tag,
            serial,
            UNLISTED_FOR_GOOD // 86400,
        )
