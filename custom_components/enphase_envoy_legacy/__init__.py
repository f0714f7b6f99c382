"""The Enphase Envoy Legacy integration: Envoys on firmware below 7.0."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir

from .const import CONF_SERIAL, DOMAIN, LOGGER
from .coordinator import EnvoyLegacyConfigEntry, EnvoyLegacyCoordinator, energy_store
from .naming import entry_title, legacy_title

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]


async def async_migrate_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> bool:
    """Bring an entry of an earlier release up to date.

    1.1 -> 1.2: the title the integration gave ("Envoy" and the whole serial, whose last six
    characters are the Envoy's password) loses those six characters: Home Assistant writes
    the title into its log. A title the user chose stays as it is.
    1.2 -> 1.3: the options (polling interval, keep-alive) are gone: a metered Envoy's totals
    are read every PRODUCTION_INTERVAL, and the client notices an Envoy that resets
    connections on its own.
    """
    # (Home Assistant itself refuses an entry of a newer major version.)
    if entry.minor_version < 2:  # noqa: PLR2004 - the version this step migrates to
        serial = entry.data[CONF_SERIAL]
        title = entry_title(serial) if entry.title == legacy_title(serial) else entry.title
        hass.config_entries.async_update_entry(entry, title=title, minor_version=2)
        LOGGER.debug("Migrated an entry to version 1.2")
    if entry.minor_version < 3:  # noqa: PLR2004 - the version this step migrates to
        hass.config_entries.async_update_entry(entry, options={}, minor_version=3)
        LOGGER.debug("Migrated an entry to version 1.3")
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> bool:
    """Set up an Envoy from a config entry."""
    coordinator = EnvoyLegacyCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> bool:
    """Unload a config entry, keeping what the energy guard knows for the next setup."""
    await entry.runtime_data.async_save_energy()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
    """Forget an Envoy that is no longer configured: its energy memory and repair issues."""
    await energy_store(hass, entry.entry_id).async_remove()
    prefix = f"{entry.data[CONF_SERIAL]}_"
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EnvoyLegacyConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow deleting an inverter's device only once the Envoy no longer lists it."""
    coordinator = entry.runtime_data
    listed = {coordinator.serial, *coordinator.data.inverters}
    return not any(domain == DOMAIN and serial in listed for domain, serial in device.identifiers)
