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
from .model import Snapshot


def inverter_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's entities listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}"


def panel_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's panel energy sensors listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}_panel"


class InverterSignals:
    """Tells each poll's news to the entities of the inverters and panels it concerns."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start with the inverter entities taken to be healthy."""
        self.hass = hass
        self.entry_id = entry_id
        self.healthy = True  # the health the inverter entities last heard of

    @callback
    def send(self, data: Snapshot, *, success: bool) -> None:
        """Signal the inverters and panels with something new; all when health changed."""
        inverters: Iterable[str] = data.changed_inverters
        panels: Iterable[str] = data.changed_panels
        healthy = success and data.inverters_shown
        if healthy != self.healthy:
            self.healthy = healthy
            inverters = panels = data.inverters
        for serial in inverters:
            async_dispatcher_send(self.hass, inverter_signal(self.entry_id, serial))
        for serial in panels:
            async_dispatcher_send(self.hass, panel_signal(self.entry_id, serial))
