"""When a metered Envoy's meters are detected, checked and read.

Detection runs at the first setup and with each daily identity read, and costs no request
on an Envoy whose ``/info.xml`` says ``<imeter>false</imeter>``. Where meters are found,
each production read is ``/production.json`` and, with a net-consumption meter,
``/ivp/meters/readings``; the meters' configuration (their health) is read again every
METER_CHECK_INTERVAL. Only a list changes what is known of the meters: an answer without
one (401, 404, an HTML page) means no meters only while none are known.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Final

from ..envoy_client import (
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyError,
    EnvoyMeteredProduction,
    EnvoyMeterReading,
)
from .metered import MeteredReading, MeterSetup
from .outage import HOLD_MARGIN

_LOGGER = logging.getLogger(__package__)

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
        # Whether /ivp/meters/readings answered a list, and since when it answers none: an
        # Envoy that gave them gives none only briefly (a glitch), or for good (believed
        # after HOLD_MARGIN, as an outage is).
        self._readings_answer = False
        self._readings_missing: float | None = None

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
        found = () if imeter is False else await client.meters()
        if found is not None:
            self.setup = MeterSetup(meters=found)
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
            self._checked_at = timestamp
            await self._check(client)
        readings = await self._readings(client, timestamp) if self.setup.has_net_meter else {}
        fresh = burst or not readings or self._production_json is None
        if fresh:
            self._production_json = await client.production_json()
        return MeteredReading(
            production_json=self._production_json,
            readings=readings,
            setup=self.setup,
            entries_fresh=fresh,
        )

    async def _check(self, client: EnvoyClient) -> None:
        """Read the meters' configuration again; what does not answer leaves it as it was."""
        try:
            found = await client.meters()
        except EnvoyError as err:
            _LOGGER.debug("The meters' configuration did not answer (%s); checked next hour", err)
            return
        if found is not None:
            self.setup = replace(self.setup, meters=found)

    async def _readings(
        self, client: EnvoyClient, timestamp: float
    ) -> dict[int, EnvoyMeterReading]:
        """Read the meters' readings; raise while an Envoy that gave them briefly gives none."""
        answer = await client.meter_readings()
        if answer is None and self._readings_answer:
            missing = self._readings_missing = self._readings_missing or timestamp
            if timestamp - missing < HOLD_MARGIN.total_seconds():
                raise EnvoyBadDataError("/ivp/meters/readings answered without its list")
        self._readings_answer, self._readings_missing = answer is not None, None
        return answer or {}
