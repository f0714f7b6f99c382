"""How often and how many panels' energy a poll writes: every other read, a bounded number.

Each microinverter's power is written when its report arrives. Each panel's estimated
energy (today and lifetime, panels.py) moves with every report too, and writing every
state costs Home Assistant about the same whatever changed: two energy sensors per panel
written at every burst would triple the cost of every report burst, and the rows of the
recorder's database with it. So a panel's energy that moved is written at the second
inverter read after it moved (every other burst while it produces: ten minutes at the
usual five-minute rhythm), and an inverter read writes the energy of at most
PANELS_PER_READ panels, those waiting longest first; the others wait for the next read.
On a site of up to PANELS_PER_READ inverters every panel's energy is written every other
burst; on a larger one each panel's is written at least every ceil(inverters /
PANELS_PER_READ) + 1 bursts, and once production stops (in the evening) the reads write
what is still waiting: the day's last figures are exact.

Nothing is lost by waiting: a sensor shows the panel's energy as counted when it is
written, and long-term statistics take whatever value was written last in each hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice, takewhile
from typing import Final

# With 2 energy sensors per panel, an inverter read writes at most 200 energy states beyond
# the inverters' power: a sixth of its cost at 1,000 inverters (docs/benchmark.md).
PANELS_PER_READ: Final = 100
# A panel's energy that moved is written this many inverter reads later at the soonest.
READS_BEFORE_WRITE: Final = 2


class PanelWrites:
    """The panels whose energy moved and is not written yet, in the order they moved."""

    def __init__(
        self, per_read: int = PANELS_PER_READ, reads_before: int = READS_BEFORE_WRITE
    ) -> None:
        """Start with nothing waiting.

        ``per_read`` panels at most are written per inverter read, each ``reads_before``
        reads after it moved at the soonest (1: at the read where it moved).
        """
        self.per_read = per_read
        self.reads_before = reads_before
        # The reads so far (calls of due).
        self._reads = 0
        # Each waiting panel, with the number of reads before it started waiting. A dict
        # keeps the order of insertion: the first key has waited longest.
        self._waiting: dict[str, int] = {}

    @property
    def waiting(self) -> int:
        """Return how many panels' energy is waiting to be written."""
        return len(self._waiting)

    def moved(self, serials: Iterable[str]) -> None:
        """Note panels whose energy moved (one already waiting keeps its place)."""
        for serial in serials:
            self._waiting.setdefault(serial, self._reads)

    def due(self) -> frozenset[str]:
        """Return the panels to write at this inverter read, and take them off the wait."""
        self._reads += 1
        since = self._reads - self.reads_before
        # Those that waited long enough come first (the order they started waiting in).
        ready = takewhile(lambda item: item[1] <= since, self._waiting.items())
        due = frozenset(serial for serial, _ in islice(ready, self.per_read))
        for serial in due:
            del self._waiting[serial]
        return due

    def forget(self, serial: str) -> None:
        """Stop waiting for an inverter that is gone for good."""
        self._waiting.pop(serial, None)
