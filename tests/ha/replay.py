"""What the 48 h recorder replays share: the guard switched off, and the recorder's figures.

tests/test_replay.py replays a non-metered site, tests/test_replay_metered.py a metered one;
both compile statistics every five minutes, as the recorder does, and read back the hourly
long-term statistics' ``sum`` (what the Energy dashboard shows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.enphase_envoy_legacy.model.guard import EnergyGuard
from custom_components.enphase_envoy_legacy.model.guard_state import CounterReading, GuardedCounter

# The step down of a counter that wraps (legacy firmware's inverter counters, 2**32 mWh-ish).
WRAP_WH = 1_193_046


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant, as it requires, then allow this integration."""


def replay_modes[**P, R](test: Callable[P, R]) -> Callable[P, R]:
    """Run a replay with the guard on and off, the inverters' own sensors not recorded."""
    excluded = {"exclude": {"entity_globs": ["sensor.inverter_*"]}}
    test = pytest.mark.parametrize("guard", ["on", "off"])(test)
    return pytest.mark.parametrize("recorder_config", [excluded])(test)


class PassThroughGuard(EnergyGuard):
    """The guard switched off: the Envoy's figures go to the sensors as they come."""

    def update(
        self,
        production: CounterReading,
        now: datetime,
        *,
        site_peak_power: int = 0,
        report_interval: float = 0.0,
    ) -> GuardedCounter:
        """Pass the reading through."""
        return GuardedCounter(
            watts_now=production.watts_now,
            today=production.watt_hours_today,
            seven_days=production.watt_hours_seven_days,
            lifetime=production.watt_hours_lifetime,
            suspect=False,
            rebased=False,
        )


async def compile_statistics(hass: HomeAssistant, moment: datetime) -> None:
    """Compile the five minutes up to ``moment`` once the states are recorded."""
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=dt_util.as_utc(moment - timedelta(minutes=5)))


async def hourly_sums(
    hass: HomeAssistant, start: datetime, hours: int, entity_ids: set[str]
) -> dict[str, float]:
    """Return each sensor's last hourly ``sum`` over ``hours`` from ``start`` (all hours there)."""
    await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.as_utc(start),
        dt_util.as_utc(start + timedelta(hours=hours)),
        entity_ids,
        "hour",
        None,
        {"sum"},
    )
    sums = {}
    for entity_id in entity_ids:
        hourly = stats[entity_id]
        assert len(hourly) == hours, entity_id
        sums[entity_id] = float(hourly[-1]["sum"] or 0)
    return sums
