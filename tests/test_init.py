"""Setting up and unloading the integration."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.helpers import device
from tests.simulator import PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator


async def test_setup_and_unload(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The entry loads, registers the Envoy and its inverters, and unloads."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED

    envoy = device(device_registry, entry, simulator.serial)
    assert envoy is not None
    assert envoy.manufacturer == "Enphase"
    assert envoy.model == "Envoy"
    assert envoy.model_id == "800-00551-r02"
    assert envoy.sw_version == "D5.0.62"
    assert envoy.serial_number == simulator.serial
    assert envoy.configuration_url == f"http://{simulator.host}/"

    inverters = [
        inverter
        for inverter in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if inverter.id != envoy.id
    ]
    assert len(inverters) == len(simulator.inverters) == 40
    for inverter in inverters:
        assert inverter.via_device_id == envoy.id
        (identifier,) = inverter.identifiers
        assert inverter.serial_number == identifier[1]

    # Setup reads the Envoy's identity once, then production and the inverters.
    assert simulator.count(PATH_INFO) == 1
    assert simulator.count(PATH_PRODUCTION) == 1
    assert simulator.count(PATH_INVERTERS) == 2  # the digest challenge, then the answer

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
