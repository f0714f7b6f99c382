"""Helpers shared by the tests."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.model.outage import HOLD_MARGIN
from custom_components.enphase_envoy_legacy.model.schedule import PRODUCTION_INTERVAL
from tests.simulator import EnvoySimulator

TRANSLATIONS = Path(__file__).parent.parent / "custom_components" / DOMAIN / "translations"
ENGLISH: dict[str, Any] = json.loads((TRANSLATIONS / "en.json").read_text())

# How often a metered Envoy's production is read.
SCAN_INTERVAL = timedelta(seconds=PRODUCTION_INTERVAL)
# Summer noon in the test instance's time zone (US/Pacific, near San Diego).
NOON = datetime(2026, 6, 21, 19, 0, tzinfo=UTC)


def store_key(entry_id: str) -> str:
    """Return the key of what an entry keeps across restarts (version 2 of the store)."""
    return f"{DOMAIN}.{entry_id}.state"


def exception_message(key: str) -> str:
    """Return the English message of one of the integration's translated exceptions."""
    return str(ENGLISH["exceptions"][key]["message"])


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


# Where what a user pastes from Home Assistant's log comes from: the integration's own lines
# (debug included, when the user turned it on; its coordinator's lines are among them), Home
# Assistant's lines about its config entries, and every warning or error. (The entity
# registry's info lines name entity ids, which hold the serial: they stay as they are, since
# changing them would break users' automations.) The simulator's server side (aiohttp.server,
# aiohttp.access, the simulator) is the Envoy, not Home Assistant; the test harness's own
# storage dumps are not in a real log.
OUR_LOGGERS = ("custom_components.enphase_envoy_legacy", "homeassistant.config_entries")
ENVOY_SIDE = ("aiohttp.server", "aiohttp.access", "tests.simulator")


def secrets_of(simulator: EnvoySimulator) -> dict[str, str]:
    """Return what must never show in a log or an error: the serial and its passwords."""
    return {
        "serial": simulator.serial,
        "password of the user envoy": simulator.password_for("envoy"),
        "password of the user installer": simulator.password_for("installer"),
    }


def secrets_said(
    records: list[logging.LogRecord], simulator: EnvoySimulator, shown: list[str]
) -> list[str]:
    """Return each log record or error shown that holds a secret, or the host where it must not.

    The serial, its last six characters (the envoy user's password) and the installer's
    password may show nowhere; the Envoy's host not in warnings, errors and UI messages.
    """
    secrets = secrets_of(simulator)
    found = []
    for record in records:
        if record.name.startswith(ENVOY_SIDE):
            continue
        if not record.name.startswith(OUR_LOGGERS) and record.levelno < logging.WARNING:
            continue
        text = record.getMessage()
        if record.exc_info is not None and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        found += [
            f"{name} in {record.name}: {text}" for name, value in secrets.items() if value in text
        ]
        if record.levelno >= logging.WARNING and simulator.host in text:
            found.append(f"host in {record.name}: {text}")
    for text in shown:
        found += [f"{name} shown: {text}" for name, value in secrets.items() if value in text]
        if simulator.host in text:
            found.append(f"host shown: {text}")
    return found


def numbers(value: object) -> list[int | float]:
    """Return every number in a JSON value."""
    if isinstance(value, dict):
        return [number for item in value.values() for number in numbers(item)]
    if isinstance(value, list):
        return [number for item in value for number in numbers(item)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


# Polls a failing Envoy's last values stay shown when they are a minute old (a metered
# Envoy's production, or inverters reporting every minute: the tests' usual Envoy).
HELD_POLLS = 1 + round(HOLD_MARGIN.total_seconds() / 60)


async def poll_past_the_hold(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Poll until a failing Envoy's last values, a minute old, are no longer shown."""
    for _ in range(HELD_POLLS + 1):
        await poll(hass, freezer)
