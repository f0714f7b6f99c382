"""What an entry keeps across restarts: its site's dict (model/site.py), in a versioned store.

Version 2 (key ``enphase_envoy_legacy.<entry id>.state``); what each part holds is in
docs/architecture.md, "What is stored". Earlier stores are brought up to date here, on raw
dicts: the site checks every value when it is rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER
from .model import Site

STORE_VERSION: Final = 2
# 2: meters and their counters' guards (release 0.1); 3: <imeter> kept with the identity;
# 4: each panel's output against its normal ("output"), its reports of the day.
STORE_MINOR_VERSION: Final = 4
IMETER_WITH_IDENTITY: Final = 3
# How often what was learned is written at most (seconds); and on unload.
SAVE_DELAY: Final = 60
PARTS: Final = ("rhythm", "panels", "output", "unlisted", "auth", "info", "meters", "counters")


def migrate_version_1(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return release 1.3's store (the guard's state at the top level) as version 2.1's."""
    guard = {key: value for key, value in data.items() if key not in PARTS}
    return {"guard": guard, **{part: data[part] for part in PARTS if part in data}}


def migrate_minor_2(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a 2.2 store as 2.3's: ``<imeter>`` moves from the meters to the identity."""
    migrated = dict(data)
    meters, info = data.get("meters"), data.get("info")
    if isinstance(meters, Mapping) and isinstance(meters.get("meters"), list):
        migrated["meters"] = {"meters": meters["meters"]}
        if isinstance(info, Mapping) and "imeter" not in info:
            migrated["info"] = {**info, "imeter": meters.get("imeter")}
    return migrated


class _VersionedStore(Store[dict[str, Any]]):
    """The entry's store, brought up to date when loaded."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Return an earlier minor version's store as this one's.

        2.1 lacks what 2.2 added; what 2.4 added (the panels' output) starts afresh, as the
        site rebuilds a part it lacks: a 2.3 store is read as it is.
        """
        return migrate_minor_2(old_data) if old_minor_version < IMETER_WITH_IDENTITY else old_data


class EntryStore:
    """The store of one entry, read from release 1.3's store on its first load."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the entry's store (nothing is read yet)."""
        self._store: Store[dict[str, Any]] = _VersionedStore(
            hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.state", minor_version=STORE_MINOR_VERSION
        )
        self._legacy: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{entry_id}.energy")

    async def async_load(self) -> dict[str, Any]:
        """Return what is stored (this version's structure), an empty dict when nothing is."""
        if (stored := await self._store.async_load()) is not None:
            return stored
        if (legacy := await self._legacy.async_load()) is None:
            return {}
        migrated = migrate_minor_2(migrate_version_1(legacy))
        await self._store.async_save(migrated)
        await self._legacy.async_remove()
        LOGGER.debug("Migrated an entry's stored state to version %s", STORE_VERSION)
        return migrated

    async def async_keep_connection_close(self) -> None:
        """Start the client in Connection: close mode, keeping the rest as stored.

        For an entry of release 1.2 whose keep-alive option was off (the migration to 1.3
        drops the options): written where the client keeps what it learned itself.
        """
        stored = await self.async_load()
        auth = stored.get("auth")
        stored["auth"] = {**(auth if isinstance(auth, Mapping) else {}), "connection_close": True}
        await self._store.async_save(stored)

    def async_delay_save(self, site: Site) -> None:
        """Write what the site holds then, within SAVE_DELAY."""
        self._store.async_delay_save(site.as_dict, SAVE_DELAY)

    async def async_save(self, site: Site) -> None:
        """Write what the site holds now."""
        await self._store.async_save(site.as_dict())

    async def async_remove(self) -> None:
        """Remove what is stored, in either version."""
        await self._store.async_remove()
        await self._legacy.async_remove()
