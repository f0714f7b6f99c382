"""The Envoy's identity (/info.xml): when it is read, what it proves, and the Envoy's device.

It is read at a first setup, after every failed poll (a firmware upgrade reboots the Envoy)
and at least every INFO_REFRESH_INTERVAL; on a restart the stored identity serves until
then. Each read checks that the Envoy at the entry's address still has the entry's serial,
says so (a repair issue) when it moved to token firmware, and keeps its device up to date.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from . import issues
from .const import DOMAIN, INFO_REFRESH_INTERVAL, LOGGER
from .devices import register_envoy
from .envoy_client import EnvoyClient, EnvoyError, EnvoyInfo, EnvoyUnsupportedFirmwareError
from .naming import entry_tag


def info_from_dict(data: object) -> EnvoyInfo | None:
    """Return a stored identity, or None when there is none or it is malformed."""
    if not isinstance(data, dict):
        return None
    serial, firmware = data.get("serial"), data.get("firmware")
    part_number, web_tokens = data.get("part_number"), data.get("web_tokens")
    if (
        not isinstance(serial, str)
        or not isinstance(firmware, str)
        or not isinstance(part_number, str | None)
        or not isinstance(web_tokens, bool)
    ):
        return None
    return EnvoyInfo(
        serial=serial, firmware=firmware, part_number=part_number, web_tokens=web_tokens
    )


class EnvoyIdentity:
    """What the Envoy says it is, and its device's id."""

    info: EnvoyInfo
    device_id: str

    def __init__(
        self, hass: HomeAssistant, entry_id: str, serial: str, client: EnvoyClient
    ) -> None:
        """Start with no identity known: the next poll reads it."""
        self.hass = hass
        self.entry_id = entry_id
        self.serial = serial
        self.client = client
        self.due: datetime | None = None
        # What /info.xml's <imeter> said (None: not said); names the Envoy-S Metered.
        self.imeter: bool | None = None

    @property
    def is_due(self) -> bool:
        """Return True when the next poll reads /info.xml first."""
        return self.due is None or dt_util.utcnow() >= self.due

    def restore(self, stored: object) -> bool:
        """Take a stored identity when it is this Envoy's on legacy firmware; True when taken."""
        info = info_from_dict(stored)
        if info is None or info.serial != self.serial or info.uses_tokens:
            return False
        self._keep(info)
        return True

    async def async_read(self) -> None:
        """Read /info.xml, check it is still this Envoy and keep its device up to date."""
        serial = self.serial
        try:
            info = await self.client.info()
        except EnvoyUnsupportedFirmwareError as err:
            issues.raise_token_firmware(self.hass, serial, str(err))
            raise
        issues.clear_token_firmware(self.hass, serial)
        self.imeter = info.imeter
        if info.serial != serial:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="serial_mismatch")
        self._keep(info)

    async def async_diagnose(self) -> EnvoyUnsupportedFirmwareError | None:
        """After a failed poll, read /info.xml: return the error of an Envoy on token firmware.

        An Envoy on token firmware says so there (and its repair issue is raised); when the
        Envoy cannot be read at all, that goes to DEBUG: the poll's own error says it.
        """
        try:
            await self.async_read()
        except EnvoyUnsupportedFirmwareError as err:
            return err
        except EnvoyError:
            LOGGER.debug("Envoy %s: /info.xml unreadable too", entry_tag(self.entry_id))
        return None

    def _keep(self, info: EnvoyInfo) -> None:
        """Keep the identity until the next daily read, and the Envoy's device up to date."""
        self.info = info
        self.due = dt_util.utcnow() + INFO_REFRESH_INTERVAL
        self.device_id = register_envoy(
            self.hass, self.entry_id, self.serial, info, self.client.url, imeter=self.imeter
        )
