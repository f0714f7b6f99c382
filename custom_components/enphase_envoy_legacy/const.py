"""Constants for the Enphase Envoy Legacy integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "enphase_envoy_legacy"
LOGGER = logging.getLogger(__package__)

CONF_SERIAL: Final = "serial"

# Enphase's own guidance and users' experience: legacy Envoys cope with one poll a minute;
# more often makes them drop requests (see envoy-facts in the project notes).
SCAN_INTERVAL: Final = timedelta(seconds=60)

MANUFACTURER: Final = "Enphase"

# Part number prefixes whose product name is known for sure; others show as "Envoy".
MODEL_BY_PART_NUMBER: Final = {"800-00069": "Envoy-R"}
