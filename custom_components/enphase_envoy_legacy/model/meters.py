"""When a metered Envoy's meters are detected, checked and read.

Detection runs at the first setup and with each daily identity read, and costs no request
on an Envoy whose ``/info.xml`` says ``<imeter>false</imeter>``. Where meters are found,
each production read is ``/production.json`` and, with a net-consumption meter,
``/ivp/meters/readings``; the meters' configuration (their health) is read again every
METER_CHECK_INTERVAL.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from ..envoy_client import EnvoyClient, EnvoyMeteredProduction
from .metered import MeteredReading, MeterSetup

# How often a metered Envoy's meter configuration (their status) is read again (seconds).
METER_CHECK_INTERVAL: Final = 3600.0


class MeterWatch:
    """What detection found, when to detect again, and when to check the meters' status."""

    def __init__(self, setup: MeterSetup | None = None) -> None:
        """Start from the stored setup; without one, detection is due at the next poll."""
        self.setup = setup or MeterSetup()
        self._detect_due = setup is None
        self._checked_at: float | None = None
        self._production_json: EnvoyMeteredProduction | None = None

    @property
    def detect_due(self) -> bool:
        """Return True when the meters are detected at the next poll."""
        return self._detect_due

    def detect_again(self) -> None:
        """Detect the meters at the next poll (a CT may have been added or removed)."""
        self._detect_due = True

    def metered(self, *, imeter: bool | None) -> bool:
        """Return True when the meter endpoints are worth reading (``imeter``: /info.xml's)."""
        return bool(self.setup.meters) or imeter is True

    async def detect(self, client: EnvoyClient, timestamp: float, *, imeter: bool | None) -> None:
        """Detect the meters (no request when /info.xml said the Envoy has none)."""
        self.setup = MeterSetup(meters=await client.detect_meters(imeter=imeter))
        self._detect_due = False
        self._checked_at = timestamp

    async def read(self, client: EnvoyClient, timestamp: float, *, burst: bool) -> MeteredReading:
        """Read the meters: the readings of a net meter, production.json, their status.

        ``burst``: the inverters were read in this poll. production.json is read then, and
        at every read where the readings do not answer (or there is no net meter).
        """
        checked = self._checked_at
        if checked is None:
            # A restored setup: its meters' status is checked within the hour, not at once,
            # so a restart costs no request more than its first poll.
            self._checked_at = timestamp
        elif self.setup.meters and timestamp - checked >= METER_CHECK_INTERVAL:
            self.setup = replace(self.setup, meters=await client.meters())
            self._checked_at = timestamp
        readings = await client.meter_readings() if self.setup.has_net_meter else {}
        fresh = burst or not readings or self._production_json is None
        if fresh:
            self._production_json = await client.production_json()
        return MeteredReading(
            production_json=self._production_json,
            readings=readings,
            setup=self.setup,
            entries_fresh=fresh,
        )
