"""What the energy guard's judgement of a reading (energy.py) says in the log.

A reading held back is said once at WARNING when the holding starts (then at DEBUG while it
lasts), and once at INFO when plausible readings come back; a new base for the Envoy's
counter is said at WARNING. ``tag`` names the entry, never the serial.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from .const import LOGGER
from .energy_state import GuardedProduction
from .envoy_client import EnvoyProduction


def log_judgement(
    tag: str, raw: EnvoyProduction, shown: GuardedProduction, *, was_holding: bool
) -> None:
    """Say in the log what the guard held back or rebased (``tag`` names the entry)."""
    if shown.suspect and not was_holding:
        LOGGER.warning(
            "Envoy %s reports production that cannot be right (lifetime %s Wh, today %s Wh,"
            " now %s W); showing the last good values until it makes sense again",
            tag,
            raw.watt_hours_lifetime,
            raw.watt_hours_today,
            raw.watts_now,
        )
    elif shown.suspect:
        LOGGER.debug("Envoy %s: holding back %s", tag, raw)
    elif was_holding:
        LOGGER.info("Envoy %s reports plausible production again", tag)
    if shown.rebased:
        LOGGER.warning(
            "Envoy %s: its lifetime counter moved to %s Wh and stayed there (a counter wrap"
            " or a replaced Envoy); lifetime energy continues from %s Wh without a jump",
            tag,
            raw.watt_hours_lifetime,
            shown.lifetime,
        )
