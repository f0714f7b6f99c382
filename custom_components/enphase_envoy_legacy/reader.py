"""What one poll reads: the endpoints the schedule says are due.

The coordinator asks read_due for each poll. It reads the inverter list when a burst of
reports is due (or on the first poll), production when its own time has come, or when new
reports just came in from an Envoy whose production moves with them (one without a meter);
everything not read is the previous poll's. What each read shows is told to the scheduler,
which learns the Envoy's rhythm from it (schedule.py).

This module has no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from .census import InverterCensus, report_times
from .envoy_client import EnvoyClient, EnvoyData
from .schedule import PollScheduler


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """The Envoy as one poll saw it, and what was read anew."""

    envoy: EnvoyData
    # Each listed inverter's last report time when the inverters were read (None when not);
    # none dated ahead of the clock: those are neither counted nor learned from.
    reports: dict[str, float] | None
    # Whether production was read.
    fresh_production: bool


async def read_due(
    client: EnvoyClient,
    scheduler: PollScheduler,
    census: InverterCensus,
    previous: EnvoyData | None,
    timestamp: float,
    tag: str,
) -> Reading:
    """Read what is due at ``timestamp`` (epoch seconds); ``tag`` names the entry in the log."""
    fetch = scheduler.plan(timestamp)
    inverters = previous.inverters if previous is not None else {}
    new_reports = False
    reports: dict[str, float] | None = None
    if fetch.inverters or previous is None:
        inverters = census.keep_through_empty_lists(await client.inverters(), tag)
        reports = report_times(inverters, timestamp)
        new_reports = scheduler.inverters_seen(timestamp, reports)
    fresh = (
        previous is None
        or fetch.production
        or (new_reports and scheduler.production_follows_reports)
    )
    production = previous.production if previous is not None else None
    if fresh or production is None:
        reading = await client.production()
        scheduler.production_seen(timestamp, changed=reading != production)
        production = reading
    return Reading(
        envoy=EnvoyData(production=production, inverters=inverters),
        reports=reports,
        fresh_production=fresh,
    )
