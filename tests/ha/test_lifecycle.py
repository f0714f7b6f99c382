"""Inverters that come and go, firmware that changes, and the repair issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.census import UNLISTED_FOR_GOOD
from tests.helpers import NOON, SCAN_INTERVAL, device, poll, report_all, state, store_key
from tests.simulator import PATH_INFO, EnvoySimulator

SERIAL = "121621012167"
FIRST_INVERTER = "121547059079"
# Summer midnight and first light in the test instance's time zone (US/Pacific).
MIDNIGHT = datetime(2026, 6, 21, 7, 0, tzinfo=UTC)
EARLY_MORNING = datetime(2026, 6, 21, 13, 30, tzinfo=UTC)  # 06:30, sun up for ~45 minutes


async def test_new_inverter_added_without_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """An inverter listed after setup gets its device and entities at the next poll."""
    simulator.inverters.append({**simulator.inverters[0], "serialNumber": "121547000001"})
    assert hass.states.get("sensor.inverter_121547000001_current_power") is None
    await poll(hass, freezer)
    assert state(hass, "sensor.inverter_121547000001_current_power") == "202"
    new = device(device_registry, init_integration, "121547000001")
    assert new is not None
    assert new.via_device_id == init_integration.runtime_data.device_id
    assert init_integration.state is ConfigEntryState.LOADED


async def test_stale_inverter_can_be_removed_once_unlisted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Deleting a device is refused while the Envoy lists it, allowed once it does not."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)

    async def remove(serial: str) -> bool:
        entry = device(device_registry, init_integration, serial)
        assert entry is not None
        await client.send_json_auto_id(
            {"type": "config/device_registry/remove", "device_id": entry.id}
        )
        response = await client.receive_json()
        return bool(response["success"])

    assert not await remove(FIRST_INVERTER)
    assert not await remove(SERIAL)

    simulator.inverters.pop(0)
    await poll(hass, freezer)
    # It keeps its history: the device stays, its entities unavailable, until deleted.
    assert state(hass, f"sensor.inverter_{FIRST_INVERTER}_current_power") == STATE_UNAVAILABLE
    assert await remove(FIRST_INVERTER)
    assert device(device_registry, init_integration, FIRST_INVERTER) is None
    assert not await remove(SERIAL)


async def test_firmware_change_followed_after_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """An upgrade reboots the Envoy: after the outage its identity is read again."""
    simulator.info.body = simulator.info.body.replace(b"D5.0.62", b"D5.0.63")
    await poll(hass, freezer)
    assert simulator.count(PATH_INFO) == 1  # no outage: not read again yet

    simulator.fail("*", drop=True)
    await poll(hass, freezer)
    simulator.heal()
    await poll(hass, freezer)
    # Read at setup, tried (in vain) to diagnose the outage, read again once it was over.
    assert [request.status for request in simulator.requests if request.path == PATH_INFO][
        -1
    ] == 200
    assert sum(r.status == 200 for r in simulator.requests if r.path == PATH_INFO) == 2
    envoy = device(device_registry, init_integration, SERIAL)
    assert envoy is not None
    assert envoy.sw_version == "D5.0.63"


async def test_identity_reread_daily(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Without an outage, /info.xml is read again once a day, not at every poll."""
    for _ in range(5):
        await poll(hass, freezer)
    assert simulator.count(PATH_INFO) == 1
    freezer.tick(timedelta(hours=24))
    await poll(hass, freezer)
    assert simulator.count(PATH_INFO) == 2


async def test_token_firmware_repair_at_runtime(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An Envoy upgraded to token firmware raises a repair issue, cleared if it goes away."""
    issue_id = f"{SERIAL}_token_firmware"
    simulator.fail("*", drop=True)
    await poll(hass, freezer)
    simulator.heal()
    simulator.identify_as(firmware="D7.6.175")
    await poll(hass, freezer)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert "D7.6.175" in issue.translation_placeholders["error"]
    assert state(hass, "sensor.envoy_121621012167_lifetime_energy") == STATE_UNAVAILABLE

    simulator.heal()
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert state(hass, "sensor.envoy_121621012167_lifetime_energy") != STATE_UNAVAILABLE


async def test_token_firmware_repair_at_setup(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """At startup too, and removing the entry removes its issues, not another Envoy's."""
    other = "121699999999_token_firmware"
    ir.async_create_issue(
        hass,
        DOMAIN,
        other,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="token_firmware",
    )
    simulator.identify_as(firmware="D7.6.175")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert issue_registry.async_get_issue(DOMAIN, f"{SERIAL}_token_firmware") is not None

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"{SERIAL}_token_firmware") is None
    assert issue_registry.async_get_issue(DOMAIN, other) is not None


