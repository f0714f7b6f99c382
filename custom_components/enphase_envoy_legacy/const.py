"""Constants for the Enphase Envoy Legacy integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "enphase_envoy_legacy"
LOGGER = logging.getLogger(__package__)

CONF_SERIAL: Final = "serial"

# A metered Envoy's production totals are read this often (seconds); everything else is read
# when the Envoy can have something new (schedule.py). Legacy Envoys cope with one poll a
# minute; polled more often they drop requests and show as unavailable (users' reports,
# maintainers' advice). Not an option: Home Assistant leaves polling to the integration.
PRODUCTION_INTERVAL: Final = 60

# The Envoy's identity (/info.xml) is read at setup, after every outage (a firmware upgrade
# reboots the Envoy) and at least this often, so the device's firmware version follows.
INFO_REFRESH_INTERVAL: Final = timedelta(hours=24)

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

# Microinverters the Envoy still lists but that have not reported for this long were removed
# or replaced long ago (Envoys keep listing them for years): their power is no longer shown
# and they raise no repair issue.
RETIRED_INVERTER_AFTER: Final = timedelta(days=30)

# Enphase microinverters are rated below 500 W AC; a larger maxReportWatts is garbage and
# must not widen the energy guard's idea of what the site can produce.
MAX_MICROINVERTER_W: Final = 1000

# A single refused request can be a hiccup of the Envoy; only this many refused polls in a
# row ask the user to re-authenticate.
AUTH_FAILURES_BEFORE_REAUTH: Final = 3
