"""How each microinverter's entities hear that they have something new to show.

Each microinverter's entities listen to their own dispatcher signal (inverter_signal), its
panel energy sensors to their panel's (panel_signal): a poll signals only the inverters
whose entities changed, and the panels whose energy is written now (model/pacing.py), so with
hundreds of inverters a poll costs time in proportion to what changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN


def inverter_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's entities listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}"


def panel_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's panel energy sensors listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}_panel"


@callback
def async_signal(
    hass: HomeAssistant, entry_id: str, inverters: Iterable[str], panels: Iterable[str]
) -> None:
    """Signal these inverters' entities, and these panels' energy sensors."""
    for serial in inverters:
        async_dispatcher_send(hass, inverter_signal(entry_id, serial))
    for serial in panels:
        async_dispatcher_send(hass, panel_signal(entry_id, serial))
