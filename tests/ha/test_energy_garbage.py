"""Garbage site totals and a corrupt stored guard state, through Home Assistant (issue #12).

Every number the Envoy reports has a plausible range derived from the site (its inverters'
capped maxima): outside it, a value is not shown and never reaches the store, first reading
included. A stored guard state that cannot be read starts the guard afresh, with a warning,
instead of leaving the entry in endless setup retry.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.coordinator import EnvoyLegacyConfigEntry
from custom_components.enphase_envoy_legacy.model.guard import MIN_PLAUSIBLE_POWER_W
from custom_components.enphase_envoy_legacy.model.panels import MAX_MICROINVERTER_W
from custom_components.enphase_envoy_legacy.naming import entry_tag
from tests.helpers import numbers, poll, state, store_key
from tests.simulator import EnvoySimulator

LOGGER_NAME = "custom_components.enphase_envoy_legacy"
FLOAT_EXACT = 2**53  # the largest integer below which every integer is a float too
# Garbage the client still passes on: JSON's safe integers (beyond them, the client refuses
# the whole answer as bad data, see tests/client/test_client_hostile.py), far beyond any site.
GARBAGE = {
    "wattsNow": 10**9,
    "wattHoursToday": 2**52,
    "wattHoursSevenDays": 10**15,  # a billion kWh in a week
    "wattHoursLifetime": 2**53 - 1,
}


def entity(simulator: EnvoySimulator, key: str) -> str:
    """Return the entity id of one of the Envoy's sensors."""
    return f"sensor.envoy_{simulator.serial}_{key}"


def shown(hass: HomeAssistant, simulator: EnvoySimulator, key: str) -> float:
    """Return the number an energy sensor of the Envoy shows."""
    return float(state(hass, entity(simulator, key)))


def kwh(watt_hours: int) -> float:
    """Return an energy in Wh in kWh, the unit the sensors show."""
    return watt_hours / 1000


async def test_garbage_is_neither_shown_nor_stored(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A gigawatt, a billion kWh a week, 9e15 Wh: the last good values stay, the store saves.

    Numbers beyond JSON's safe integers (10^400, 2^65) never get that far: the client refuses
    the answer, production keeps its last values (the inverters answered), and the next good
    one goes on from them.
    """
    good = dict(simulator.production)
    simulator.production.update(GARBAGE)
    await poll(hass, freezer)
    assert state(hass, entity(simulator, "current_power")) == STATE_UNAVAILABLE
    assert shown(hass, simulator, "energy_last_seven_days") == kwh(good["wattHoursSevenDays"])
    assert shown(hass, simulator, "lifetime_energy") == kwh(good["wattHoursLifetime"])
    # Only the power is garbage: the rest is judged on its own, the power is not shown.
    simulator.production.update({**good, "wattsNow": 10**9})
    await poll(hass, freezer)
    assert state(hass, entity(simulator, "current_power")) == STATE_UNAVAILABLE
    for beyond in ({"wattHoursSevenDays": 2**65}, {"wattsNow": 10**400}):
        simulator.production.update({**good, **beyond})
        await poll(hass, freezer)
        assert shown(hass, simulator, "lifetime_energy") == kwh(good["wattHoursLifetime"])
    simulator.production.update(good)
    await poll(hass, freezer)
    assert shown(hass, simulator, "energy_last_seven_days") == kwh(good["wattHoursSevenDays"])
    assert shown(hass, simulator, "lifetime_energy") == kwh(good["wattHoursLifetime"])
    # Unloading writes the store (Home Assistant's JSON encoder refuses integers beyond 64
    # bits); every number in it is one a float holds exactly.
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[store_key(init_integration.entry_id)]["data"]
    assert stored["guard"]["seven_days"] == good["wattHoursSevenDays"]
    assert all(abs(number) <= FLOAT_EXACT for number in numbers(stored))


@pytest.mark.parametrize("lifetime", [10**15, 2**53 - 1])
async def test_a_garbage_first_reading_is_refused(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    lifetime: int,
) -> None:
    """A new entry's first lifetime beyond any site's is refused, and the next good one shown."""
    good = dict(simulator.production)
    simulator.production.update({**GARBAGE, "wattHoursLifetime": lifetime})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    for key in ("current_power", "energy_today", "energy_last_seven_days", "lifetime_energy"):
        assert state(hass, entity(simulator, key)) == STATE_UNAVAILABLE
    simulator.production.update(good)
    await poll(hass, freezer)
    assert shown(hass, simulator, "lifetime_energy") == kwh(good["wattHoursLifetime"])
    assert state(hass, entity(simulator, "current_power")) == str(good["wattsNow"])


async def test_the_capacity_comes_from_the_inverters(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Twice the listed inverters' maxima, each within 0..MAX_MICROINVERTER_W.

    A negative or absurd maximum neither lowers nor widens the capacity.
    """
    simulator.inverters[0]["maxReportWatts"] = -5_000
    simulator.inverters[1]["maxReportWatts"] = 10**6
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    entry: EnvoyLegacyConfigEntry = mock_config_entry  # type: ignore[assignment]
    rest = sum(inverter["maxReportWatts"] for inverter in simulator.inverters[2:])
    expected = 2 * (rest + MAX_MICROINVERTER_W)
    assert expected > MIN_PLAUSIBLE_POWER_W
    assert entry.runtime_data.site.guard.plausible_power() == expected


@pytest.mark.parametrize(
    "corrupt",
    [{"candidates": None}, {"lifetime": "133798553"}, {"seven_days": 2**64}],
)
async def test_a_corrupt_stored_state_starts_afresh(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    corrupt: dict[str, object],
) -> None:
    """The entry sets up, the guard starts from the Envoy's reading, and one warning says so.

    The warning names neither the Envoy's serial (its last six characters are the password)
    nor its address.
    """
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    stored = hass_storage[store_key(mock_config_entry.entry_id)]["data"]
    stored["guard"] = {"lifetime": 1, "envoy_lifetime": 1, "accepted_at": 0.0, **corrupt}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    lifetime = simulator.production["wattHoursLifetime"]
    assert shown(hass, simulator, "lifetime_energy") == kwh(lifetime)
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "energy guard" in record.getMessage()
    ]
    assert len(warnings) == 1
    assert entry_tag(mock_config_entry.entry_id) in warnings[0]
    for secret in (simulator.serial, simulator.serial[-6:], simulator.host):
        assert secret not in warnings[0]
