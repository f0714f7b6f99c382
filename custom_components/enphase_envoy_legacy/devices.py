"""The Envoy's device and its microinverters' devices in Home Assistant's registries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import (
    CONF_SERIAL,
    DOMAIN,
    LOGGER,
    MANUFACTURER,
    METERED_OR_NOT_PART_NUMBERS,
    MODEL_BY_PART_NUMBER,
)
from .envoy_client import EnvoyInfo
from .model import UNLISTED_FOR_GOOD
from .naming import entry_tag, entry_title, legacy_title


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
    hass: HomeAssistant, entry_id: str, serial: str, serials: Iterable[str], tag: str
) -> None:
    """Release the devices of inverters gone for good (model/census.py), and say so in the log.

    ``serial``: the Envoy's; ``tag`` names the entry in the log.
    """
    devices = inverter_devices(hass, entry_id, serial)
    for inverter in serials:
        if (device_id := devices.get(inverter)) is not None:
            release_device(hass, entry_id, device_id)
        LOGGER.info(
            "Envoy %s: forgot microinverter %s, not listed for %d days",
            tag,
            inverter,
            UNLISTED_FOR_GOOD // 86400,
        )


def move_to(
    hass: HomeAssistant, entry: ConfigEntry, new: str, host: str | None = None
) -> dict[str, Any]:
    """Move a replaced Envoy's device and entities to the new one; return the entry's updates.

    The entities keep their ids (so their statistics continue) under unique ids of the new
    serial; the Envoy's device takes the new serial; the old one's repair issues go. A
    username and password the user gave were the old Envoy's: the new one's derived
    passwords are tried. What the site stored goes on from the next setup (model/site.py).
    The old Envoy's repair issues are the caller's (repairs.replace_envoy).
    """
    old = entry.data[CONF_SERIAL]
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(f"{old}_"):
            key = entity.unique_id.removeprefix(f"{old}_")
            entities.async_update_entity(entity.entity_id, new_unique_id=f"{new}_{key}")
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        if (DOMAIN, old) in device.identifiers:
            devices.async_update_device(
                device.id, new_identifiers={(DOMAIN, new)}, name=f"Envoy {new}", serial_number=new
            )
    LOGGER.info("Envoy %s: replaced; its history continues", entry_tag(entry.entry_id))
    title = (
        entry_title(new) if entry.title in (entry_title(old), legacy_title(old)) else entry.title
    )
    return {
        "unique_id": new,
        "title": title,
        "data": {CONF_HOST: host or entry.data[CONF_HOST], CONF_SERIAL: new},
    }
