"""Panels judged against their own normal, in Home Assistant: the repair, the relative output.

Each test starts from the store the previous release wrote (D5.0.62, 40 panels at noon,
tests/fixtures/stores/2.3) with a day's energy and a normal given to each panel, and lets
the Envoy's next midnight judge the day.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.devices import inverter_devices
from custom_components.enphase_envoy_legacy.model import Underperformance
from custom_components.enphase_envoy_legacy.model.output import BASELINE_DAYS, LOW_DAYS
from custom_components.enphase_envoy_legacy.repairs import (
    UnderperformingPanels,
    underperforming_issue_id,
)
from custom_components.enphase_envoy_legacy.store import STORE_MINOR_VERSION
from tests.helpers import ENGLISH, state, store_key
from tests.simulator import EnvoySimulator

STORES = Path(__file__).parent.parent / "fixtures" / "stores" / "2.3"
# A bright day's energy of a typical panel (Wh) and its reports, and the low panel's factor.
TYPICAL_WH = 1500.0
REPORTS = 120
LOW = 0.5


def judged_store(
    entry_id: str, *, low: float, output: dict[str, Any]
) -> tuple[dict[str, Any], str, datetime]:
    """Return the 2.3 store brought to 2.4, its low panel and when it was written.

    Every panel made TYPICAL_WH today, the low one ``low`` times that; ``output`` is the
    stored state of the low panel's output (the others have a normal of 1).
    """
    written: dict[str, Any] = json.loads((STORES / "D5.0.62.json").read_text())["store"]
    data = written["data"]
    serials = sorted(data["panels"])
    weak = serials[0]
    for serial, panel in data["panels"].items():
        energy = TYPICAL_WH * (low if serial == weak else 1.0)
        panel.update(day_start=10_000.0, lifetime=10_000.0 + energy, reports=REPORTS)
    normal = {"shares": [1.0] * BASELINE_DAYS, "latest": 1.0}
    data["output"] = {
        "panels": dict.fromkeys(serials, normal) | {weak: {**normal, **output}},
        "days": {},
        "judged": None,
    }
    key = store_key(entry_id)
    store = {"version": 2, "minor_version": STORE_MINOR_VERSION, "key": key, "data": data}
    return store, weak, datetime.fromtimestamp(data["rhythm"]["burst_end"], UTC)


async def set_up_until_midnight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    store: dict[str, Any],
    written_at: datetime,
) -> datetime:
    """Set the entry up on ``store`` just after it was written; return the next midnight."""
    hass_storage[store["key"]] = store
    freezer.move_to(written_at + timedelta(minutes=2))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return dt_util.start_of_local_day(dt_util.as_local(written_at).date() + timedelta(days=1))


async def pass_midnight(hass: HomeAssistant, freezer: FrozenDateTimeFactory, at: datetime) -> None:
    """Let the first poll of the new day happen."""
    freezer.move_to(at + timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def text(key: str, placeholders: dict[str, str]) -> str:
    """Return an issue's English description with its placeholders filled in."""
    return str(ENGLISH["issues"][key]["description"]).format(**placeholders)


