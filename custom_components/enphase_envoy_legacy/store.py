"""What an entry keeps across restarts: one versioned store per entry.

Version 2 (key ``enphase_envoy_legacy.<entry id>.state``) holds each part under its name:

- ``guard``: the energy guard's state (energy.py), the lifetime energy users see;
- ``rhythm``: the report rhythm the scheduler learned (schedule.py);
- ``panels``: each inverter's estimated energy (panels.py);
- ``unlisted``: since when each inverter has been missing from the Envoy's list (census.py);
- ``auth``: the user the Envoy accepted, and whether it resets kept-alive connections;
- ``info``: the Envoy's identity, so a restart need not read it.

Releases up to 1.3 kept all of it under the key ``<entry id>.energy`` (version 1), with the
guard's state at the top level. It is migrated when the new store is absent: written at
once as version 2, then the old store is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER
from .envoy_client import EnvoyInfo

STORE_VERSION: Final = 2
# How often what was learned is written at most (seconds); and on unload.
SAVE_DELAY: Final = 60
PARTS: Final = ("rhythm", "panels", "unlisted", "auth", "info")


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


def migrate_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """Return version 1's content (the guard's state at the top level) as version 2's."""
    guard = {key: value for key, value in data.items() if key not in PARTS}
    return {"guard": guard, **{part: data[part] for part in PARTS if part in data}}


class EntryStore:
    """The store of one entry, read from the previous release's store on its first load."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the entry's store (nothing is read yet)."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.state"
        )
        self._legacy: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{entry_id}.energy")

    async def async_load(self) -> dict[str, Any]:
        """Return what is stored (version 2's structure), an empty dict when nothing is."""
        if (stored := await self._store.async_load()) is not None:
            return stored
        if (legacy := await self._legacy.async_load()) is None:
            return {}
        migrated = migrate_version_1(legacy)
        await self._store.async_save(migrated)
        await self._legacy.async_remove()
        LOGGER.debug("Migrated an entry's stored state to version %s", STORE_VERSION)
        return migrated

    def async_delay_save(self, data: Callable[[], dict[str, Any]]) -> None:
        """Write what ``data`` returns within SAVE_DELAY."""
        self._store.async_delay_save(data, SAVE_DELAY)

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write now."""
        await self._store.async_save(data)

    async def async_remove(self) -> None:
        """Remove what is stored, in either version."""
        await self._store.async_remove()
        await self._legacy.async_remove()
