"""How each microinverter's entities hear that they have something new to show.

Each microinverter's entities listen to their inverter, its panel energy sensors to their
panel (model/pacing.py): a poll calls only the entities of the inverters whose values
changed and of the panels whose energy is written now, so with hundreds of inverters a poll
costs time in proportion to what changed. A map of listeners per serial, not a dispatcher
signal per entity (as ESPHome keys its state subscriptions): a burst at 1,000 inverters
calls some 2,500 listeners, and builds no signal name nor job for any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from homeassistant.core import CALLBACK_TYPE, callback

from .model import Snapshot

Listeners = dict[str, list[CALLBACK_TYPE]]


class InverterSignals:
    """Tells each poll's news to the entities of the inverters and panels it concerns."""

    def __init__(self) -> None:
        """Start with no listener, and the inverter entities taken to be healthy."""
        self.healthy = True  # the health the inverter entities last heard of
        self._inverters: Listeners = {}
        self._panels: Listeners = {}

    @callback
    def listen(self, serial: str, update: CALLBACK_TYPE, *, panel: bool = False) -> CALLBACK_TYPE:
        """Call ``update`` when this inverter (or its panel) has news; return the undo."""
        listeners = self._panels if panel else self._inverters
        listeners.setdefault(serial, []).append(update)
        # A partial, not a closure: a third of the memory, for each of thousands of entities.
        return partial(_remove, listeners, serial, update)

    @callback
    def send(self, data: Snapshot, *, success: bool) -> None:
        """Call the inverters and panels with something new; all of them when health changed."""
        inverters: Iterable[str] = data.changed_inverters
        panels: Iterable[str] = data.changed_panels
        healthy = success and data.inverters_shown
        if healthy != self.healthy:
            self.healthy = healthy
            inverters = panels = data.inverters
        _call(self._inverters, inverters)
        _call(self._panels, panels)


@callback
def _remove(listeners: Listeners, serial: str, update: CALLBACK_TYPE) -> None:
    """Stop calling ``update`` for this serial."""
    (serial_listeners := listeners[serial]).remove(update)
    if not serial_listeners:
        del listeners[serial]


def _call(listeners: Listeners, serials: Iterable[str]) -> None:
    """Call the listeners of each serial (a serial nobody listens to has none)."""
    for serial in serials:
        for update in listeners.get(serial, ()):
            update()
