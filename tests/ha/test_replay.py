"""Proof in numbers: 48 hours of a glitchy Envoy, through the integration and the recorder.

A simulated site produces along a real-shaped day/night curve (peak near the 7.9 kW of the
D5.0.62 capture). Its Envoy suffers every glitch of the issue at seeded random times. The
integration polls it every minute with Home Assistant's recorder running; statistics are
compiled every five minutes, as the recorder does. The hourly long-term statistics of the
lifetime energy sensor (its ``sum``, what the Energy dashboard shows) are then compared with
what the site really produced. With the energy guard the error is below 0.1 %; with the
guard switched off the same replay is wildly wrong. Both figures are printed.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.model.guard import EnergyGuard
from tests.ha.replay import (  # noqa: F401 - the fixture starts the recorder
    WRAP_WH,
    PassThroughGuard,
    auto_enable_custom_integrations,
    compile_statistics,
    hourly_sums,
    replay_modes,
)
from tests.helpers import poll, state
from tests.simulator import PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator

SERIAL = "121621012167"
LIFETIME = f"sensor.envoy_{SERIAL}_lifetime_energy"
TODAY = f"sensor.envoy_{SERIAL}_energy_today"
HOURS = 48
PEAK_W = 8000
SUNRISE_H, SUNSET_H = 6.5, 19.5


def solar_power(moment: datetime) -> float:
    """Return the site's power (W) at a local time: a smooth bell between sunrise and sunset."""
    hour = moment.hour + moment.minute / 60
    if not SUNRISE_H < hour < SUNSET_H:
        return 0.0
    return PEAK_W * math.sin(math.pi * (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H)) ** 1.5


@dataclass
class Glitch:
    """A glitch: what it does to the simulated Envoy, for how many polls."""

    name: str
    polls: int
    apply: Callable[[EnvoySimulator, dict[str, int]], None]


def _zeros(simulator: EnvoySimulator, reading: dict[str, int]) -> None:
    simulator.fail(PATH_PRODUCTION, body=json.dumps(dict.fromkeys(reading, 0)).encode())


def _zeros_but_lifetime(simulator: EnvoySimulator, reading: dict[str, int]) -> None:
    body = {**dict.fromkeys(reading, 0), "wattHoursLifetime": reading["wattHoursLifetime"]}
    simulator.fail(PATH_PRODUCTION, body=json.dumps(body).encode())


def _drop(simulator: EnvoySimulator, reading: dict[str, int]) -> None:
    body = {**reading, "wattHoursLifetime": reading["wattHoursLifetime"] - 50_000}
    simulator.fail(PATH_PRODUCTION, body=json.dumps(body).encode())


def _spike(simulator: EnvoySimulator, reading: dict[str, int]) -> None:
    body = {**reading, "wattHoursLifetime": reading["wattHoursLifetime"] + 10**9}
    simulator.fail(PATH_PRODUCTION, body=json.dumps(body).encode())


GLITCHES = [
    Glitch("reboot: all zeros", 3, _zeros),
    Glitch("reboot: zeros but lifetime", 3, _zeros_but_lifetime),
    Glitch("brief drop", 1, _drop),
    Glitch("garbage spike", 1, _spike),
    Glitch("HTTP 503", 2, lambda s, _: s.fail("*", status=503, body=b"") and None),
    Glitch("connection dropped", 2, lambda s, _: s.fail("*", drop=True) and None),
    Glitch("HTML page as JSON", 1, lambda s, _: s.fail(PATH_PRODUCTION, body=b"<html/>") and None),
    Glitch("empty inverter list", 2, lambda s, _: s.fail(PATH_INVERTERS, body=b"[]") and None),
]


