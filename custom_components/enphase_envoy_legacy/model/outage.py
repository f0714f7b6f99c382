"""When the Envoy does not answer: how long what was read stays shown.

Brief trouble is no event (many Envoys drop off for a few minutes around 23:00): the site's
values and the inverters' each stay shown while they are no older than a healthy Envoy's
can be, plus HOLD_MARGIN; after that they are unavailable until their endpoint answers.
docs/architecture.md, "When the Envoy does not answer".
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Final

_LOGGER = logging.getLogger(__package__)

HOLD_MARGIN: Final = timedelta(minutes=5)
PARTS: Final = ("production", "inverter")


class Freshness:
    """When the site's production and its inverters were last read, and what is shown."""

    def __init__(self, tag: str) -> None:
        """Start with nothing read (``tag`` names the entry in the log)."""
        self.tag = tag
        self._read_at = [-math.inf, -math.inf]  # production, the inverters (epoch seconds)
        self._shown = (True, True)
        # The last poll failed, and Home Assistant said so: a change is not said again.
        self._failed = False

    def read(self, timestamp: float, *, production: bool, inverters: bool) -> None:
        """Note what a poll read at ``timestamp``."""
        for index, was_read in enumerate((production, inverters)):
            if was_read:
                self._read_at[index] = timestamp

    def shown(
        self, timestamp: float, *, production_age: float, inverter_age: float
    ) -> tuple[bool, bool]:
        """Return whether production's values and the inverters' are still shown.

        ``production_age`` and ``inverter_age``: how old a healthy Envoy's values can be
        (seconds).
        """
        margin = HOLD_MARGIN.total_seconds()
        production, inverters = (
            timestamp - read_at <= age + margin
            for read_at, age in zip(self._read_at, (production_age, inverter_age), strict=True)
        )
        return production, inverters

    def show(self, shown: tuple[bool, bool], *, say: bool) -> None:
        """Show that; ``say``: a poll answered, and a change is said in the log.

        While polls fail, Home Assistant says so itself: a change is not said then, nor the
        return that ends it.
        """
        if say and not self._failed:
            for what, was, now in zip(PARTS, self._shown, shown, strict=True):
                if was and not now:
                    _LOGGER.warning(
                        "Envoy %s: no new %s values for over %d minutes; they are unavailable"
                        " until the Envoy answers",
                        self.tag,
                        what,
                        HOLD_MARGIN.total_seconds() // 60,
                    )
                elif now and not was:
                    _LOGGER.info("Envoy %s: %s values are back", self.tag, what)
        self._failed = not say and (self._failed or shown != self._shown)
        self._shown = shown
