"""A metered Envoy-S in Home Assistant (issue #14), over real HTTP against the simulator.

Detection and its cost on every capture, the sensors' values as the simulator moves them,
every lifetime counter guarded end to end, CT faults as repair issues, the AC Battery, the
phases of production.json, and what the store keeps across a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.meters import METER_CHECK_INTERVAL
from custom_components.enphase_envoy_legacy.repairs import meter_fault_issue_id
from custom_components.enphase_envoy_legacy.store import STORE_MINOR_VERSION
from tests.helpers import NOON, device, poll, poll_past_the_hold, state, store_key
from tests.simulator import (
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_METERS,
    PATH_PRODUCTION,
    PATH_PRODUCTION_JSON,
    Battery,
    EnvoySimulator,
)
from tests.simulator.rhythm import energy_wh

METERED = "R4.10.35_metered"
SERIAL = "121938119871"
METER_PATHS = (PATH_METERS, PATH_METER_READINGS, PATH_PRODUCTION_JSON)


@pytest.fixture(autouse=True)
def fixed_clock(freezer: FrozenDateTimeFactory) -> None:
    """Summer noon, before the simulator starts (its report dates follow the clock)."""
    freezer.move_to(NOON)


@pytest.fixture(autouse=True)
def only_sensors() -> Generator[None]:
    """Set up the sensor platform alone."""
    with patch("custom_components.enphase_envoy_legacy.PLATFORMS", [Platform.SENSOR]):
        yield


def meter_requests(simulator: EnvoySimulator) -> list[str]:
    """Return the path of every request to a meter endpoint, in order."""
    return [r.path for r in simulator.requests if r.path.split("?")[0] in METER_PATHS]


def entity_id(hass: HomeAssistant, key: str) -> str:
    """Return the entity id of the metered Envoy's sensor with that key."""
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_{key}")
    assert found is not None, key
    return found


def shown(hass: HomeAssistant, key: str) -> str:
    """Return a metered Envoy sensor's state."""
    return state(hass, entity_id(hass, key))


def number(hass: HomeAssistant, key: str) -> float:
    """Return a metered Envoy sensor's state as a number."""
    return float(shown(hass, key))


def exists(hass: HomeAssistant, key: str) -> bool:
    """Return True when the metered Envoy has a sensor with that key."""
    registry = er.async_get(hass)
    return registry.async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_{key}") is not None


@pytest.mark.parametrize(
    ("capture", "at_setup"),
    [
        ("D5.0.62", []),  # <imeter>false</imeter>: no request at all
        # No <imeter>: asked once, answered with a Digest challenge that refuses every user.
        ("D3.18.10", [PATH_METERS, PATH_METERS]),
        ("spec_example", [PATH_METERS]),  # no <imeter>: asked once (404)
    ],
)
async def test_an_envoy_without_meters_asks_nothing_after_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    at_setup: list[str],
) -> None:
    """Detection costs at most one request at setup; the polls read no meter endpoint."""
    assert [path.split("?")[0] for path in meter_requests(simulator)] == at_setup
    for _ in range(5):
        await poll(hass, freezer)
    assert [path.split("?")[0] for path in meter_requests(simulator)] == at_setup
    entries = er.async_entries_for_config_entry(er.async_get(hass), init_integration.entry_id)
    assert not [e for e in entries if "grid" in e.unique_id or "consumption" in e.unique_id]


@pytest.mark.parametrize("capture", [METERED])
async def test_a_metered_envoy_reads_its_meters_every_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """production.json and readings each minute, /api/v1/production never, /ivp/meters hourly."""
    envoy = device(device_registry, init_integration, simulator.serial)
    assert envoy is not None
    assert envoy.model == "Envoy-S Metered"
    simulator.requests.clear()
    for _ in range(5):
        await poll(hass, freezer)
    paths = [r.path.split("?")[0] for r in simulator.requests if r.status == 200]
    assert paths.count(PATH_PRODUCTION_JSON) == 5
    assert paths.count(PATH_METER_READINGS) == 5
    assert PATH_PRODUCTION not in paths
    assert PATH_METERS not in paths
    freezer.tick(timedelta(seconds=METER_CHECK_INTERVAL))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert PATH_METERS in [r.path for r in simulator.requests]


