"""A replaced Envoy continues the old one's history (issue #23).

An Envoy dies; the installer fits a new one (a new serial, a new lifetime counter starting
low) in front of the same microinverters. Reconfigure, or the repair raised when the new
one answers at the entry's address, makes the entry follow it: the Envoy's entities keep
their ids (so their statistics continue), its lifetime energy goes on from the old value
(never down, never a jump), and the microinverters keep their devices and panel energy.
Set up from a store written by release 0.1.0, its registry made as that release makes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from custom_components.enphase_envoy_legacy.naming import entry_title
from custom_components.enphase_envoy_legacy.repairs import replaced_issue_id
from tests.helpers import NOON, device, poll, report_all, state, store_key
from tests.simulator import EnvoySimulator

STORES = Path(__file__).parent.parent / "fixtures" / "stores"
NEW = "122101234567"
NEW_LIFETIME = 1_000  # the new Envoy's counter starts low


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Learn nothing before: the store of release 0.1.0 holds the rhythm."""
    return None


async def set_up_from_release_0_1(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    data: dict[str, str] | None = None,
) -> dict[str, str]:
    """Set the entry up on release 0.1.0's store; return the Envoy's entity ids by unique id."""
    freezer.move_to(NOON)
    report_all(simulator, NOON)
    written = json.loads((STORES / "D5.0.62.json").read_text())["store"]
    key = store_key(entry.entry_id)
    hass_storage[key] = {**written, "key": key}
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, **(data or {})})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await poll(hass, freezer)
    registry = er.async_get(hass)
    return {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.startswith(f"{simulator.serial}_")
    }


def the_new_envoy(simulator: EnvoySimulator) -> None:
    """Make the simulated Envoy the new one: its serial, its passwords, a counter from low."""
    simulator.become(NEW)
    simulator.production["wattHoursLifetime"] = NEW_LIFETIME


def lifetime(hass: HomeAssistant, entity_ids: dict[str, str], serial: str) -> str:
    """Return the site's lifetime energy shown (kWh)."""
    return state(hass, entity_ids[f"{serial}_lifetime_energy"])


async def check_continued(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    entry: MockConfigEntry,
    before: dict[str, str],
    old: str,
    shown: str,
    panels: dict[str, float],
) -> None:
    """Check that the entry follows the new Envoy, everything going on from where it was."""
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.unique_id, entry.data[CONF_SERIAL], entry.title) == (NEW, NEW, entry_title(NEW))
    registry = er.async_get(hass)
    after = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.startswith(f"{NEW}_")
    }
    # Every one of the Envoy's entities: the same entity id, under the new serial.
    assert after == {f"{NEW}_{key.removeprefix(f'{old}_')}": id_ for key, id_ in before.items()}
    devices = dr.async_get(hass)
    envoy = device(devices, entry, NEW)
    assert envoy is not None
    assert (envoy.serial_number, envoy.name) == (NEW, f"Envoy {NEW}")
    assert device(devices, entry, old) is None
    # The lifetime goes on from the old value: never down, never a jump.
    assert lifetime(hass, after, NEW) == shown
    simulator.production["wattHoursLifetime"] = NEW_LIFETIME + 100
    await poll(hass, freezer)
    assert float(lifetime(hass, after, NEW)) == pytest.approx(float(shown) + 0.1)
    # The microinverters keep their devices and their panel energy.
    coordinator = entry.runtime_data
    for inverter in simulator.inverters:
        assert device(devices, entry, inverter["serialNumber"]) is not None
    for serial, energy in panels.items():
        assert coordinator.data.panels[serial].lifetime >= energy


async def test_reconfigure_to_a_new_envoy_replaces_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Reconfigure finds another Envoy: a confirmation naming both, then the history goes on.

    A username and password the user gave were the old Envoy's: they go.
    """
    old = simulator.serial
    before = await set_up_from_release_0_1(
        hass,
        freezer,
        simulator,
        mock_config_entry,
        hass_storage,
        {CONF_USERNAME: "envoy", CONF_PASSWORD: old[-6:]},
    )
    shown = lifetime(hass, before, old)
    panels = {s: p.lifetime for s, p in mock_config_entry.runtime_data.data.panels.items()}
    the_new_envoy(simulator)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "replace"
    assert result["description_placeholders"] == {"old": old, "new": NEW}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "replaced"
    await hass.async_block_till_done()
    assert CONF_USERNAME not in mock_config_entry.data
    await check_continued(hass, freezer, simulator, mock_config_entry, before, old, shown, panels)


async def test_a_new_envoy_at_the_address_raises_a_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The new Envoy answers at the entry's address: a repair offers the same replacement."""
    assert await async_setup_component(hass, "repairs", {})
    old = simulator.serial
    before = await set_up_from_release_0_1(
        hass, freezer, simulator, mock_config_entry, hass_storage
    )
    shown = lifetime(hass, before, old)
    panels = {s: p.lifetime for s, p in mock_config_entry.runtime_data.data.panels.items()}
    the_new_envoy(simulator)
    await poll(hass, freezer)
    assert lifetime(hass, before, old) == STATE_UNAVAILABLE  # definite: another Envoy
    issue = ir.async_get(hass).async_get_issue(DOMAIN, replaced_issue_id(old))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"old": old, "new": NEW}
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    assert (flow.get("step_id"), flow.get("description_placeholders")) == (
        "confirm",
        {"old": old, "new": NEW},
    )
    done = await manager.async_configure(flow["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, replaced_issue_id(old)) is None
    await check_continued(hass, freezer, simulator, mock_config_entry, before, old, shown, panels)


async def test_a_replacement_that_has_its_own_entry_is_refused(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The new Envoy was already added as an entry of its own: delete that one first."""
    await set_up_from_release_0_1(hass, freezer, simulator, mock_config_entry, hass_storage)
    the_new_envoy(simulator)
    MockConfigEntry(domain=DOMAIN, unique_id=NEW, data={CONF_SERIAL: NEW}).add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == SOURCE_RECONFIGURE
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "replacement_configured"
    assert result["description_placeholders"] == {"found": NEW}


@pytest.mark.parametrize("case", ["entry removed", "replacement configured"])
async def test_a_repair_that_cannot_be_done_says_why(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    case: str,
) -> None:
    """The entry was deleted meanwhile, or the new Envoy got an entry of its own."""
    assert await async_setup_component(hass, "repairs", {})
    old = simulator.serial
    await set_up_from_release_0_1(hass, freezer, simulator, mock_config_entry, hass_storage)
    the_new_envoy(simulator)
    await poll(hass, freezer)
    if case == "entry removed":
        await hass.config_entries.async_remove(mock_config_entry.entry_id)
        # The issue went with the entry; one left behind (raised by an older release, say)
        # can still be opened.
        ir.async_create_issue(
            hass,
            DOMAIN,
            replaced_issue_id(old),
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="envoy_replaced",
            data={"entry_id": mock_config_entry.entry_id, "serial": NEW},
        )
    else:
        MockConfigEntry(domain=DOMAIN, unique_id=NEW, data={CONF_SERIAL: NEW}).add_to_hass(hass)
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, context={"issue_id": replaced_issue_id(old)})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == case.replace(" ", "_")