@pytest.fixture
def daylight_site(simulator: EnvoySimulator, freezer: FrozenDateTimeFactory) -> EnvoySimulator:
    """At noon, every inverter reported a minute ago but the first, silent for three hours."""
    freezer.move_to(NOON)
    report_all(simulator, NOON - timedelta(minutes=1))
    simulator.inverters[0]["lastReportDate"] = int((NOON - timedelta(hours=3)).timestamp())
    return simulator


def silent_issue(issue_registry: ir.IssueRegistry) -> ir.IssueEntry | None:
    """Return the repair issue of the first inverter, if raised."""
    return issue_registry.async_get_issue(DOMAIN, f"{SERIAL}_inverter_silent_{FIRST_INVERTER}")


async def test_silent_inverter_in_daylight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    daylight_site: EnvoySimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """One inverter silent while the others report in daylight: a warning, gone when it reports."""
    issue = silent_issue(issue_registry)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "inverter": FIRST_INVERTER,
        "envoy": SERIAL,
        "last_report": "2026-06-21T16:00:00+00:00",
    }
    assert len(issue_registry.issues) == 1

    await poll(hass, freezer)  # still silent: still one issue
    assert silent_issue(issue_registry) is not None

    daylight_site.inverters[0]["lastReportDate"] = int(NOON.timestamp())
    await poll(hass, freezer)
    assert silent_issue(issue_registry) is None


async def test_silent_issue_survives_reload_then_clears(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    daylight_site: EnvoySimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """After a reload the issue is still known, and clears when the inverter is unlisted."""
    assert silent_issue(issue_registry) is not None
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert silent_issue(issue_registry) is not None

    daylight_site.inverters.pop(0)
    await poll(hass, freezer)
    assert silent_issue(issue_registry) is None


@pytest.mark.parametrize("moment", [MIDNIGHT, EARLY_MORNING])
async def test_no_silent_inverter_at_night_or_first_light(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    moment: datetime,
) -> None:
    """At night, or before the sun has been up long enough, nothing is flagged."""
    freezer.move_to(moment)
    report_all(simulator, moment - timedelta(minutes=1))
    simulator.inverters[0]["lastReportDate"] = int((moment - timedelta(hours=10)).timestamp())
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not issue_registry.issues


async def test_no_silent_inverter_when_whole_site_is_silent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A whole-site shutdown (no inverter reporting, even at noon) flags no single panel."""
    freezer.move_to(NOON)
    report_all(simulator, NOON - timedelta(hours=5))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not issue_registry.issues

    # The Envoy unreachable at noon does not flag anything either.
    simulator.fail("*", status=503, body=b"")
    await poll(hass, freezer)
    assert not issue_registry.issues


async def test_inverter_unlisted_for_months_is_forgotten(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_storage: dict[str, Any],
) -> None:
    """Unlisted for three months: its device, entities and panel energy go; not a day before.

    One that comes back within that time keeps everything and starts counting afresh.
    """
    coordinator = init_integration.runtime_data
    gone, back, deleted = simulator.inverters[0], simulator.inverters[1], simulator.inverters[2]
    for inverter in (gone, back, deleted):
        simulator.inverters.remove(inverter)
    await poll(hass, freezer)
    serials = {inverter["serialNumber"] for inverter in (gone, back, deleted)}
    assert coordinator.site.panels.panels.keys() >= serials
    # The user deletes one device by hand, as soon as the Envoy no longer lists it.
    by_hand = device(device_registry, init_integration, deleted["serialNumber"])
    assert by_hand is not None
    device_registry.async_remove_device(by_hand.id)

    freezer.tick(timedelta(seconds=UNLISTED_FOR_GOOD) - 3 * SCAN_INTERVAL)
    await poll(hass, freezer)
    simulator.inverters.append(back)  # listed again, a minute short of three months
    await poll(hass, freezer)
    assert device(device_registry, init_integration, gone["serialNumber"]) is not None
    simulator.inverters.remove(back)

    await poll(hass, freezer)  # three months since it was first missed
    assert device(device_registry, init_integration, gone["serialNumber"]) is None
    assert hass.states.get(f"sensor.inverter_{gone['serialNumber']}_current_power") is None
    assert gone["serialNumber"] not in coordinator.site.panels.panels
    assert deleted["serialNumber"] not in coordinator.site.panels.panels
    assert device(device_registry, init_integration, back["serialNumber"]) is not None
    assert back["serialNumber"] in coordinator.site.panels.panels
    assert init_integration.state is ConfigEntryState.LOADED

    # What is stored forgets it too, and remembers since when the other is missing.
    await coordinator.async_save()
    stored = hass_storage[store_key(init_integration.entry_id)]["data"]
    assert gone["serialNumber"] not in stored["panels"]
    assert set(stored["unlisted"]) == {back["serialNumber"]}