@pytest.mark.parametrize("rhythm", [{"interval": 300.0, "metered": True}])
@pytest.mark.parametrize("capture", [METERED])
async def test_between_bursts_only_the_readings_are_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The readings each minute; production.json (today, seven days) with the inverters."""
    simulator.requests.clear()
    for _ in range(10):
        await poll(hass, freezer)
    paths = [r.path.split("?")[0] for r in simulator.requests if r.status == 200]
    assert paths.count(PATH_METER_READINGS) == 10
    assert 0 < paths.count(PATH_PRODUCTION_JSON) == paths.count(PATH_INVERTERS) < 10
    assert PATH_PRODUCTION not in paths


@pytest.mark.parametrize("capture", [METERED])
async def test_every_counter_is_guarded_end_to_end(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Zeros after a reboot and a drop that comes back: no counter ever goes down."""
    simulator.metering.moving = True
    keys = (
        "lifetime_energy",
        "consumption_lifetime_energy",
        "grid_energy_imported",
        "grid_energy_exported",
        "production_ct_lifetime_energy",
    )
    await poll(hass, freezer)
    before = {key: number(hass, key) for key in keys}
    now = NOON.timestamp()
    simulator.metering.glitch("zero", until=now + 4 * 60)
    simulator.metering.glitch("drop", until=now + 8 * 60, drop_wh=1_190_000)
    seen: list[dict[str, float]] = []
    for _ in range(12):
        await poll(hass, freezer)
        seen.append({key: number(hass, key) for key in keys})
    for key in keys:
        values = [before[key]] + [shown[key] for shown in seen]
        assert values == sorted(values), key
        # Not a glitch's worth above the truth: a few minutes of the simulated site at most.
        assert values[-1] - values[0] < 10, key
    # The grid's power follows the simulated day: export at noon.
    assert number(hass, "grid_power") < 0


@pytest.mark.parametrize("capture", [METERED])
async def test_energy_today_after_setup_is_the_envoys_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Set up at 14:00: production's and consumption's energy today both count from midnight.

    Each starts from the Envoy's own figure for the day so far (what the simulated site's
    curves made since local midnight), so consumption today is production + import - export
    today, as the Envoy's day has it. At the next local midnight both start again.
    """
    freezer.move_to(NOON + timedelta(hours=2))
    metering = simulator.metering
    metering.moving = True
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert dt_util.now().hour == 14

    def kwh_since(power: Callable[[float], float], start: datetime) -> float:
        return energy_wh(power, start.timestamp(), dt_util.now().timestamp()) / 1000

    midnight = dt_util.start_of_local_day()
    produced = kwh_since(metering.solar, midnight)
    assert number(hass, "energy_today") == pytest.approx(produced, abs=0.002)
    consumed = kwh_since(metering.load, midnight)
    assert number(hass, "consumption_energy_today") == pytest.approx(consumed, abs=0.002)
    imported = kwh_since(lambda t: max(0.0, metering.net(t)), midnight)
    exported = kwh_since(lambda t: max(0.0, -metering.net(t)), midnight)
    assert number(hass, "consumption_energy_today") == pytest.approx(
        number(hass, "energy_today") + imported - exported, abs=0.005
    )
    freezer.move_to(midnight + timedelta(days=1, minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    following = dt_util.start_of_local_day()
    assert number(hass, "energy_today") == pytest.approx(
        kwh_since(metering.solar, following), abs=0.002
    )
    assert number(hass, "consumption_energy_today") == pytest.approx(
        kwh_since(metering.load, following), abs=0.002
    )


@pytest.mark.parametrize("capture", [METERED])
@pytest.mark.parametrize("fault", ["check-wiring", "not-metering"])
async def test_a_ct_fault_raises_a_repair_issue_until_it_heals(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    fault: Any,
) -> None:
    """The hourly check of /ivp/meters raises the issue; the grid's sensors go unavailable."""
    issue_id = meter_fault_issue_id(simulator.serial, "net-consumption")
    registry = ir.async_get(hass)
    simulator.metering.ct_fault("net-consumption", fault)
    for heal in (False, True):
        if heal:
            simulator.metering.ct_fault("net-consumption", None)
        freezer.tick(timedelta(seconds=METER_CHECK_INTERVAL))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        issue = registry.async_get_issue(DOMAIN, issue_id)
        if heal:
            assert issue is None
            assert shown(hass, "grid_meter_status") == "normal"
            assert shown(hass, "grid_power") != "unavailable"
        else:
            assert issue is not None
            assert issue.translation_placeholders is not None
            assert issue.translation_placeholders["status"] == fault
            assert shown(hass, "grid_meter_status") == fault.replace("-", "_")
            assert shown(hass, "grid_power") == "unavailable"
            assert shown(hass, "grid_energy_imported") == "unavailable"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("capture", [METERED])
