"""Each microinverter's reporting status, snapshotted and followed through a day."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from tests.helpers import poll, poll_past_the_hold, report_all, state
from tests.simulator import EnvoySimulator

SERIAL = "121547059079"
REPORTING = f"binary_sensor.inverter_{SERIAL}_reporting"


@pytest.fixture(autouse=True)
def only_binary_sensors() -> Generator[None]:
    """Set up the binary sensor platform alone (the snapshot covers one platform)."""
    with patch("custom_components.enphase_envoy_legacy.PLATFORMS", [Platform.BINARY_SENSOR]):
        yield


@pytest.mark.parametrize("capture", ["spec_example"])
async def test_binary_sensors(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Every binary sensor's registry entry and state."""
    freezer.move_to("2026-06-21T19:00:00+00:00")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_one_silent_inverter_is_a_problem(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """One inverter stops while the others report: a problem after three intervals.

    The intervals are a minute each here; its next report clears it.
    """
    silent = next(i for i in simulator.inverters if i["serialNumber"] == SERIAL)
    for minute in range(1, 6):
        report_all(simulator, dt_util.utcnow())
        silent["lastReportDate"] = int(dt_util.utcnow().timestamp()) - 60 * minute
        await poll(hass, freezer)
    assert state(hass, REPORTING) == STATE_ON
    assert state(hass, "binary_sensor.inverter_121547059193_reporting") == STATE_OFF
    report_all(simulator, dt_util.utcnow())
    await poll(hass, freezer)
    assert state(hass, REPORTING) == STATE_OFF


async def test_all_silent_is_no_problem_and_an_outage_is_unavailable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Nobody reports (night, the site off): no panel flagged; the Envoy away long: unavailable."""
    for _ in range(6):
        await poll(hass, freezer)
    assert state(hass, REPORTING) == STATE_OFF
    simulator.fail("*", status=503, body=b"")
    await poll(hass, freezer)
    assert state(hass, REPORTING) == STATE_OFF  # brief trouble is no event
    await poll_past_the_hold(hass, freezer)
    assert state(hass, REPORTING) == STATE_UNAVAILABLE
