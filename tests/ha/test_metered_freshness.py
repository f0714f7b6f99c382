"""Every value of a metered Envoy-S moves each time its source is read (issue #21).

The simulated R4.10.35 Envoy-S reports its inverters in bursts that fall out of phase with
the integration's production reads (bursts placed anywhere in the minute, the poll clock
drifting against them), its meters moving along the day with a house drawing a steady
3 kW. It is served as each kind of metered Envoy the captures show: a net-consumption CT with
the readings endpoint (as captured), the same without that endpoint (some firmware), and a
total-consumption CT on three phases. The integration runs its own schedule; after every
poll each counter must have moved by exactly what the simulator's meters counted since the
last read of its source, and each value of ``/production.json`` must be the one of its last
read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from tests.helpers import NOON
from tests.simulator import (
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_PRODUCTION_JSON,
    Battery,
    EnvoySimulator,
    Fault,
    Rhythm,
)

METERED = "R4.10.35_metered"
LOAD_W = 3000.0
MINUTES = 40
# Rounding: each counter is read to the Wh, and the house's consumption may be the sum of
# three of them.
TOLERANCE_WH = 3.0


def with_readings(simulator: EnvoySimulator) -> None:
    """Serve the capture as it is: a production CT, a net-consumption CT, their readings."""


def without_readings(simulator: EnvoySimulator) -> None:
    """Serve it on firmware without ``/ivp/meters/readings`` (404)."""
    simulator.fail(PATH_METER_READINGS, Fault(status=404))


def total_ct(simulator: EnvoySimulator) -> None:
    """Make its consumption CT a total-consumption one, on three phases."""
    for meter in simulator.metering.meters or []:
        meter.update(phaseMode="three", phaseCount=3)
        if meter["measurementType"] == "net-consumption":
            meter["measurementType"] = "total-consumption"


def total_ct_alone(simulator: EnvoySimulator) -> None:
    """Make it a total-consumption CT on three phases, without a production CT."""
    total_ct(simulator)
    simulator.metering.ct_fault("production", "disabled")


@dataclass(frozen=True)
class Kind:
    """A kind of metered Envoy: how the simulator serves it, where each counter is read."""

    serve: Callable[[EnvoySimulator], None]
    # Each counter's sensor key: the simulator's counter of its truth, the path it is read from.
    counters: dict[str, tuple[str, str]]


def counters(source: str, *, export: bool) -> dict[str, tuple[str, str]]:
    """Return every counter of the Envoy, each read from ``source``."""
    found = {
        "lifetime_energy": ("production", source),
        "production_ct_lifetime_energy": ("production", source),
        "consumption_lifetime_energy": ("total-consumption", source),
        "consumption_energy_today": ("total-consumption", source),
        "grid_energy_imported": ("import", source),
    }
    if export:
        found["grid_energy_exported"] = ("export", source)
    return found


KINDS = {
    "net CT, readings": Kind(with_readings, counters(PATH_METER_READINGS, export=True)),
    "net CT, no readings": Kind(without_readings, counters(PATH_PRODUCTION_JSON, export=False)),
    "total CT, three phases": Kind(total_ct, counters(PATH_PRODUCTION_JSON, export=False)),
    "total CT alone": Kind(total_ct_alone, counters(PATH_PRODUCTION_JSON, export=False)),
}
# A total CT's Envoy has no net meter (its grid counters are not shown); without a
# production CT the site's figures come from /api/v1/production.
KINDS["total CT, three phases"].counters.pop("grid_energy_imported")
for name in ("grid_energy_imported", "production_ct_lifetime_energy", "lifetime_energy"):
    KINDS["total CT alone"].counters.pop(name)


@pytest.fixture(autouse=True)
def only_sensors() -> Generator[None]:
    """Set up the sensor platform alone."""
    with patch("custom_components.enphase_envoy_legacy.PLATFORMS", [Platform.SENSOR]):
        yield


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Nothing learned before: a new user's setup."""
    return None


