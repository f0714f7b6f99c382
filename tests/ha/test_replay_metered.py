"""Proof in numbers for a metered Envoy-S: 48 hours of every lifetime counter (issue #14).

The R4.10.35 metered capture (a production CT and a net-consumption CT) is served by the
simulator with its meters moving along a day: the site produces along a clear solar day,
the house consumes along a curve with a morning and an evening peak, so the grid takes the
export around noon and gives the import at night. Its counters glitch at seeded random
times: zeros after a reboot, drops that come back, and a persistent step down (a counter
that wraps, or a meter replaced). The integration polls it as it schedules itself, with Home
Assistant's recorder running; statistics are compiled every five minutes, as the recorder
does. The hourly long-term statistics' ``sum`` of import, export, consumption and production
are compared with what the simulator's own counters integrated over the same time. With the
guards each is within 0.1 %; with them switched off each is wildly wrong. All are printed.

The truth of a counter runs from its first reading to its last before the last statistics
period closes.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.counters import MeteredCounters
from custom_components.enphase_envoy_legacy.model.guard import EnergyGuard
from custom_components.enphase_envoy_legacy.model.guard_state import GuardState
from custom_components.enphase_envoy_legacy.model.metered import MeterSetup
from tests.ha import replay as shared
from tests.ha.replay import auto_enable_custom_integrations  # noqa: F401 - starts the recorder
from tests.helpers import poll
from tests.simulator import PATH_METER_READINGS, EnvoySimulator, Rhythm

METERED = "R4.10.35_metered"
HOURS = 48
# Local midnight in the test instance's time zone (US/Pacific), the longest days of the year.
START = datetime.fromisoformat("2026-06-20T07:00:00+00:00")
DROP_WH = 50_000
# Each counter: its sensor's key, the simulator's integrated counter, the endpoint it is read
# from (the house's consumption is production + import - export, from the readings).
COUNTERS = {
    "import": ("grid_energy_imported", "import", PATH_METER_READINGS),
    "export": ("grid_energy_exported", "export", PATH_METER_READINGS),
    "consumption": ("consumption_lifetime_energy", "total-consumption", PATH_METER_READINGS),
    "production": ("production_ct_lifetime_energy", "production", PATH_METER_READINGS),
}
# What strikes, for how many polls: every glitch acts on every counter at once.
GLITCHES: list[tuple[str, str, int, float]] = [
    *[("reboot: all zeros", "zero", 3, 0.0)] * 3,
    *[("brief drop", "drop", 2, DROP_WH)] * 3,
    ("persistent step (a wrap)", "drop", HOURS * 60, shared.WRAP_WH),
]


@pytest.fixture(autouse=True)
def fixed_clock(freezer: FrozenDateTimeFactory) -> None:
    """Local midnight, before the simulator starts (its counters move from then on)."""
    freezer.move_to(START)


@pytest.fixture
def rhythm() -> dict[str, Any]:
    """Let the scheduler know the Envoy: metered, its inverters reporting every 5 minutes."""
    return {"interval": 300.0, "metered": True}


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[EnvoySimulator]:
    """Serve the metered capture on a report rhythm, its meters moving along the day."""
    async with EnvoySimulator(METERED, rhythm=Rhythm(interval=300.0, metered=True)) as envoy:
        envoy.metering.moving = True
        yield envoy


def switched_off(guards: MeteredCounters, name: str, setup: MeterSetup) -> EnergyGuard:
    """Return a counter's guard switched off."""
    return shared.PassThroughGuard(guards.states.setdefault(name, GuardState()))


def entity_ids(hass: HomeAssistant, serial: str) -> dict[str, str]:
    """Return each counter's entity id."""
    registry = er.async_get(hass)
    found = {
        name: registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_{key}")
        for name, (key, _, _) in COUNTERS.items()
    }
    assert None not in found.values(), found
    return {name: entity_id for name, entity_id in found.items() if entity_id is not None}


async def replay(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator: EnvoySimulator
) -> tuple[dict[str, float], dict[str, float]]:
    """Run the 48 hours; return each counter's statistics and its truth (kWh)."""
    metering = simulator.metering
    start = dt_util.as_local(dt_util.utcnow())
    # What the simulator's counters had integrated at each poll (requests arrive then).
    drawn = {start.timestamp(): dict(metering.drawn)}
    rng = random.Random(14)
    polls = HOURS * 60
    slots = rng.sample(range(30, polls - 120, 20), len(GLITCHES))
    schedule = {
        minute + rng.randrange(20): glitch for minute, glitch in zip(slots, GLITCHES, strict=True)
    }
    for minute in range(1, polls + 1):
        moment = start + timedelta(minutes=minute)
        if (glitch := schedule.get(minute)) is not None:
            _, kind, count, drop_wh = glitch
            until = moment.timestamp() + (count - 0.5) * 60
            metering.glitch("zero" if kind == "zero" else "drop", until, drop_wh)
        await poll(hass, freezer)
        drawn[moment.timestamp()] = dict(metering.drawn)
        if minute % 5 == 0:
            await shared.compile_statistics(hass, moment)
    ids = entity_ids(hass, simulator.serial)
    sums = await shared.hourly_sums(hass, start, HOURS, set(ids.values()))
    end = (start + timedelta(hours=HOURS)).timestamp()
    counted, truth = {}, {}
    for name, (_, integrated, path) in COUNTERS.items():
        read = [r.at for r in simulator.requests if r.path.split("?")[0] == path and r.at < end]
        counted[name] = sums[ids[name]]
        truth[name] = (drawn[max(read)][integrated] - drawn[min(read)][integrated]) / 1000
    return counted, truth


@shared.replay_modes
async def test_every_counter_in_the_energy_dashboard(
    guard: str,
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: EnvoySimulator,
    freezer: FrozenDateTimeFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Import, export, consumption and production within 0.1 % of the truth, guards on."""
    with patch.object(
        MeteredCounters, "guard", MeteredCounters.guard if guard == "on" else switched_off
    ):
        mock_config_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        counted, truth = await replay(hass, freezer, simulator)
    errors = {name: (counted[name] - truth[name]) / truth[name] for name in COUNTERS}
    with capsys.disabled():
        for name in COUNTERS:
            print(  # noqa: T201 - the figures are the point of this test
                f"\nMetered replay, {HOURS} h, guard {guard}, {name}: statistics"
                f" {counted[name]:.3f} kWh, true {truth[name]:.3f} kWh,"
                f" error {errors[name]:+.4%}",
                end="",
            )
        print()  # noqa: T201
    # The grid took both ways: export around noon, import at night.
    assert truth["export"] > 1
    assert truth["import"] > 1
    for name, error in errors.items():
        if guard == "on":
            assert abs(error) < 0.001, name
        else:
            assert abs(error) > 0.5, name
