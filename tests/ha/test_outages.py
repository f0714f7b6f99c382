"""Through outages and half-broken answers: nothing flaps, nothing is lost (issue #23).

The simulated Envoy reports along a summer day on its own rhythm; the integration follows its
own schedule. A two-minute outage around 23:00 (many Envoys drop off then) is invisible; a
forty-minute one shows after a few minutes; the energy counters continue exactly after
either. An optional endpoint that fails, or answers something that means nothing, degrades
only what it feeds.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.meters import METER_CHECK_INTERVAL
from tests.helpers import NOON, poll, poll_past_the_hold, state
from tests.simulator import (
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_METERS,
    EnvoySimulator,
    Rhythm,
)

METERED = "R4.10.35_metered"


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Nothing learned before: the integration learns the simulated rhythm itself."""
    return None


@pytest.fixture
async def simulator(
    capture: str, socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[EnvoySimulator]:
    """Serve an Envoy reporting every five minutes, from an hour before 23:00 local."""
    evening = dt_util.start_of_local_day(dt_util.as_local(NOON)) + timedelta(hours=22)
    freezer.move_to(evening)
    metered = capture == METERED
    async with EnvoySimulator(capture, rhythm=Rhythm(interval=300, metered=metered)) as envoy:
        envoy.metering.moving = metered
        yield envoy


def entities_of(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Return every enabled entity of the entry."""
    registry = er.async_get(hass)
    return [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is None
    ]


async def follow_until(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    end: datetime,
    seen: dict[str, list[str]],
) -> None:
    """Run the entry's own schedule until ``end``; note every entity's state after each poll."""
    coordinator = entry.runtime_data
    while coordinator.next_poll is not None and coordinator.next_poll < end:
        freezer.move_to(coordinator.next_poll + timedelta(seconds=0.6))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        for entity_id in entities_of(hass, entry):
            seen.setdefault(entity_id, []).append(state(hass, entity_id))


@pytest.mark.parametrize("capture", ["D5.0.62", METERED])
@pytest.mark.parametrize(("minutes", "shown"), [(2, True), (40, False)])
async def test_a_nightly_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    minutes: int,
    shown: bool,
) -> None:
    """Two minutes at 23:00: no entity ever unavailable. Forty: shown, then back whole."""
    start = dt_util.start_of_local_day(dt_util.now()) + timedelta(hours=23)
    seen: dict[str, list[str]] = {}
    await follow_until(hass, freezer, init_integration, start, seen)
    before = {entity_id: states[-1] for entity_id, states in seen.items()}
    assert STATE_UNAVAILABLE not in before.values()
    counted = counters(hass, simulator)
    drawn = dict(simulator.metering.drawn)
    await simulator.stop()
    during: dict[str, list[str]] = {}
    await follow_until(hass, freezer, init_integration, start + timedelta(minutes=minutes), during)
    await simulator.resume()
    after: dict[str, list[str]] = {}
    await follow_until(hass, freezer, init_integration, start + timedelta(minutes=70), after)
    went = {entity_id for entity_id, states in during.items() if STATE_UNAVAILABLE in states}
    if shown:
        assert went == set()
    else:
        assert went == set(before)  # every entity, once its values are too old
    assert all(STATE_UNAVAILABLE not in states[-3:] for states in after.values())
    # The counters continue exactly: each grew by what the Envoy counted meanwhile.
    grown = {name: value - counted[name] for name, value in counters(hass, simulator).items()}
    truth = {
        "lifetime_energy": 0.0,  # night: nothing produced
        "grid_energy_imported": simulator.metering.drawn["import"] - drawn["import"],
    }
    for name, growth in grown.items():
        assert growth * 1000 == pytest.approx(truth[name], abs=2), name


def counters(hass: HomeAssistant, simulator: EnvoySimulator) -> dict[str, float]:
    """Return the site's lifetime energy and, on a metered Envoy, its import (kWh)."""
    serial = simulator.serial
    registry = er.async_get(hass)
    found = {}
    for key in ("lifetime_energy", "grid_energy_imported"):
        if entity_id := registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_{key}"):
            found[key] = float(state(hass, entity_id))
    return found


@pytest.mark.parametrize("capture", [METERED])
async def test_a_meter_configuration_that_means_nothing_changes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """An HTML page at the hourly check of /ivp/meters: the meters stay as they were.

    The export counter and the meters' status stay, the readings are still read.
    """
    serial = simulator.serial
    registry = er.async_get(hass)

    def entity(key: str) -> str:
        found = registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_{key}")
        assert found is not None
        return found

    exported = entity("grid_energy_exported")
    status = entity("grid_meter_status")
    assert state(hass, exported) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    simulator.fail(PATH_METERS, body=b"<html><body>Page Not Found</body></html>")
    freezer.tick(timedelta(seconds=METER_CHECK_INTERVAL))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    readings = simulator.count(PATH_METER_READINGS)
    for _ in range(3):
        await poll(hass, freezer)
    assert simulator.count(PATH_METERS) >= 1
    assert simulator.count(PATH_METER_READINGS) > readings
    assert state(hass, exported) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert state(hass, status) == "normal"


@pytest.mark.parametrize("capture", [METERED])
async def test_failing_readings_degrade_only_what_they_feed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A 500 from the readings: the inverters go on; the meters' values are held, then not."""
    serial = simulator.serial
    exported = f"sensor.envoy_{serial}_lifetime_energy_exported"
    inverter = simulator.inverters[0]["serialNumber"]
    power = f"sensor.inverter_{inverter}_current_power"
    held = state(hass, exported)
    simulator.fail(PATH_METER_READINGS, status=500, body=b"")
    inverter_reads = simulator.count(PATH_INVERTERS)
    await poll_past_the_hold(hass, freezer)
    await poll_past_the_hold(hass, freezer)
    assert simulator.count(PATH_INVERTERS) > inverter_reads
    assert state(hass, power) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert state(hass, exported) == STATE_UNAVAILABLE
    simulator.heal()
    await poll_past_the_hold(hass, freezer)
    assert state(hass, exported) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert float(state(hass, exported)) >= float(held)
