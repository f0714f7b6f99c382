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
    """Per inverter power and energy are enabled; diagnostics, relative output, raw lifetime not."""
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    disabled = {entry.unique_id for entry in entries if entry.disabled_by is not None}
    assert len(entries) == 7 + 20 * 6
    assert disabled == {"121800123456_lifetime_energy_reported"} | {
        f"{inverter}_{key}"
        for inverter in {entry.unique_id.split("_")[0] for entry in entries}
        if inverter != "121800123456"
        for key in ("max_reported_power", "last_report", "relative_output")
    }
    assert len(disabled) == 1 + 20 * 3
