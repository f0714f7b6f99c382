"""The sensors, snapshotted against the spec example Envoy."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.enphase_envoy_legacy.const import DOMAIN
from tests.simulator import EnvoySimulator


@pytest.fixture(autouse=True)
def fixed_clock(freezer: FrozenDateTimeFactory) -> None:
    """Pin the clock before the simulator starts: its report dates follow it."""
    freezer.move_to("2026-06-21T19:00:00+00:00")


@pytest.fixture(autouse=True)
def only_sensors() -> Generator[None]:
    """Set up the sensor platform alone (the snapshot covers one platform)."""
    with patch("custom_components.enphase_envoy_legacy.PLATFORMS", [Platform.SENSOR]):
        yield


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("capture", ["spec_example"])
async def test_sensors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor's registry entry and state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("capture", ["spec_example"])
async def test_energy_dashboard_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The lifetime sensor is what the Energy dashboard accepts: energy, total_increasing."""
    state = hass.states.get("sensor.envoy_121800123456_lifetime_energy")
    assert state is not None
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert float(state.state) == pytest.approx(1034.886)
    seven_days = hass.states.get("sensor.envoy_121800123456_energy_last_seven_days")
    assert seven_days is not None
    assert "state_class" not in seven_days.attributes


@pytest.mark.parametrize("capture", ["spec_example"])
async def test_inverter_diagnostics_disabled_by_default(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Per inverter power and energy today are enabled; the rest per panel, raw lifetime not.

    Disabled per panel: lifetime energy (energy today feeds the panel's long-term statistics
    too), the diagnostics (maximum power, last report) and relative output.
    """
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    disabled = {entry.unique_id for entry in entries if entry.disabled_by is not None}
    per_panel = ("lifetime_energy", "max_reported_power", "last_report", "relative_output")
    assert len(entries) == 7 + 20 * 6
    assert disabled == {"121800123456_lifetime_energy_reported"} | {
        f"{inverter}_{key}"
        for inverter in {entry.unique_id.split("_")[0] for entry in entries}
        if inverter != "121800123456"
        for key in per_panel
    }
    assert len(disabled) == 1 + 20 * len(per_panel)
    assert all(
        entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        for entry in entries
        if entry.unique_id in disabled
    )


@pytest.mark.parametrize("capture", ["spec_example"])
async def test_an_installation_keeps_the_panel_lifetime_it_has(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A panel's lifetime energy already in the registry, enabled, stays enabled on upgrade.

    Home Assistant keeps an existing registry entry's disabled_by: only entities created from
    now on follow the new default (disabled), as the README's upgrade note says.
    """
    kept, *new = [inverter["serialNumber"] for inverter in simulator.inverters]
    mock_config_entry.add_to_hass(hass)
    # What an installation set up before the default changed holds: the entity, enabled.
    existing = entity_registry.async_get_or_create(
        Platform.SENSOR,
        DOMAIN,
        f"{kept}_lifetime_energy",
        config_entry=mock_config_entry,
        disabled_by=None,
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    entry = entity_registry.async_get(existing.entity_id)
    assert entry is not None
    assert entry.disabled_by is None
    assert hass.states.get(existing.entity_id) is not None  # set up: it has a state
    assert new
    for serial in new:
        entity_id = entity_registry.async_get_entity_id(
            Platform.SENSOR, DOMAIN, f"{serial}_lifetime_energy"
        )
        assert entity_id is not None
        added = entity_registry.async_get(entity_id)
        assert added is not None
        assert added.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(entity_id) is None
