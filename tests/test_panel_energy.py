"""Per-panel energy through Home Assistant: a simulated day against the Envoy's own counter.

The simulated Envoy's microinverters report every 300 s along a summer day with passing
clouds (seeded, minute by minute); its lifetime counter grows by the true energy of each
report's interval (the power curve integrated), while the integration only sees each
report's power. Over the day, the sum of the per-inverter estimates must be within 3% of
what the Envoy's counter gained; the figure is printed.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.simulator import EnvoySimulator
from tests.simulator.rhythm import Rhythm, solar_day
from tests.test_polling import follow

SERIAL = "121547059079"
TODAY = f"sensor.inverter_{SERIAL}_energy_today"
LIFETIME = f"sensor.inverter_{SERIAL}_lifetime_energy"
PEAK_W = 7900  # the D5.0.62 site's power at noon


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Nothing learned before: the integration learns the simulated rhythm itself."""
    return None


def cloudy_day(midnight: float) -> Callable[[float], float]:
    """Return a summer day's power (W) with clouds passing, minute by minute (seeded)."""
    sun = solar_day(PEAK_W)
    chance = random.Random(149543)
    cover, clouds = 1.0, []
    for _ in range(24 * 60):
        if chance.random() < 0.08:  # the sky changes about every twelve minutes
            cover = chance.choice([1.0, 1.0, 0.8, 0.5, 0.25])
        clouds.append(cover)

    def power(t: float) -> float:
        return sun(t) * clouds[int((t - midnight) // 60) % len(clouds)]

    return power


@pytest.fixture
async def simulator(
    capture: str, socket_enabled: None, freezer: FrozenDateTimeFactory, hass: HomeAssistant
) -> AsyncGenerator[EnvoySimulator]:
    """Serve an Envoy whose inverters report along a cloudy day, from local midnight on."""
    midnight = datetime(2026, 6, 21, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(midnight)
    rhythm = Rhythm(interval=300, power=cloudy_day(midnight.timestamp()))
    async with EnvoySimulator(capture, rhythm=rhythm) as envoy:
        yield envoy


def envoy_lifetime(simulator: EnvoySimulator) -> int:
    """Return the Envoy's own lifetime counter now."""
    simulator.advance()
    return int(simulator.production["wattHoursLifetime"])


async def test_a_day_of_panel_energy_matches_the_envoy(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Within 3% of the Envoy's counter over a day, through a restart at noon."""
    start = envoy_lifetime(simulator)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await follow(hass, freezer, mock_config_entry.runtime_data, hours=12)

    # A restart at noon: the energy so far comes back, and counting goes on from it.
    before = mock_config_entry.runtime_data.data.panels[SERIAL].lifetime
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    freezer.tick(timedelta(minutes=2))
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.data.panels[SERIAL].lifetime >= before
    await follow(hass, freezer, mock_config_entry.runtime_data, hours=11.9)

    panels = mock_config_entry.runtime_data.data.panels
    estimated = sum(panel.lifetime for panel in panels.values())
    envoy = envoy_lifetime(simulator) - start
    error = (estimated - envoy) / envoy
    with capsys.disabled():
        print(  # noqa: T201 - the figure the issue asks to see
            f"\nPanel energy, one day, {len(panels)} inverters: estimated"
            f" {estimated / 1000:.3f} kWh, the Envoy's counter {envoy / 1000:.3f} kWh,"
            f" error {error:+.2%}"
        )
    assert abs(error) <= 0.03
    assert float(hass.states.get(LIFETIME).state) == pytest.approx(
        panels[SERIAL].lifetime / 1000, abs=0.001
    )
    assert float(hass.states.get(TODAY).state) == pytest.approx(
        panels[SERIAL].lifetime / 1000, abs=0.001
    )

    # Local midnight: "today" starts again without any spike; the lifetime stays.
    await follow(hass, freezer, mock_config_entry.runtime_data, hours=0.2)
    assert float(hass.states.get(TODAY).state) == 0
    assert float(hass.states.get(LIFETIME).state) == pytest.approx(
        panels[SERIAL].lifetime / 1000, abs=0.001
    )


@pytest.mark.parametrize("key", ["energy_today", "lifetime_energy"])
async def test_panel_energy_is_an_energy_dashboard_source(
    hass: HomeAssistant, init_integration: MockConfigEntry, key: str
) -> None:
    """Each panel's energy is what the Energy dashboard takes as solar production."""
    state = hass.states.get(f"sensor.inverter_{SERIAL}_{key}")
    assert state is not None
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"
