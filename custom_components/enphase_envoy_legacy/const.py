"""Constants for the Enphase Envoy Legacy integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "enphase_envoy_legacy"
LOGGER = logging.getLogger(__package__)

CONF_SERIAL: Final = "serial"

# An inverter is reported as silent (a repair issue) when its last report is this old while
# the rest of the site reports, and the sun has been up at least this long: every working
# microinverter reports within minutes of first light, even on a 60-minute report interval.
SILENT_INVERTER_AFTER: Final = timedelta(hours=2)

MANUFACTURER: Final = "Enphase"

# Part number prefixes whose product name is known for sure; others show as "Envoy".
MODEL_BY_PART_NUMBER: Final = {
    "800-00069": "Envoy-R",
    "800-00555": "Envoy-S Metered",
    "800-00547": "Envoy-S Metered",
}
# The Envoy-S, metered or not: /info.xml's <imeter> says which (envoy-facts).
METERED_OR_NOT_PART_NUMBERS: Final = frozenset({"800-00551"})

# A single refused request can be a hiccup of the Envoy; only this many refused polls in a
# row ask the user to re-authenticate.
AUTH_FAILURES_BEFORE_REAUTH: Final = 3
