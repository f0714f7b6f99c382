"""What an entry keeps across restarts (store.py): upgrades from releases 1.3 and 0.1."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model import Site
from custom_components.enphase_envoy_legacy.store import (
    STORE_MINOR_VERSION,
    migrate_minor_2,
    migrate_version_1,
)
from tests.helpers import NOON, report_all, state, store_key
from tests.simulator import PATH_INFO, PATH_METERS, EnvoySimulator

INVERTER = "121547059079"
# Not listed by the Envoy any more, missing since an hour before NOON.
UNLISTED = "121547000001"


def legacy_key(entry_id: str) -> str:
    """Return the key release 1.3 stored an entry's state under."""
    return f"{DOMAIN}.{entry_id}.energy"


def store_release_1_3(
    hass_storage: dict[str, Any], entry_id: str, simulator: EnvoySimulator
) -> str:
    """Put an entry's store as release 1.3 wrote it in Home Assistant's storage; return its key."""
    old = legacy_key(entry_id)
    hass_storage[old] = {
        "version": 1,
        "minor_version": 1,
        "key": old,
        "data": stored_by_release_1_3(simulator),
    }
    return old


def stored_by_release_1_3(simulator: EnvoySimulator) -> dict[str, Any]:
    """Return an entry's store as release 1.3 wrote it (the guard's state at the top level)."""
    noon = NOON.timestamp()
    reported = noon - 60
    return {
        "envoy_lifetime": simulator.production["wattHoursLifetime"],
        "lifetime": 120_000_000,  # below the Envoy's counter: a counter wrap was rebased
        "accepted_at": noon - 60,
        "accepted_power": simulator.production["wattsNow"],
        "peak_power": 9_000,
        "day": "2026-06-21",
        "day_start": 119_990_000,
        "seven_days": simulator.production["wattHoursSevenDays"],
        "held_since": None,
        "candidates": [],
        "credit": 0.0,
        "rhythm": {
            "interval": 300.0,
            "pending_interval": None,
            "burst_start": reported - 59,
            "burst_end": reported,
            "spreads": [59.0],
            "metered": True,
            "unchanged": 0,
        },
        "panels": {
            INVERTER: {
                "last_report": reported,
                "lifetime": 5000.0,
                "day": "2026-06-21",
                "day_start": 4000.0,
            },
            UNLISTED: {"last_report": 0.0, "lifetime": 1.0, "day": "2026-06-20", "day_start": 0.0},
        },
        "unlisted": {UNLISTED: noon - 3600},
        "auth": {"user": "envoy", "connection_close": False},
        "info": {
            "serial": simulator.serial,
            "firmware": "D5.0.62",
            "part_number": "800-00555-r03",
            "web_tokens": False,
        },
    }


