"""Diagnostics for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_SERIAL
from .coordinator import EnvoyLegacyConfigEntry

# The serials are personal (and the Envoy's password is derived from its serial); the host
# locates the installation. The title and unique id carry the serial too; a username and
# password the user gave are credentials.
TO_REDACT = {
    CONF_HOST,
    CONF_SERIAL,
    CONF_USERNAME,
    CONF_PASSWORD,
    "serial",
    "title",
    "unique_id",
    "serial_number",
    "url",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EnvoyLegacyConfigEntry
) -> dict[str, Any]:
    """Return the entry, the Envoy's identity and the last reading, without identifiers."""
    coordinator = entry.runtime_data
    site, data = coordinator.site, coordinator.data
    info = site.identity.known
    inverters = [
        {**asdict(inverter), "serial_number": REDACTED}
        for _, inverter in sorted(data.inverters.items())
    ]
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "envoy": async_redact_data(
            {
                **asdict(info),
                "firmware_version": info.firmware_version,
                "user": coordinator.client.user,
                "url": coordinator.client.url,
            },
            TO_REDACT,
        ),
        "last_update_success": coordinator.last_update_success,
        # What the Envoy said, and what the energy guard let through to the sensors.
        "production_reported": asdict(data.envoy.production),
        "production_shown": asdict(data.production),
        "energy_guard": {
            **site.guard.state.as_dict(),
            "plausible_power": site.guard.plausible_power(),
        },
        "inverters": inverters,
        # A metered Envoy's CT meters: their configuration, last answers and guarded counters
        # (meter ids are the meters' own, not the Envoy's serial).
        "meters": site.meters.setup.as_dict(),
        "meters_reported": None if data.metered is None else asdict(data.metered),
        "counters_shown": {name: asdict(shown) for name, shown in data.counters.items()},
        "counter_guards": site.counters.as_dict(),
    }