@pytest.fixture
async def simulator(
    kind: str, phase: float, socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[EnvoySimulator]:
    """Serve the kind of Envoy asked for, its bursts ``phase`` seconds after the setup."""
    freezer.move_to(NOON)
    rhythm = Rhythm(interval=300, metered=True, offset=NOON.timestamp() + phase)
    async with EnvoySimulator(METERED, rhythm=rhythm) as envoy:
        KINDS[kind].serve(envoy)
        metering = envoy.metering
        metering.load = lambda _: LOAD_W
        metering.battery = Battery()
        metering.moving = True
        yield envoy


def entity_id(hass: HomeAssistant, serial: str, key: str) -> str:
    """Return the entity id of the Envoy's sensor with that key."""
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_{key}")
    assert found is not None, key
    return found


def wh(hass: HomeAssistant, entity: str) -> float:
    """Return an energy sensor's state in Wh (they show kWh)."""
    current = hass.states.get(entity)
    assert current is not None
    return float(current.state) * 1000


def read_in(simulator: EnvoySimulator, start: int) -> set[str]:
    """Return the paths read successfully by the requests from index ``start`` on."""
    return {r.path.split("?")[0] for r in simulator.requests[start:] if r.status == 200}


@pytest.mark.parametrize("phase", [0, 17, 31, 44])
@pytest.mark.parametrize("kind", KINDS)
async def test_each_value_moves_whenever_its_source_is_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    kind: str,
) -> None:
    """Counters follow their source at every read; production.json's values its last read."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data
    metering = simulator.metering
    battery = metering.battery
    assert battery is not None
    serial = simulator.serial
    watched = KINDS[kind].counters
    ids = {key: entity_id(hass, serial, key) for key in watched}
    seven_days = entity_id(hass, serial, "energy_last_seven_days")
    battery_level = entity_id(hass, serial, "battery_level")
    shown = {key: wh(hass, ids[key]) for key in watched}
    # What the simulator had counted at the last read of each source.
    truth_at = {path: dict(metering.drawn) for path in (PATH_METER_READINGS, PATH_PRODUCTION_JSON)}
    seen = len(simulator.requests)
    reads = dict.fromkeys((*truth_at, PATH_INVERTERS), 0)
    apart = 0  # polls that read the inverters without production
    end = NOON + timedelta(minutes=MINUTES)
    while (moment := coordinator.next_poll) is not None and moment < end:
        # Home Assistant's timers fire up to a second late: the poll clock drifts.
        freezer.move_to(moment + timedelta(seconds=0.6))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        paths = read_in(simulator, seen)
        seen = len(simulator.requests)
        for path in reads:
            reads[path] += path in paths
        apart += PATH_INVERTERS in paths and not paths & set(truth_at)
        for key, (counter, source) in watched.items():
            now = wh(hass, ids[key])
            expected = metering.drawn[counter] - truth_at[source][counter] if source in paths else 0
            assert now - shown[key] == pytest.approx(expected, abs=TOLERANCE_WH), (key, moment)
            shown[key] = now
        for source in paths & set(truth_at):
            truth_at[source] = dict(metering.drawn)
        if PATH_PRODUCTION_JSON in paths:
            if "lifetime_energy" in watched:  # the site's figures are the production CT's
                week = metering.days["production"].seven_days
                assert wh(hass, seven_days) == pytest.approx(week, abs=1), moment
            state = hass.states.get(battery_level)
            assert state is not None
            assert float(state.state) == round(battery.percent_full), moment
    # Every source was read, and more than once: nothing above held by chance.
    assert reads[PATH_INVERTERS] >= MINUTES // 5 - 1
    assert reads[PATH_PRODUCTION_JSON] >= MINUTES // 5 - 1
    if PATH_METER_READINGS in {source for _, source in watched.values()}:
        assert reads[PATH_METER_READINGS] >= MINUTES - 2
    assert apart == 0
