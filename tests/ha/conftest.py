"""Fixtures for the tests of Home Assistant's side: every test talks real HTTP to the simulator."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from typing import Any
from unittest.mock import AsyncMock, PropertyMock, patch

import pytest
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import the integration before the hass fixture starts, so that Home Assistant's loader finds
# this repository's custom_components package and not the test harness's own.
from custom_components.enphase_envoy_legacy import sensor
from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from custom_components.enphase_envoy_legacy.naming import entry_title
from custom_components.enphase_envoy_legacy.store import STORE_MINOR_VERSION
from tests.helpers import store_key
from tests.simulator import EnvoySimulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom integrations in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshot with Home Assistant's serializer (stable ids, no timestamps).

    Both syrupy and the Home Assistant plugin define this fixture; which one wins depends on
    plugin order, so the project states it once here.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Return what the entry's poll scheduler knows when it starts (None: nothing).

    Most tests are about what the integration makes of each reading, not about when it
    reads: their Envoy is taken as a metered one whose inverters report every minute, so
    every poll of tests.helpers.poll reads both endpoints. tests/test_schedule.py and the
    rhythm tests override this with None and let the scheduler learn a real rhythm.
    """
    return {"interval": 60.0, "metered": True}


@pytest.fixture
def mock_config_entry(
    simulator: EnvoySimulator, rhythm: dict[str, Any] | None, hass_storage: dict[str, Any]
) -> MockConfigEntry:
    """Return a config entry for the simulated Envoy."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(simulator.serial),
        minor_version=3,
        unique_id=simulator.serial,
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
    )
    if rhythm is not None:
        hass_storage[store_key(entry.entry_id)] = {
            "version": 2,
            "minor_version": STORE_MINOR_VERSION,
            "key": store_key(entry.entry_id),
            "data": {"rhythm": rhythm},
        }
    return entry


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep a created entry from being set up, so a flow test sees only the flow's requests."""
    with patch(
        "custom_components.enphase_envoy_legacy.async_setup_entry", return_value=True
    ) as mock:
        yield mock


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def panel_lifetime_enabled() -> Generator[None]:
    """Create each panel's lifetime energy enabled, as an owner who turned it on has it.

    It is disabled by default; the tests of what it shows (its pacing, a day of it, what a
    stored panel brings back) need it enabled, and only it: the other disabled sensors stay so.
    """
    descriptions = tuple(
        replace(description, entity_registry_enabled_default=True)
        if description.key == "lifetime_energy"
        else description
        for description in sensor.INVERTER_SENSORS
    )
    with patch.object(sensor, "INVERTER_SENSORS", descriptions):
        yield
