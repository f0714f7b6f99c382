"""Setting up and unloading the integration."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from custom_components.enphase_envoy_legacy.naming import entry_title
from tests.ha.test_store import legacy_key, stored_by_release_1_3
from tests.helpers import device, store_key
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
    assert envoy.model == "Envoy-S"  # 800-00551 with <imeter>false</imeter>
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


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Envoy {serial}", "Envoy {start}******"),  # the title 1.1 gave: masked
        ("Garage roof", "Garage roof"),  # the user's own title: kept
    ],
)
async def test_migration_masks_the_serial_in_the_title(
    hass: HomeAssistant, simulator: EnvoySimulator, title: str, expected: str
) -> None:
    """An entry from release 1.1 keeps everything but the serial's last six in its title.

    It is brought to 1.3 in one go: its options go too.
    """
    serial = simulator.serial
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title.format(serial=serial),
        version=1,
        minor_version=1,
        unique_id=simulator.serial,
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
        options={"scan_interval": 300, "keep_alive": True},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.title, entry.minor_version) == (expected.format(start=serial[:-6]), 3)
    assert entry.options == {}


def release_1_2_entry(simulator: EnvoySimulator, options: dict[str, Any]) -> MockConfigEntry:
    """Return an entry as release 1.2 wrote it, with these options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(simulator.serial),
        version=1,
        minor_version=2,
        unique_id=simulator.serial,
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
        options=options,
    )


@pytest.mark.parametrize("options", [{"scan_interval": 120, "keep_alive": True}, {"a": 1}])
async def test_migration_drops_the_options(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    hass_storage: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """An entry as release 1.2 wrote it loses its options, and they no longer count.

    A metered Envoy's production is read every 60 s whatever the entry said, connections are
    kept open (keep-alive on, or never set), and there is no options flow left to set them
    again. Nothing is written to the store for it.
    """
    entry = release_1_2_entry(simulator, options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 3)
    assert entry.options == {}
    assert entry.title == entry_title(simulator.serial)
    assert entry.data == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    assert entry.runtime_data.site.scheduler.production_interval == 60
    assert simulator.requests
    assert all(request.keep_alive for request in simulator.requests)
    assert not entry.runtime_data.client.connection_close
    assert store_key(entry.entry_id) not in hass_storage
    assert not entry.supports_options


@pytest.mark.parametrize("stored", ["none", "release 1.3"])
async def test_migration_keeps_keep_alive_off(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    stored: str,
) -> None:
    """Keep-alive was switched off: the client starts in Connection: close mode.

    The entry loses its options all the same; the mode is noted in the store's ``auth`` part
    (where the client keeps what it learns), next to what was stored already, which stays.
    Nothing is logged about it: the Envoy did not just turn out to reset connections.
    """
    caplog.set_level(logging.INFO, logger=DOMAIN)
    entry = release_1_2_entry(simulator, {"scan_interval": 120, "keep_alive": False})
    if stored != "none":
        old = legacy_key(entry.entry_id)
        data = stored_by_release_1_3(simulator)
        hass_storage[old] = {"version": 1, "minor_version": 1, "key": old, "data": data}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.minor_version, entry.options) == (3, {})
    assert entry.data == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    assert entry.runtime_data.client.connection_close
    assert simulator.requests
    assert not any(request.keep_alive for request in simulator.requests)
    assert "resets kept-alive connections" not in caplog.text
    kept = hass_storage[store_key(entry.entry_id)]["data"]
    if stored == "none":
        assert kept == {"auth": {"connection_close": True}}
    else:
        assert kept["auth"] == {"user": "envoy", "connection_close": True}
        assert kept["guard"]["lifetime"] == 120_000_000
        assert kept["panels"] == data["panels"]


@pytest.mark.parametrize(("version", "minor_version"), [(2, 1), (1, 4)])
async def test_migration_of_entries_from_newer_releases(
    hass: HomeAssistant, simulator: EnvoySimulator, version: int, minor_version: int
) -> None:
    """A major version from a newer release is refused; a newer minor one loads as it is."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Envoy {simulator.serial}",
        version=version,
        minor_version=minor_version,
        unique_id=simulator.serial,
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
        options={"something": "newer"},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    expected = ConfigEntryState.MIGRATION_ERROR if version > 1 else ConfigEntryState.LOADED
    assert entry.state is expected
    assert entry.title == f"Envoy {simulator.serial}"
    assert (entry.version, entry.minor_version) == (version, minor_version)
    assert entry.options == {"something": "newer"}
