"""Polling: failures, unavailability and recovery, with a frozen clock."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.outage import HOLD_MARGIN
from tests.helpers import SCAN_INTERVAL, exception_message, poll, record_writes, state
from tests.simulator import PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator

LIFETIME = "sensor.envoy_121621012167_lifetime_energy"
POWER = "sensor.envoy_121621012167_current_power"
INVERTER_POWER = "sensor.inverter_121547059079_current_power"
OTHER_INVERTER_POWER = "sensor.inverter_121547059193_current_power"


async def test_new_values_show_at_the_next_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """New values show at the poll the schedule set, and not before; no poll reads twice.

    This Envoy's inverters report every minute and its production is read every minute
    and with each inverter read, so the next poll (the next burst) reads both.
    """
    coordinator = init_integration.runtime_data
    assert state(hass, POWER) == "7907"
    simulator.production["wattsNow"] = 5000
    simulator.inverters[0]["lastReportWatts"] = 150
    due = coordinator.next_poll
    assert due is not None
    assert due - dt_util.utcnow() <= SCAN_INTERVAL
    requests = len(simulator.requests)

    freezer.move_to(due - timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, POWER) == "7907"
    assert len(simulator.requests) == requests

    freezer.move_to(due + timedelta(seconds=0.6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, POWER) == "5000"
    assert state(hass, INVERTER_POWER) == "150"
    assert [r.path for r in simulator.requests[requests:]] == [PATH_INVERTERS, PATH_PRODUCTION]
    assert simulator.count(PATH_INFO) == 1  # the identity is read once, at setup


SITE = (POWER, LIFETIME)


def ours(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """Return the integration's log records at ``level`` or above."""
    return [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.enphase_envoy_legacy")
        and record.levelno >= level
    ]


INVERTERS = (INVERTER_POWER, OTHER_INVERTER_POWER)
# This Envoy's values are at most a minute old when it answers: held five minutes more.
HELD_POLLS = 1 + round(HOLD_MARGIN.total_seconds() / 60)


@pytest.mark.parametrize(
    ("path", "fault", "lost"),
    [
        ("*", {"status": 503, "body": b""}, SITE + INVERTERS),
        (PATH_PRODUCTION, {"drop": True}, SITE),
        (PATH_INVERTERS, {"body": b"<html>Page Not Found</html>"}, INVERTERS),
        (PATH_PRODUCTION, {"body": b'{"wattsNow": '}, SITE),
    ],
    ids=["everything", "production dropped", "inverters as HTML", "production truncated"],
)
async def test_brief_trouble_is_held_then_shown_then_recovers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    path: str,
    fault: dict[str, object],
    lost: tuple[str, ...],
) -> None:
    """What fails keeps its last values a few minutes, then is unavailable, then returns.

    What did not fail stays as it is; the start and the end are each said once.
    """
    before = {entity_id: state(hass, entity_id) for entity_id in SITE + INVERTERS}
    caplog.clear()
    simulator.fail(path, **fault)  # type: ignore[arg-type]
    for _ in range(HELD_POLLS):
        await poll(hass, freezer)
        assert {entity_id: state(hass, entity_id) for entity_id in before} == before
    assert not ours(caplog, logging.INFO)
    await poll(hass, freezer)
    for entity_id, shown in before.items():
        assert state(hass, entity_id) == (STATE_UNAVAILABLE if entity_id in lost else shown)
    coordinator = init_integration.runtime_data
    said = [r.getMessage() for r in ours(caplog, logging.WARNING)]
    if lost == SITE + INVERTERS:
        assert said == [
            f"Error fetching {coordinator.name} data: {exception_message('http_error')}"
        ]
    else:
        assert len(said) == 1
        assert "values for over 5 minutes" in said[0]
    assert simulator.serial not in " ".join(said)

    simulator.heal()
    simulator.production["wattHoursLifetime"] += 100
    await poll(hass, freezer)
    assert state(hass, LIFETIME) == "133798.653"
    assert state(hass, INVERTER_POWER) == "202"
    assert init_integration.state is ConfigEntryState.LOADED
    assert len(ours(caplog, logging.INFO)) == 2  # the start, and the end


async def test_inverter_no_longer_listed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """An inverter missing from the list goes unavailable alone, and returns when listed."""
    removed = simulator.inverters.pop(0)
    await poll(hass, freezer)
    assert state(hass, INVERTER_POWER) == STATE_UNAVAILABLE
    assert state(hass, OTHER_INVERTER_POWER) == "201"
    assert state(hass, POWER) == "7907"

    simulator.inverters.append(removed)
    await poll(hass, freezer)
    assert state(hass, INVERTER_POWER) == "202"


async def test_auth_lost_starts_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """When the Envoy refuses the password three polls in a row, a reauth flow starts.

    One refused poll is a hiccup: nobody is asked anything, the last values stay.
    """
    simulator.users = {}
    simulator.new_nonce()
    shown = state(hass, INVERTER_POWER)
    for _ in range(2):
        await poll(hass, freezer)
        assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert state(hass, INVERTER_POWER) == shown
    await poll(hass, freezer)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert state(hass, INVERTER_POWER) == STATE_UNAVAILABLE


async def test_not_ready_when_envoy_away(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """An Envoy that does not answer at startup: retry later."""
    simulator.fail(PATH_INFO, drop=True)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == exception_message("connection_lost")


async def test_not_ready_when_first_poll_fails(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """Identity read, but production fails: retry later."""
    simulator.fail(PATH_PRODUCTION, status=500, body=b"")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_not_ready_when_another_envoy_answers(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """The address now belongs to another Envoy: retry later, saying so."""
    simulator.identify_as(serial="999")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == exception_message("serial_mismatch")
    assert simulator.count(PATH_PRODUCTION) == 0


async def test_token_firmware_is_a_setup_error(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """After an upgrade to firmware 7 the entry fails with the way forward, without retrying."""
    simulator.identify_as(firmware="D7.6.175")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason == exception_message("unsupported_firmware")


async def test_single_refusal_recovers_without_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A refused poll followed by a good one asks nothing and counts from zero again."""
    users = dict(simulator.users)
    for _ in range(2):
        simulator.users = {}
        simulator.new_nonce()
        await poll(hass, freezer)
        simulator.users = users
        await poll(hass, freezer)
        assert state(hass, INVERTER_POWER) == "202"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_report_with_the_same_power_writes_only_what_changed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A new report with the same power: its time is written, the unchanged power is not."""
    written = record_writes(hass)
    inverter = next(i for i in simulator.inverters if i["serialNumber"] == "121547059079")
    inverter["lastReportDate"] += 300
    await poll(hass, freezer)
    assert [entity_id for entity_id in written if entity_id.startswith("sensor.inverter_")] == [
        "sensor.inverter_121547059079_last_report"
    ]
    assert state(hass, INVERTER_POWER) == "202"


async def test_a_failing_listener_does_not_stop_the_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listener that raises is logged; the entities after it still get the news."""

    @callback
    def broken() -> None:
        raise RuntimeError("boom")

    init_integration.runtime_data.async_add_listener(broken)
    simulator.production["wattsNow"] = 5000
    await poll(hass, freezer)
    assert "Unexpected error updating listener" in caplog.text
    assert state(hass, POWER) == "5000"


async def test_own_credentials_are_used(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An entry with the user's own username and password signs in with them, not derived."""
    simulator.users = {"owner": "sunny-roof-42"}
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_USERNAME: "owner", CONF_PASSWORD: "sunny-roof-42"},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await poll(hass, freezer)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.client.user == "owner"
    assert state(hass, POWER) != STATE_UNAVAILABLE
