"""Helpers shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DEFAULT_SCAN_INTERVAL, DOMAIN
from tests.simulator import EnvoySimulator

# The polling interval of a new entry.
SCAN_INTERVAL = timedelta(seconds=DEFAULT_SCAN_INTERVAL)
# Summer noon in the test instance's time zone (US/Pacific, near San Diego).
NOON = datetime(2026, 6, 21, 19, 0, tzinfo=UTC)


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let one scan interval pass and wait for the poll to land."""
    freezer.tick(SCAN_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, serial: str
) -> dr.DeviceEntry | None:
    """Return the entry's device for an Envoy or inverter serial."""
    return device_registry.async_get_device_by_identifier((DOMAIN, serial), entry.entry_id)


def report_all(simulator: EnvoySimulator, when: datetime) -> None:
    """Let every inverter report at a time."""
    for inverter in simulator.inverters:
        inverter["lastReportDate"] = int(when.timestamp())


def record_writes(hass: HomeAssistant) -> list[str]:
    """Return a list that collects the entity id of every state written from now on.

    A write counts whether it changed the state or not (Home Assistant reports the latter
    as state_reported).
    """
    written: list[str] = []

    @callback
    def record(event: Event[Any]) -> None:
        written.append(event.data["entity_id"])

    @callback
    def everything(_: Any) -> bool:
        return True

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    hass.bus.async_listen(EVENT_STATE_REPORTED, record, event_filter=everything)
    return written
