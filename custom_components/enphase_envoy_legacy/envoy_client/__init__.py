"""Client for the local API of Enphase Envoys on legacy (pre-7) firmware.

Free of Home Assistant imports, so that it can be published as a library on its own. HTTP
Digest is aiohttp's ``DigestAuthMiddleware``; the user the Envoy accepted can be saved and
restored across restarts (``EnvoyClient.auth_state`` and ``EnvoyClient.restore_auth``).
"""

from .client import (
    DEFAULT_TIMEOUT,
    MAX_BODY_BYTES,
    EnvoyClient,
    base_url,
    installer_password,
)
from .exceptions import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyConnectionError,
    EnvoyError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)
from .models import EnvoyData, EnvoyInfo, EnvoyInverter, EnvoyProduction

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "EnvoyAuthenticationError",
    "EnvoyBadDataError",
    "EnvoyClient",
    "EnvoyConnectionError",
    "EnvoyData",
    "EnvoyError",
    "EnvoyHostError",
    "EnvoyInfo",
    "EnvoyInverter",
    "EnvoyProduction",
    "EnvoyTimeoutError",
    "EnvoyUnsupportedFirmwareError",
    "base_url",
    "installer_password",
]
