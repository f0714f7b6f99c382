"""Which microinverters the Envoy stopped listing, and since when.

An inverter that is replaced or removed stays listed until an installer removes it from the
Envoy; once the Envoy no longer lists it, its device can be deleted by hand (Home Assistant's
stale-device rule). One that has been unlisted for UNLISTED_FOR_GOOD is gone for good: the
integration then forgets it (its device, entities, panel energy and repair issue) on its own,
so a site's history of replaced hardware does not pile up for ever. An inverter listed again
before then simply comes back; one listed again after it comes back as a new device.

This module has no Home Assistant imports; times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

# Three months: longer than any outage, repair visit or an Envoy's empty lists at night.
UNLISTED_FOR_GOOD: Final = 90 * 24 * 3600.0


class UnlistedInverters:
    """Remembers since when each known inverter has been missing from the Envoy's list."""

    def __init__(self, stored: object = None) -> None:
        """Start from what was stored ({serial: epoch seconds}), dropping what is malformed."""
        self.since: dict[str, float] = {}
        if isinstance(stored, Mapping):
            self.since = {
                serial: float(when)
                for serial, when in stored.items()
                if isinstance(serial, str)
                and isinstance(when, int | float)
                and not isinstance(when, bool)
                and when == when  # not NaN  # noqa: PLR0124
            }

    def as_dict(self) -> dict[str, float]:
        """Return the state for storage."""
        return dict(self.since)

    def update(self, known: Iterable[str], listed: Iterable[str], now: float) -> set[str]:
        """Note who is missing from the list; return the inverters gone for good.

        ``known``: the inverters the integration has (devices, panels); ``listed``: those in
        the Envoy's list now. An inverter returned here is forgotten here too.
        """
        present = set(listed)
        missing = set(known) - present
        # A stored time ahead of the clock counts from now: nothing is forgotten early.
        self.since = {serial: min(self.since.get(serial, now), now) for serial in missing}
        gone = {serial for serial, since in self.since.items() if now - since >= UNLISTED_FOR_GOOD}
        for serial in gone:
            del self.since[serial]
        return gone
