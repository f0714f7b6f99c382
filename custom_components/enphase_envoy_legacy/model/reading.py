"""What one poll reads: the endpoints the schedule says are due (docs/architecture.md).

An endpoint that fails leaves what it feeds as last read while another one answered; when
nothing answered, its error is raised: the poll failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..envoy_client import (
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyConnectionError,
    EnvoyData,
    EnvoyError,
    EnvoyInverter,
    EnvoyProduction,
)
from .census import InverterCensus, report_times
from .identity import Identity
from .metered import MeteredReading
from .meters import MeterWatch
from .schedule import PollScheduler

_LOGGER = logging.getLogger(__package__)

# What an endpoint may fail with while another answers: no answer, or none that makes sense.
# A refused sign-in or firmware without the endpoint is definite: it fails the poll.
INDEFINITE = (EnvoyConnectionError, EnvoyBadDataError)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """What one poll read: the Envoy as it saw it, and what was read anew."""

    envoy: EnvoyData
    # Each listed inverter's last report time when the inverters were read (None when not).
    reports: dict[str, float] | None
    fresh_production: bool
    metered: MeteredReading | None
    # Production is the Envoy's as it is now: read, or, without a meter, shown by an inverter
    # read to be unchanged since it was read (no report since).
    production_current: bool = False


class Reader:
    """Reads a site's Envoy for the parts of its site that decide what is due."""

    def __init__(
        self,
        tag: str,
        identity: Identity,
        scheduler: PollScheduler,
        census: InverterCensus,
        meters: MeterWatch,
    ) -> None:
        """Read for these parts of one site (``tag`` names the entry in the log)."""
        self.tag = tag
        self.identity = identity
        self.scheduler = scheduler
        self.census = census
        self.meters = meters

    async def read(
        self, client: EnvoyClient, timestamp: float, previous: EnvoyData | None
    ) -> Reading:
        """Read the endpoints the schedule says are due (docs/architecture.md).

        An endpoint that fails leaves what it feeds as last read, while another answered;
        when nothing answered, its error is raised: the poll failed.
        """
        meters, scheduler = self.meters, self.scheduler
        imeter = self.identity.imeter
        if meters.detect_due:
            await meters.detect(client, timestamp, imeter=imeter)
        fetch = scheduler.plan(timestamp)
        inverters = previous.inverters if previous is not None else {}
        new_reports = False
        reports: dict[str, float] | None = None
        failed: EnvoyError | None = None
        if fetch.inverters or previous is None:
            try:
                inverters, reports, new_reports = await self._read_inverters(client, timestamp)
            except INDEFINITE as err:
                if previous is None:
                    raise
                failed = err
        # Production moves with the reports (no meter), or is read every minute (a meter):
        # then each inverter read reads it too, so production.json's share of a metered
        # Envoy's figures is read once per burst, in step with the bursts.
        follows = scheduler.production_follows_reports
        fresh = (
            previous is None
            or fetch.production
            or (new_reports if follows else reports is not None)
        )
        shown, fresh, metered = await self._production(
            client,
            timestamp,
            reports,
            previous.production if previous is not None else None,
            due=fresh,
        )
        if failed is not None:
            if not fresh:
                raise failed  # nothing else answered: the poll failed
            _LOGGER.debug("Envoy %s: the inverters did not answer (%s)", self.tag, failed)
        return Reading(
            envoy=EnvoyData(production=shown, inverters=inverters),
            reports=reports,
            fresh_production=fresh,
            metered=metered,
            production_current=fresh or (reports is not None and scheduler.production_unchanged),
        )

    async def _read_inverters(
        self, client: EnvoyClient, timestamp: float
    ) -> tuple[dict[str, EnvoyInverter], dict[str, float], bool]:
        """Read the inverter list: the inverters, their report times, whether any is new."""
        inverters = self.census.keep_through_empty_lists(await client.inverters(), self.tag)
        reports = report_times(inverters, timestamp)
        return inverters, reports, self.scheduler.inverters_seen(timestamp, reports)

    async def _production(
        self,
        client: EnvoyClient,
        timestamp: float,
        reports: dict[str, float] | None,
        production: EnvoyProduction | None,
        *,
        due: bool,
    ) -> tuple[EnvoyProduction, bool, MeteredReading | None]:
        """Return production (the last one when not due), whether it was read, the meters'."""
        if production is not None and not due:
            return production, False, None
        try:
            shown, metered = await self._read_production(client, timestamp, reports)
        except INDEFINITE as err:
            if reports is None or production is None:
                raise  # nothing else answered: the poll failed
            _LOGGER.debug("Envoy %s: production did not answer (%s)", self.tag, err)
            return production, False, None
        self.scheduler.production_seen(
            timestamp,
            changed=shown != production,
            measured=metered is not None and metered.measures,
        )
        return shown, True, metered

    async def _read_production(
        self, client: EnvoyClient, timestamp: float, reports: dict[str, float] | None
    ) -> tuple[EnvoyProduction, MeteredReading | None]:
        """Read the site's production: a metered Envoy's meters, or /api/v1/production."""
        metered: MeteredReading | None = None
        if self.meters.metered(imeter=self.identity.imeter):
            metered = await self.meters.read(client, timestamp, burst=reports is not None)
        reading = metered.site_production() if metered is not None else None
        if reading is None:
            reading = await client.production()
        return reading, metered
