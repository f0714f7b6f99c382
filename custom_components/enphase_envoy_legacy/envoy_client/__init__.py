"""Client for the local API of Enphase Envoys on legacy (pre-7) firmware.

Free of Home Assistant imports, so that it can be published as a library on its own. HTTP
Digest is aiohttp's ``DigestAuthMiddleware``; the user the Envoy accepted can be saved and
restored across restarts (``EnvoyClient.auth_state`` and ``EnvoyClient.restore_auth``).
"""

from .addressing import base_url, host_address
from .client import EnvoyClient
from .credentials import credentials_of, installer_password
from .exceptions import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyConnectionError,
    EnvoyError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)
from .models import (
    MEASUREMENT_TYPES,
    NET_CONSUMPTION,
    PRODUCTION,
    TOKEN_FIRMWARE_MAJOR,
    TOTAL_CONSUMPTION,
    EnvoyBattery,
    EnvoyData,
    EnvoyInfo,
    EnvoyInverter,
    EnvoyMeter,
    EnvoyMeteredProduction,
    EnvoyMeterEntry,
    EnvoyMeterReading,
    EnvoyPhaseReading,
    EnvoyProduction,
)
from .transport import DEFAULT_TIMEOUT, MAX_BODY_BYTES

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "MEASUREMENT_TYPES",
    "NET_CONSUMPTION",
    "PRODUCTION",
    "TOKEN_FIRMWARE_MAJOR",
    "TOTAL_CONSUMPTION",
    "EnvoyAuthenticationError",
    "EnvoyBadDataError",
    "EnvoyBattery",
    "EnvoyClient",
    "EnvoyConnectionError",
    "EnvoyData",
    "EnvoyError",
    "EnvoyHostError",
    "EnvoyInfo",
    "EnvoyInverter",
    "EnvoyMeter",
    "EnvoyMeterEntry",
    "EnvoyMeterReading",
    "EnvoyMeteredProduction",
    "EnvoyPhaseReading",
    "EnvoyProduction",
    "EnvoyTimeoutError",
    "EnvoyUnsupportedFirmwareError",
    "base_url",
    "credentials_of",
    "host_address",
    "installer_password",
]
