"""How many panels' energy a poll writes: a fixed budget, the longest waiting first.

Each microinverter's power is written when its report arrives. Each panel's estimated
energy (today and lifetime, panels.py) moves with every report too, and writing every
state costs Home Assistant about the same whatever changed: on a large site, two energy
sensors per panel would triple the cost of every report burst. So an inverter read writes
the energy of at most PANELS_PER_READ panels, those waiting longest first; the others wait
for the next read. On a site of up to PANELS_PER_READ inverters every panel's energy is
written at every burst; on a larger one each panel's is written at least every
ceil(inverters / PANELS_PER_READ) bursts, and once production stops (in the evening)
the reads write what is still waiting: the day's last figures are exact.

Nothing is lost by waiting: a sensor shows the panel's energy as counted when it is
written, and long-term statistics take whatever value was written last in each hour.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Final

# With 2 energy sensors per panel, an inverter read writes at most 200 energy states beyond
# the inverters' power: a sixth of its cost at 1,000 inverters (scripts/bench, README's
# "Performance"), and every panel at every burst on sites of up to 100 inverters.
PANELS_PER_READ: Final = 100


class PanelWrites:
    """The panels whose energy moved and is not written yet, in the order they moved."""

    def __init__(self, per_read: int = PANELS_PER_READ) -> None:
        """Start with nothing waiting; ``per_read`` panels are written per inverter read."""
        self.per_read = per_read
        # A dict keeps the order of insertion: the first key has waited longest.
        self._waiting: dict[str, None] = {}

    @property
    def waiting(self) -> int:
        """Return how many panels' energy is waiting to be written."""
        return len(self._waiting)

    def moved(self, serials: Iterable[str]) -> None:
        """Note panels whose energy moved (one already waiting keeps its place)."""
        for serial in serials:
            self._waiting.setdefault(serial, None)

    def due(self) -> frozenset[str]:
        """Return the panels to write at this inverter read, and take them off the wait."""
        due = frozenset(islice(self._waiting, self.per_read))
        for serial in due:
            del self._waiting[serial]
        return due

    def forget(self, serial: str) -> None:
        """Stop waiting for an inverter that is gone for good."""
        self._waiting.pop(serial, None)