@pytest.mark.parametrize("rhythm", [None])
@pytest.mark.usefixtures("panel_lifetime_enabled")  # enabled by default in release 1.3
async def test_an_upgraded_installation_keeps_what_it_learned(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Release 1.3's store: guarded lifetime, panel energy, rhythm and identity are kept.

    It is moved to version 2 of the store under its new key, and the old one is removed.
    """
    freezer.move_to(NOON)
    report_all(simulator, NOON.replace(minute=59, hour=18))
    old = store_release_1_3(hass_storage, mock_config_entry.entry_id, simulator)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    coordinator = mock_config_entry.runtime_data

    # The guarded lifetime energy, not the Envoy's counter; energy today from the stored day.
    serial = simulator.serial
    assert float(state(hass, f"sensor.envoy_{serial}_lifetime_energy")) == 120_000.0
    assert float(state(hass, f"sensor.envoy_{serial}_energy_today")) == 10.0
    # The panel's energy.
    assert float(state(hass, f"sensor.inverter_{INVERTER}_lifetime_energy")) == 5.0
    assert float(state(hass, f"sensor.inverter_{INVERTER}_energy_today")) == 1.0
    # The learned rhythm, the identity (not read again) and since when one is unlisted.
    assert coordinator.site.scheduler.state.interval == 300
    assert coordinator.site.scheduler.state.spreads[0] == 59.0  # then the first poll's burst
    assert simulator.count(PATH_INFO) == 0
    assert coordinator.site.census.unlisted.since == {UNLISTED: NOON.timestamp() - 3600}

    assert old not in hass_storage
    new = hass_storage[store_key(mock_config_entry.entry_id)]
    assert new["version"] == 2
    assert new["data"]["guard"]["lifetime"] == 120_000_000
    assert new["data"]["panels"][INVERTER]["lifetime"] == 5000.0
    assert new["data"]["rhythm"]["interval"] == 300
    assert "lifetime" not in new["data"]

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(mock_config_entry.entry_id) not in hass_storage


@pytest.mark.parametrize("rhythm", [None])
async def test_removing_an_entry_not_loaded_since_the_upgrade_removes_the_old_store(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """An entry deleted before it ever loaded with this release leaves no store behind."""
    old = store_release_1_3(hass_storage, mock_config_entry.entry_id, simulator)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert old not in hass_storage


async def test_a_guard_state_of_the_wrong_shape_starts_afresh(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A guard state that is not a mapping: the guard starts from the Envoy's reading."""
    hass_storage[store_key(mock_config_entry.entry_id)]["data"]["guard"] = [1, 2]
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    lifetime = simulator.production["wattHoursLifetime"]
    assert float(state(hass, f"sensor.envoy_{simulator.serial}_lifetime_energy")) == lifetime / 1000
    assert [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "energy guard" in record.getMessage()
    ]


@pytest.mark.parametrize("rhythm", [None])
@pytest.mark.parametrize(
    "meters", [None, {"meters": [{"eid": "one"}]}, {"meters": "none"}, {"imeter": True}]
)
async def test_the_previous_releases_store_loads_unchanged(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    meters: dict[str, Any] | None,
) -> None:
    """Version 2.1 (without meters): everything kept; the meters are detected once, then kept.

    A meters part that cannot be read (malformed) is detected again the same way.
    """
    freezer.move_to(NOON)
    report_all(simulator, NOON.replace(minute=59, hour=18))
    key = store_key(mock_config_entry.entry_id)
    data = migrate_version_1(stored_by_release_1_3(simulator))
    if meters is not None:
        data["meters"] = meters
    hass_storage[key] = {"version": 2, "minor_version": 1, "key": key, "data": data}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    serial = simulator.serial
    assert float(state(hass, f"sensor.envoy_{serial}_lifetime_energy")) == 120_000.0
    assert simulator.count(PATH_INFO) == 0
    # The identity was not read, so <imeter> is not known: /ivp/meters is asked once (D5.0.62
    # answers [] behind its Digest challenge).
    assert simulator.count(PATH_METERS) == 2
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    written = hass_storage[key]
    assert (written["version"], written["minor_version"]) == (2, STORE_MINOR_VERSION)
    assert written["data"]["meters"] == {"meters": []}
    assert written["data"]["guard"]["lifetime"] == 120_000_000
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.count(PATH_METERS) == 2  # kept: not asked again


# Stores written by release 0.1.0 (store version 2.2) after twelve minutes of polls.
RELEASE_0_1_STORES = Path(__file__).parent.parent / "fixtures" / "stores"


def release_0_1_store(capture: str) -> dict[str, Any]:
    """Return the store release 0.1.0 wrote for a capture's Envoy."""
    written: dict[str, Any] = json.loads((RELEASE_0_1_STORES / f"{capture}.json").read_text())
    return written["store"]


@pytest.mark.parametrize("capture", ["D5.0.62", "R4.10.35_metered"])
def test_release_0_1_stores_lose_nothing(capture: str) -> None:
    """Every part of a 2.2 store comes back as it was; ``<imeter>`` moves to the identity.

    The guards' states gain what release 0.1.0 did not know: no level left, nothing owed.
    """
    stored = release_0_1_store(capture)
    assert (stored["version"], stored["minor_version"]) == (2, 2)
    data = stored["data"]
    migrated = migrate_minor_2(data)
    site = Site.from_dict(data["info"]["serial"], "entry 123456", migrated, NOON)
    # What 0.1.0 stored, and what this release adds: <imeter> with the identity, whether
    # each guard's next reading is a replaced Envoy's new base (no), and the levels each
    # counter left (none) with what it owes (nothing).
    since = {"new_counter": False, "left": [], "owed": 0}
    expected = {
        **data,
        "info": {**data["info"], "imeter": data["meters"]["imeter"]},
        "meters": {"meters": data["meters"]["meters"]},
        "guard": {**data["guard"], **since},
        "counters": {name: {**state, **since} for name, state in data["counters"].items()},
        "rhythm": {**data["rhythm"], **ADDED_TO_2_3["rhythm"]},
        "panels": {serial: {**panel, **PANEL_ADDED} for serial, panel in data["panels"].items()},
        "output": NO_OUTPUT,
    }
    assert site.as_dict() == expected


# Stores written at d7e38c3 (store version 2.3, before issue #24) after 45 minutes of
# polls at noon, the rhythm learned (metered or not) and every panel counting.
RELEASE_2_3_STORES = RELEASE_0_1_STORES / "2.3"
# What was added to a 2.3 store's parts since (without a minor version of its own: each has
# its default when absent). A panel holds nothing back (no key); the rhythm's slow interval
# is not seen; each guard remembers no level left and owes nothing.
ADDED_TO_2_3: dict[str, dict[str, Any]] = {
    "rhythm": {"slow_since": None, "slow_seen": None},
    "guard": {"left": [], "owed": 0},
}


# Store version 2.4 adds each panel's output against its normal (none judged yet), and to
# each panel its reports of the day and its first day (unknown: counted before 2.4).
NO_OUTPUT: dict[str, Any] = {"panels": {}, "days": {}, "judged": None}
PANEL_ADDED: dict[str, Any] = {"reports": 0, "first_day": None, "since": None}


def release_2_3_store(capture: str) -> dict[str, Any]:
    """Return the store the release before issue #24 wrote for a capture's Envoy."""
    written: dict[str, Any] = json.loads((RELEASE_2_3_STORES / f"{capture}.json").read_text())
    return written["store"]


@pytest.mark.parametrize("capture", ["D5.0.62", "R4.10.35_metered"])
def test_2_3_stores_lose_nothing(capture: str) -> None:
    """Every part of a 2.3 store comes back as it was, with the issue's additions' defaults."""
    stored = release_2_3_store(capture)
    assert (stored["version"], stored["minor_version"]) == (2, 3)
    data = stored["data"]
    assert data["panels"]
    site = Site.from_dict(data["info"]["serial"], "entry 123456", data, NOON)
    expected = {
        part: {**value, **ADDED_TO_2_3.get(part, {})} if isinstance(value, dict) else value
        for part, value in data.items()
    }
    guards = ADDED_TO_2_3["guard"]
    expected["counters"] = {name: {**s, **guards} for name, s in data["counters"].items()}
    expected["panels"] = {serial: {**p, **PANEL_ADDED} for serial, p in data["panels"].items()}
    expected["output"] = NO_OUTPUT
    assert site.as_dict() == expected


@pytest.mark.parametrize("rhythm", [None])
@pytest.mark.parametrize("capture", ["D5.0.62", "R4.10.35_metered"])
async def test_2_3_stores_set_up_and_go_on(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    capture: str,
) -> None:
    """A restart on a 2.3 store: nothing read again, every panel's energy and the rhythm kept."""
    stored = release_2_3_store(capture)
    key = store_key(mock_config_entry.entry_id)
    hass_storage[key] = {**stored, "key": key}
    data = stored["data"]
    freezer.move_to(datetime.fromtimestamp(data["rhythm"]["burst_end"], UTC) + timedelta(minutes=2))
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.count(PATH_INFO) == 0
    assert simulator.count(PATH_METERS) == 0
    site = mock_config_entry.runtime_data.site
    assert site.scheduler.state.interval == data["rhythm"]["interval"]
    assert site.scheduler.state.metered is data["rhythm"]["metered"]
    for serial, panel in data["panels"].items():
        assert site.panels.panels[serial].lifetime >= panel["lifetime"]
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    written = hass_storage[key]
    assert (written["version"], written["minor_version"]) == (2, STORE_MINOR_VERSION)
    assert written["data"]["rhythm"]["slow_since"] is None
    assert written["data"]["panels"].keys() == data["panels"].keys()


@pytest.mark.parametrize("rhythm", [None])
async def test_a_2_3_store_judges_its_day_at_midnight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The previous release's store goes on to 2.4: its day is the first whose output counts.

    Its panels were counted from before the store was written (no first day known): at the
    next midnight their day is over, and remembered as the site's (a day too dull to judge
    on its own, with nothing brighter seen yet, is still the month's best).
    """
    stored = release_2_3_store("D5.0.62")
    key = store_key(mock_config_entry.entry_id)
    hass_storage[key] = {**stored, "key": key}
    data = stored["data"]
    written_at = datetime.fromtimestamp(data["rhythm"]["burst_end"], UTC)
    freezer.move_to(written_at + timedelta(minutes=2))
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    site = mock_config_entry.runtime_data.site
    day = dt_util.as_local(written_at).date()
    assert {panel.day for panel in site.panels.panels.values()} == {day.isoformat()}
    energy = sum(panel.today() for panel in site.panels.panels.values())
    midnight = dt_util.start_of_local_day(day + timedelta(days=1))
    freezer.move_to(midnight + timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    written = hass_storage[key]
    assert (written["version"], written["minor_version"]) == (2, STORE_MINOR_VERSION)
    output = written["data"]["output"]
    assert output["judged"] == day.isoformat()
    assert output["days"] == {day.isoformat(): pytest.approx(energy, abs=0.1)}


@pytest.mark.parametrize("capture", ["D5.0.62", "R4.10.35_metered"])
async def test_release_0_1_stores_set_up_without_asking_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    capture: str,
) -> None:
    """A restart on release 0.1.0's store: no identity read, no meter detection, no loss."""
    stored = release_0_1_store(capture)
    key = store_key(mock_config_entry.entry_id)
    hass_storage[key] = {**stored, "key": key}
    data = stored["data"]
    freezer.move_to(
        datetime.fromtimestamp(data["guard"]["accepted_at"], UTC) + timedelta(minutes=1)
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.count(PATH_INFO) == 0
    assert simulator.count(PATH_METERS) == 0
    lifetime = float(state(hass, f"sensor.envoy_{simulator.serial}_lifetime_energy"))
    assert lifetime >= data["guard"]["lifetime"] / 1000
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    written = hass_storage[key]
    assert (written["version"], written["minor_version"]) == (2, STORE_MINOR_VERSION)
    assert written["data"]["info"]["imeter"] is data["meters"]["imeter"]
    assert written["data"]["meters"] == {"meters": data["meters"]["meters"]}
    for name, counter in data["counters"].items():
        assert written["data"]["counters"][name]["lifetime"] >= counter["lifetime"]


@pytest.mark.parametrize(
    ("stored", "migrated"),
    [
        # <imeter> moves to the identity...
        (
            {"meters": {"imeter": True, "meters": []}, "info": {"serial": "1"}},
            {"meters": {"meters": []}, "info": {"serial": "1", "imeter": True}},
        ),
        # ...unless the identity says it already, or there is none to move it to...
        (
            {"meters": {"imeter": True, "meters": []}, "info": {"imeter": False}},
            {"meters": {"meters": []}, "info": {"imeter": False}},
        ),
        ({"meters": {"imeter": True, "meters": []}}, {"meters": {"meters": []}}),
        # ...and a malformed meters part is left for the site to refuse.
        ({"meters": {"imeter": True}, "info": {}}, {"meters": {"imeter": True}, "info": {}}),
        ({"meters": None}, {"meters": None}),
    ],
)
def test_the_minor_2_migration(stored: dict[str, Any], migrated: dict[str, Any]) -> None:
    """Version 2.2's ``<imeter>`` moves from the meters to the identity, nothing else changes."""
    assert migrate_minor_2(stored) == migrated