async def test_the_ac_battery_and_an_envoy_without_readings(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """An AC Battery shows once listed; without the readings, production.json serves.

    production.json's phases (``lines``) replace the readings' channels (without a
    frequency), its net ``whLifetime`` is the import, and no export counter is invented.
    """
    assert not exists(hass, "battery_level")
    exported = shown(hass, "grid_energy_exported")
    assert exported != "unavailable"
    simulator.metering.battery = Battery(percent_full=42.0)
    simulator.metering.lines = True
    simulator.fail(PATH_METER_READINGS, status=404, body=b"")  # no readings any more
    # Readings that stop are a glitch at first (the last values stay), then believed.
    await poll(hass, freezer)
    assert shown(hass, "grid_energy_exported") == exported
    await poll_past_the_hold(hass, freezer)
    await hass.async_block_till_done()
    assert number(hass, "battery_level") == 42
    assert number(hass, "battery_power") == 0
    assert shown(hass, "battery_state") == "idle"
    net = simulator.metering.production_json["consumption"][1]  # type: ignore[index]
    assert net["measurementType"] == "net-consumption"
    assert number(hass, "grid_power") == round(net["wNow"])
    assert number(hass, "grid_l1_power") + number(hass, "grid_l2_power") == pytest.approx(
        net["wNow"], abs=1
    )
    assert number(hass, "grid_l1_voltage") == net["rmsVoltage"]
    assert shown(hass, "grid_l1_frequency") == "unavailable"  # lines carry none
    # The simulator's third line keeps the voltage: a phase with voltage is a phase.
    assert number(hass, "grid_l3_power") == 0
    assert shown(hass, "grid_energy_exported") == "unavailable"
    assert number(hass, "grid_energy_imported") * 1000 == pytest.approx(net["whLifetime"], abs=10)
    simulator.metering.battery = None
    await poll(hass, freezer)
    assert shown(hass, "battery_level") == "unavailable"


@pytest.mark.parametrize("capture", [METERED])
async def test_the_store_keeps_the_meters_and_their_guards(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A restart detects nothing again, and each counter continues from its guard's state."""
    await poll(hass, freezer)
    imported = number(hass, "grid_energy_imported")
    await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[store_key(init_integration.entry_id)]
    assert (stored["version"], stored["minor_version"]) == (2, STORE_MINOR_VERSION)
    assert [m["measurement_type"] for m in stored["data"]["meters"]["meters"]] == [
        "production",
        "net-consumption",
    ]
    assert stored["data"]["info"]["imeter"] is True
    assert set(stored["data"]["counters"]) == {
        "consumption",
        "imported",
        "exported",
        "production_ct",
    }
    simulator.requests.clear()
    simulator.metering.glitch("zero", until=NOON.timestamp() + 3600)
    await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    # A restart reads what a poll reads, after the one Digest challenge of a new client:
    # nothing is detected or checked again before the hour is up.
    assert [(r.path.split("?")[0], r.status) for r in simulator.requests] == [
        (PATH_INVERTERS, 401),
        (PATH_INVERTERS, 200),
        (PATH_METER_READINGS, 200),
        (PATH_PRODUCTION_JSON, 200),
    ]
    assert number(hass, "grid_energy_imported") == imported  # the zeros held
    entries = er.async_entries_for_config_entry(er.async_get(hass), init_integration.entry_id)
    assert any(e.unique_id.endswith("_grid_energy_exported") for e in entries)


@pytest.mark.parametrize("capture", [METERED])
async def test_energy_today_starts_again_at_midnight_unread(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The poll at local midnight reads nothing due; every energy today starts again anyway."""
    midnight = dt_util.start_of_local_day(dt_util.as_local(NOON)) + timedelta(days=1)
    freezer.move_to(midnight - timedelta(seconds=20))
    simulator.metering.moving = True
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data
    assert coordinator.next_poll == midnight
    assert number(hass, "consumption_energy_today") > 0
    lifetime = number(hass, "consumption_lifetime_energy")
    simulator.requests.clear()
    freezer.move_to(midnight + timedelta(seconds=0.6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not meter_requests(simulator)
    assert number(hass, "consumption_energy_today") == 0
    assert number(hass, "energy_today") == 0
    assert number(hass, "consumption_lifetime_energy") == lifetime


@pytest.mark.parametrize("capture", [METERED])
async def test_consumption_continues_after_the_update(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A store of the previous release, its consumption read from production.json's entry.

    Consumption now follows the readings (production + import - export). Where the Envoy's
    entry was ahead of that sum, the lower figure is held, then taken as a new base: the
    lifetime never goes down and continues from what the previous release showed.
    """
    answer = simulator.metering.production_json
    assert answer is not None
    entry = next(e for e in answer["consumption"] if e["measurementType"] == "total-consumption")
    ahead = round(entry["whLifetime"]) + 5_000  # an Envoy whose entry is 5 kWh ahead
    shown_before = 40_000_000
    stored = hass_storage[store_key(mock_config_entry.entry_id)]["data"]
    stored["counters"] = {
        "consumption": {
            "envoy_lifetime": ahead,
            "lifetime": shown_before,
            "accepted_at": NOON.timestamp() - 60,
            "accepted_power": round(entry["wNow"]),
        }
    }
    simulator.metering.moving = True
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    seen = [number(hass, "consumption_lifetime_energy")]
    for _ in range(20):
        await poll(hass, freezer)
        seen.append(number(hass, "consumption_lifetime_energy"))
    assert seen == sorted(seen)
    assert seen[0] == shown_before / 1000
    # Taken as a new base within 20 minutes, then growing with the house's use.
    assert seen[-1] > seen[0]
    assert seen[-1] - seen[0] < 1
