"""The Enphase Envoy Legacy integration: Envoys on firmware below 7.0."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import CONF_SERIAL, DOMAIN, LOGGER
from .coordinator import EnvoyLegacyConfigEntry, EnvoyLegacyCoordinator
from .naming import entry_title, legacy_title
from .repairs import remove_issues
from .store import EntryStore

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]


async def async_migrate_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> bool:
    """Bring an entry of an earlier release up to date.

    1.1 -> 1.2: the title the integration gave ("Envoy" and the whole serial, whose last six
    characters are the Envoy's password) loses those six characters: Home Assistant writes
    the title into its log. A title the user chose stays as it is.
    1.2 -> 1.3: the options (polling interval, keep-alive) are gone: a metered Envoy's totals
    are read every PRODUCTION_INTERVAL, and the client notices an Envoy that resets
    connections on its own. Keep-alive switched off is not forgotten: the user knew that
    Envoy resets kept-alive connections, so its client starts in Connection: close mode
    (noted in the store's ``auth`` part, where the client keeps what it learns itself).
    """
    # (Home Assistant itself refuses an entry of a newer major version.)
    if entry.minor_version < 2:  # noqa: PLR2004 - the version this step migrates to
        serial = entry.data[CONF_SERIAL]
        title = entry_title(serial) if entry.title == legacy_title(serial) else entry.title
        hass.config_entries.async_update_entry(entry, title=title, minor_version=2)
        LOGGER.debug("Migrated an entry to version 1.2")
    if entry.minor_version < 3:  # noqa: PLR2004 - the version this step migrates to
        if entry.options.get("keep_alive") is False:
            await EntryStore(hass, entry.entry_id).async_keep_connection_close()
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
    """Unload a config entry, keeping what it learned for the next setup (see store.py)."""
    await entry.runtime_data.async_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
    """Forget an Envoy that is no longer configured: what it stored and its repair issues."""
    await EntryStore(hass, entry.entry_id).async_remove()
    remove_issues(hass, entry.data[CONF_SERIAL])


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EnvoyLegacyConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow deleting an inverter's device only once the Envoy no longer lists it."""
    coordinator = entry.runtime_data
    listed = {coordinator.serial, *coordinator.data.inverters}
    return not any(domain == DOMAIN and serial in listed for domain, serial in device.identifiers)