@pytest.mark.parametrize("rhythm", [None])
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_low_panel_is_named_in_a_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Its third low day raises the repair: the panel's name and area, normal, recent, since.

    It stays through a restart, and its relative output shows the day's share.
    """
    since = "2026-06-19"
    store, weak, written_at = judged_store(
        mock_config_entry.entry_id, low=LOW, output={"low": [LOW, LOW], "since": since}
    )
    midnight = await set_up_until_midnight(
        hass, freezer, mock_config_entry, hass_storage, store, written_at
    )
    issues = ir.async_get(hass)
    issue_id = underperforming_issue_id(simulator.serial, weak)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    device_id = inverter_devices(hass, mock_config_entry.entry_id, simulator.serial)[weak]
    area = ar.async_get(hass).async_create("Garage roof")
    dr.async_get(hass).async_update_device(device_id, name_by_user="East row 1", area_id=area.id)
    await pass_midnight(hass, freezer, midnight)

    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "panel_underperforming"
    # The day's median panel made TYPICAL_WH: the low panel's share is LOW, its normal 1.
    recent = statistics.fmean([LOW] * LOW_DAYS)
    placeholders = {
        "inverter": weak,
        "envoy": simulator.serial,
        "name": "East row 1",
        "area": "Garage roof",
        "normal": "100",
        "recent": f"{100 * recent:.0f}",
        "since": since,
    }
    assert issue.translation_placeholders == placeholders
    assert "East row 1, in Garage roof" in text("panel_underperforming", placeholders)
    # Written with the panel's energy, at the pace of model/pacing.py (two inverter reads).
    relative = f"sensor.inverter_{weak}_relative_output"
    for _ in range(12):
        if float(state(hass, relative)) != 100.0:
            break
        freezer.tick(timedelta(minutes=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert float(state(hass, relative)) == 100 * LOW
    other = next(serial for serial in store["data"]["panels"] if serial != weak)
    assert float(state(hass, f"sensor.inverter_{other}_relative_output")) == 100.0

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert hass_storage[store["key"]]["data"]["output"]["panels"][weak]["raised"] is True


@pytest.mark.parametrize("rhythm", [None])
async def test_a_panel_back_at_normal_clears_its_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A raised panel's second day back at normal clears the repair (no area: none named)."""
    store, weak, written_at = judged_store(
        mock_config_entry.entry_id,
        low=1.0,
        output={"low": [LOW] * LOW_DAYS, "since": "2026-06-10", "raised": True, "back": 1},
    )
    midnight = await set_up_until_midnight(
        hass, freezer, mock_config_entry, hass_storage, store, written_at
    )
    issues = ir.async_get(hass)
    issue_id = underperforming_issue_id(simulator.serial, weak)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "panel_underperforming_no_area"
    assert issue.translation_placeholders["name"] == f"Inverter {weak}"
    await pass_midnight(hass, freezer, midnight)
    assert issues.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("rhythm", [None])
async def test_a_repair_of_a_panel_no_longer_low_goes_at_setup(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """An issue left from before a restart goes when the stored state says it is over."""
    store, weak, written_at = judged_store(mock_config_entry.entry_id, low=1.0, output={})
    ir.async_create_issue(
        hass,
        DOMAIN,
        underperforming_issue_id(simulator.serial, weak),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="panel_underperforming_no_area",
    )
    await set_up_until_midnight(hass, freezer, mock_config_entry, hass_storage, store, written_at)
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, underperforming_issue_id(simulator.serial, weak))
        is None
    )


async def test_a_panels_first_day_says_since_when_it_counts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    simulator: EnvoySimulator,
) -> None:
    """On its first day a panel's energy today tells since when it counts; not after."""
    site = init_integration.runtime_data.site
    serial, panel = next(iter(site.panels.panels.items()))
    assert panel.since is not None
    entity_id = f"sensor.inverter_{serial}_energy_today"
    shown = hass.states.get(entity_id)
    assert shown is not None
    assert shown.attributes["counted_since"] == dt_util.utc_from_timestamp(panel.since)
    midnight = dt_util.start_of_local_day(dt_util.now().date() + timedelta(days=1))
    await pass_midnight(hass, freezer, midnight)
    # The next report moves today's energy, and its state is written without the attribute.
    for _ in range(3):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    shown = hass.states.get(entity_id)
    assert shown is not None
    assert "counted_since" not in shown.attributes


async def test_only_a_panel_whose_judgement_changed_is_raised_again(hass: HomeAssistant) -> None:
    """Each judgement raises the new panels, updates those whose figures moved, and no other."""
    panels = UnderperformingPanels(hass, "121621012167", "entry")
    events = async_capture_events(hass, ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED)
    first = Underperformance(normal=1.0, recent=LOW, since="2026-06-10")
    panels.update({"A": first})
    panels.update({"A": first, "B": first})
    panels.update(
        {"A": first, "B": Underperformance(normal=1.0, recent=LOW / 2, since="2026-06-10")}
    )
    await hass.async_block_till_done()
    issue_ids = [underperforming_issue_id("121621012167", serial) for serial in "ABB"]
    assert [event.data["issue_id"] for event in events] == issue_ids
    assert [event.data["action"] for event in events] == ["create", "create", "update"]
