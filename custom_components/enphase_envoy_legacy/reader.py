"""What one poll reads: the endpoints the schedule says are due.

The coordinator asks read_due for each poll. It reads the inverter list when a burst of
reports is due (or on the first poll), production when its own time has come, or when new
reports just came in from an Envoy whose production moves with them (one without a meter);
everything not read is the previous poll's. What each read shows is told to the scheduler,
which learns the Envoy's rhythm from it (schedule.py).

A metered Envoy-S (issue #14): its meters are detected once (``MeterWatch``: at the first
setup and at each daily identity read, remembered in the store), which costs no request on
an Envoy whose ``/info.xml`` says ``<imeter>false</imeter>``. Where meters are found, each
production read is ``/production.json`` (and ``/ivp/meters/readings`` when a net-consumption
meter exists); the production CT's figures there are the site totals, so
``/api/v1/production`` is read only when no production CT measures. Where the readings
answer, they carry every CT's power and lifetime counters, read together each minute; the
rest of ``/production.json`` (energy today, the last seven days, the AC Battery) is then
read with the inverters, once per report burst. The meters' configuration (their health)
is read again every METER_CHECK_INTERVAL. An Envoy whose CTs measure is metered for the
scheduler: production every PRODUCTION_INTERVAL, and at every inverter read.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from .census import InverterCensus, report_times
from .envoy_client import EnvoyClient, EnvoyData, EnvoyMeteredProduction
from .metered import MeteredReading, MeterSetup
from .schedule import PollScheduler

# How often a metered Envoy's meter configuration (their status) is read again (seconds).
METER_CHECK_INTERVAL: Final = 3600.0


class MeterWatch:
    """What detection found, when to detect again, and when to check the meters' status."""

    def __init__(self, setup: MeterSetup | None = None) -> None:
        """Start from the stored setup; without one, detection is due at the next poll."""
        self.setup = setup or MeterSetup()
        self.detect_due = setup is None
        self._checked_at: float | None = None
        self._production_json: EnvoyMeteredProduction | None = None

    async def detect(self, client: EnvoyClient, timestamp: float, *, imeter: bool | None) -> None:
        """Detect the meters (no request when ``imeter``, the identity's, is False)."""
        meters = await client.detect_meters(imeter)
        imeter = imeter if imeter is not None else self.setup.imeter
        self.setup = MeterSetup(meters=meters, imeter=imeter)
        self.detect_due = False
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """The Envoy as one poll saw it, and what was read anew."""

    envoy: EnvoyData
    # Each listed inverter's last report time when the inverters were read (None when not);
    # none dated ahead of the clock: those are neither counted nor learned from.
    reports: dict[str, float] | None
    # Whether production was read.
    fresh_production: bool
    # The meters' answers, when they were read (a metered Envoy's production read).
    metered: MeteredReading | None = None


async def read_due(
    client: EnvoyClient,
    scheduler: PollScheduler,
    census: InverterCensus,
    previous: EnvoyData | None,
    timestamp: float,
    tag: str,
    meters: MeterWatch,
    *,
    imeter: bool | None,
) -> Reading:
    """Read what is due at ``timestamp`` (epoch seconds); ``tag`` names the entry in the log.

    ``imeter``: the identity's ``<imeter>``, for a meter detection that is due.
    """
    if meters.detect_due:
        await meters.detect(client, timestamp, imeter=imeter)
    fetch = scheduler.plan(timestamp)
    inverters = previous.inverters if previous is not None else {}
    new_reports = False
    reports: dict[str, float] | None = None
    if fetch.inverters or previous is None:
        inverters = census.keep_through_empty_lists(await client.inverters(), tag)
        reports = report_times(inverters, timestamp)
        new_reports = scheduler.inverters_seen(timestamp, reports)
    # Production moves with the reports (no meter), or is read every minute (a meter): then
    # each inverter read reads it too, so production.json's share of a metered Envoy's
    # figures is read once per burst and the minute's reads fall in step with the bursts.
    follows = scheduler.production_follows_reports
    fresh = (
        previous is None or fetch.production or (new_reports if follows else reports is not None)
    )
    production = previous.production if previous is not None else None
    metered: MeteredReading | None = None
    if fresh or production is None:
        metered = (
            await meters.read(client, timestamp, burst=reports is not None)
            if meters.setup.metered
            else None
        )
        reading = metered.site_production() if metered is not None else None
        if reading is None:
            reading = await client.production()
        # CTs measure continuously: an Envoy whose CTs measure is read every minute, and
        # its readings are not evidence for the scheduler's learning.
        measured = metered is not None and metered.measures
        if measured:
            scheduler.state.metered = True
        scheduler.production_seen(timestamp, changed=measured or reading != production)
        production = reading
    return Reading(
        envoy=EnvoyData(production=production, inverters=inverters),
        reports=reports,
        fresh_production=fresh,
        metered=metered,
    )
