"""The Envoy's identity (``/info.xml``): when it is read, and what it proves.

It is read at a first setup, after every failed poll (a firmware upgrade reboots the
Envoy) and at least every INFO_REFRESH_INTERVAL; on a restart the stored identity serves
until then. Each read checks that the Envoy at the entry's address still has the entry's
serial.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Final

from ..envoy_client import EnvoyClient, EnvoyInfo
from .stored import flag, mapping, optional_flag, optional_text, text

# The identity is read at least this often, so the device's firmware version follows.
INFO_REFRESH_INTERVAL: Final = timedelta(hours=24)


class WrongEnvoyError(Exception):
    """Another Envoy (another serial) answers at the entry's address."""

    def __init__(self, serial: str) -> None:
        """Say which Envoy answers (its serial is shown to the user, never logged)."""
        super().__init__("another Envoy answers at this address")
        self.serial = serial


def info_from_dict(stored: object) -> EnvoyInfo:
    """Rebuild a stored identity (``imeter`` is absent from releases before 0.2)."""
    data = mapping(stored)
    return EnvoyInfo(
        serial=text(data.get("serial")),
        firmware=text(data.get("firmware")),
        part_number=optional_text(data.get("part_number")),
        web_tokens=flag(data.get("web_tokens")),
        imeter=optional_flag(data.get("imeter")),
    )


class Identity:
    """What the Envoy says it is, and when to ask again."""

    def __init__(self, serial: str) -> None:
        """Start with no identity known: it is read before anything else."""
        self.serial = serial
        self.info: EnvoyInfo | None = None
        self._due: datetime | None = None

    @property
    def known(self) -> EnvoyInfo:
        """Return the identity (read or restored: known once the entry is set up)."""
        if self.info is None:
            raise LookupError("the Envoy's identity is not known yet")
        return self.info

    @property
    def imeter(self) -> bool | None:
        """Return what ``<imeter>`` said (None: not said, or no identity yet)."""
        return self.info.imeter if self.info is not None else None

    def is_due(self, now: datetime) -> bool:
        """Return True when the next poll reads /info.xml first."""
        return self._due is None or now >= self._due

    def read_next_poll(self) -> None:
        """Read the identity at the next poll (after a failed one: maybe an upgrade)."""
        self._due = None

    def restore(self, info: EnvoyInfo, now: datetime) -> bool:
        """Take a stored identity when it is this Envoy's on legacy firmware; True when taken."""
        if info.serial != self.serial or info.uses_tokens:
            return False
        self._keep(info, now)
        return True

    async def read(self, client: EnvoyClient, now: datetime) -> EnvoyInfo:
        """Read /info.xml; raise WrongEnvoyError when another Envoy answers."""
        info = await client.info()
        if info.serial != self.serial:
            raise WrongEnvoyError(info.serial)
        self._keep(info, now)
        return info

    def _keep(self, info: EnvoyInfo, now: datetime) -> None:
        self.info = info
        self._due = now + INFO_REFRESH_INTERVAL

    def as_dict(self) -> dict[str, Any] | None:
        """Return the identity for storage (None: none known)."""
        return asdict(self.info) if self.info is not None else None