class Site:
    """The simulated site: true production, and what its Envoy reports of it."""

    def __init__(self, simulator: EnvoySimulator, start: datetime) -> None:
        """Start from the capture's counters."""
        self.simulator = simulator
        self.true_lifetime = float(simulator.production["wattHoursLifetime"])
        self.offset = 0  # the Envoy's counter minus the truth (a wrap moves it)
        self.envoy_today = float(simulator.production["wattHoursToday"])
        self.day = start.date()

    def advance(self, moment: datetime, seconds: float) -> None:
        """Produce for ``seconds`` up to ``moment`` and update what the Envoy reports."""
        power = solar_power(moment)
        energy = power * seconds / 3600
        self.true_lifetime += energy
        # The Envoy's own daily counter resets an hour late (seen under DST).
        if moment.date() != self.day and moment.hour >= 1:
            self.day = moment.date()
            self.envoy_today = 0
        self.envoy_today += energy
        self.simulator.production.update(
            wattsNow=round(power),
            wattHoursToday=round(self.envoy_today),
            wattHoursSevenDays=round(self.envoy_today + 6 * 45_000),
            wattHoursLifetime=round(self.true_lifetime) + self.offset,
        )
        if moment.minute % 5 == 0 and power > 0:  # microinverters report every 5 minutes
            for inverter in self.simulator.inverters:
                inverter["lastReportDate"] = int(moment.timestamp())
                inverter["lastReportWatts"] = round(power / len(self.simulator.inverters))


async def replay(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator: EnvoySimulator
) -> tuple[float, float, float]:
    """Run the 48 hours; return (counted kWh, true kWh, worst 'today' excess in Wh)."""
    start = dt_util.as_local(dt_util.utcnow())
    site = Site(simulator, start)
    rng = random.Random(48)
    polls = HOURS * 60
    # Each glitch strikes twice, at random minutes in daylight, and the counter wraps once.
    schedule: dict[int, Glitch] = {}
    daylight = [
        minute
        for minute in range(30, polls - 120)
        if solar_power(start + timedelta(minutes=minute)) > 0
    ]
    for glitch in GLITCHES * 2:
        schedule[rng.choice(daylight)] = glitch
    wrap_at = rng.choice(daylight)

    first_true = None
    worst_today_excess = 0.0
    glitch_left = 0
    day_start_true = site.true_lifetime
    day = start.date()
    for minute in range(1, polls + 1):
        moment = start + timedelta(minutes=minute)
        site.advance(moment, 60)
        if moment.date() != day:
            day, day_start_true = moment.date(), site.true_lifetime
        if minute == wrap_at:
            site.offset -= WRAP_WH
        reading = dict(simulator.production)
        if glitch_left == 0:
            simulator.heal()
            if (glitch := schedule.get(minute)) is not None:
                glitch.apply(simulator, reading)
                glitch_left = glitch.polls
        glitch_left = max(glitch_left - 1, 0)
        await poll(hass, freezer)
        if first_true is None:
            first_true = site.true_lifetime
        today = hass.states.get(TODAY)
        if today is not None and today.state not in ("unavailable", "unknown"):
            true_today = site.true_lifetime - day_start_true
            worst_today_excess = max(worst_today_excess, float(today.state) * 1000 - true_today)
        if minute % 5 == 0:
            await compile_statistics(hass, moment)
    assert first_true is not None
    counted_kwh = (await hourly_sums(hass, start, HOURS, {LIFETIME}))[LIFETIME]
    true_kwh = (site.true_lifetime - first_true) / 1000
    return counted_kwh, true_kwh, worst_today_excess


@replay_modes
async def test_energy_dashboard_replay(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    capsys: pytest.CaptureFixture[str],
    guard: str,
) -> None:
    """The Energy dashboard's statistics match true production within 0.1 %, guard on."""
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    freezer.move_to("2026-06-20T22:00:00+00:00")  # local midnight
    with patch(
        "custom_components.enphase_envoy_legacy.model.site.EnergyGuard",
        EnergyGuard if guard == "on" else PassThroughGuard,
    ):
        mock_config_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert state(hass, LIFETIME) != "unavailable"
        counted, true, today_excess = await replay(hass, freezer, simulator)
    error = (counted - true) / true
    with capsys.disabled():
        print(  # noqa: T201 - the figure is the point of this test
            f"\nEnergy dashboard replay, {HOURS} h, guard {guard}: statistics {counted:.3f} kWh,"
            f" true production {true:.3f} kWh, error {error:+.4%},"
            f" worst 'energy today' above the truth {today_excess:.0f} Wh"
        )
    if guard == "on":
        assert abs(error) < 0.001
        assert today_excess <= 10
    else:
        assert abs(error) > 0.5
