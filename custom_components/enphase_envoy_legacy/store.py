"""What an entry keeps across restarts: one versioned store per entry.

Version 2 (key ``enphase_envoy_legacy.<entry id>.state``) holds each part under its name:

- ``guard``: the energy guard's state (energy.py), the lifetime energy users see;
- ``rhythm``: the report rhythm the scheduler learned (schedule.py);
- ``panels``: each inverter's estimated energy (panels.py);
- ``unlisted``: since when each inverter has been missing from the Envoy's list (census.py);
- ``auth``: the user the Envoy accepted, and whether it resets kept-alive connections (the
  client's ``auth_state``; also set by the migration of an entry whose keep-alive option
  was off, see __init__.py);
- ``info``: the Envoy's identity, so a restart need not read it (identity.py);
- ``meters`` (since minor version 2): the CT meters detection found (metered.py), so a
  restart detects nothing; absent, they are detected at the next poll;
- ``counters`` (since minor version 2): the states of the guards of a metered Envoy's
  lifetime counters, by name (metered_guard.py).

Minor version 1 (the previous release) loads unchanged: what it lacks starts afresh.

Only this module knows these names: at setup the coordinator takes a ``Restored`` (each
part rebuilt, ready for its owner), and what is written is read from the coordinator's own
objects (``EntryParts``) when the write happens.

Releases up to 1.3 kept all of it under the key ``<entry id>.energy`` (version 1), with the
guard's state at the top level. It is migrated when the new store is absent: written at
once as version 2, then the old store is removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .census import InverterCensus
from .const import DOMAIN, LOGGER
from .energy import EnergyGuard
from .energy_state import GuardState
from .envoy_client import EnvoyClient
from .identity import EnvoyIdentity
from .metered import MeterSetup
from .metered_guard import MeteredGuards
from .panels import PanelEnergy
from .reader import MeterWatch
from .schedule import PollScheduler
from .schedule_state import RhythmState

STORE_VERSION: Final = 2
STORE_MINOR_VERSION: Final = 2
# How often what was learned is written at most (seconds); and on unload.
SAVE_DELAY: Final = 60
PARTS: Final = ("rhythm", "panels", "unlisted", "auth", "info", "meters", "counters")


class EntryParts(Protocol):
    """The objects whose state an entry keeps (the coordinator's)."""

    guard: EnergyGuard
    scheduler: PollScheduler
    panels: PanelEnergy
    census: InverterCensus
    client: EnvoyClient
    identity: EnvoyIdentity
    meters: MeterWatch
    counters: MeteredGuards


def as_stored(parts: EntryParts) -> dict[str, Any]:
    """Return what is kept of the parts, in version 2's structure."""
    return {
        "guard": parts.guard.state.as_dict(),
        "rhythm": parts.scheduler.state.as_dict(),
        "panels": parts.panels.as_dict(),
        "unlisted": parts.census.unlisted.as_dict(),
        "auth": parts.client.auth_state,
        "info": asdict(parts.identity.info),
        "meters": None if parts.meters.detect_due else parts.meters.setup.as_dict(),
        "counters": parts.counters.as_dict(),
    }


@dataclass(frozen=True, kw_only=True)
class Restored:
    """What an entry restores at setup: each part rebuilt from the store, or afresh.

    ``auth`` is for the client (EnvoyClient.restore_auth) and ``info`` for the identity
    (EnvoyIdentity.restore), which check them themselves.
    """

    guard: EnergyGuard
    rhythm: RhythmState
    panels: PanelEnergy
    census: InverterCensus
    auth: Mapping[str, object] | None
    info: object
    meters: MeterSetup | None
    counters: MeteredGuards


def migrate_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """Return version 1's content (the guard's state at the top level) as version 2's."""
    guard = {key: value for key, value in data.items() if key not in PARTS}
    return {"guard": guard, **{part: data[part] for part in PARTS if part in data}}


class _VersionedStore(Store[dict[str, Any]]):
    """The entry's store: minor version 1 (the previous release) loads as it was written."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Return a store of an earlier minor version unchanged: its new parts start afresh.

        Only version 2 was ever written under this key (release 1.3's key was another).
        """
        return old_data


class EntryStore:
    """The store of one entry, read from the previous release's store on its first load."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the entry's store (nothing is read yet)."""
        self._entry_id = entry_id
        self._store: Store[dict[str, Any]] = _VersionedStore(
            hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.state", minor_version=STORE_MINOR_VERSION
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

    async def async_restore(self) -> Restored:
        """Return the parts as stored; a malformed guard state starts afresh, with a warning.

        The other parts drop what is malformed on their own (each part's ``from_dict``).
        """
        stored = await self.async_load()
        guard = stored.get("guard", {})
        guard_state = GuardState.from_dict(guard) if isinstance(guard, Mapping) else None
        if guard_state is None:
            LOGGER.warning(
                "The stored state of the energy guard of entry %s is malformed; starting"
                " the energy guard afresh",
                self._entry_id,
            )
        auth = stored.get("auth")
        return Restored(
            guard=EnergyGuard(guard_state),
            rhythm=RhythmState.from_dict(stored.get("rhythm")),
            panels=PanelEnergy(stored.get("panels")),
            census=InverterCensus(stored.get("unlisted")),
            auth=auth if isinstance(auth, Mapping) else None,
            info=stored.get("info"),
            meters=MeterSetup.from_dict(stored.get("meters")),
            counters=MeteredGuards(stored.get("counters")),
        )

    async def async_keep_connection_close(self) -> None:
        """Start the client in Connection: close mode, keeping the rest as stored.

        For an entry of release 1.2 whose keep-alive option was off (the migration to 1.3
        drops the options): written into the ``auth`` part, where the client keeps what it
        learned itself, as if it had found that the Envoy resets kept-alive connections.
        """
        stored = await self.async_load()
        auth = stored.get("auth")
        stored["auth"] = {**(auth if isinstance(auth, Mapping) else {}), "connection_close": True}
        await self._store.async_save(stored)

    def async_delay_save(self, parts: EntryParts) -> None:
        """Write what the parts hold then, within SAVE_DELAY."""
        self._store.async_delay_save(lambda: as_stored(parts), SAVE_DELAY)

    async def async_save(self, parts: EntryParts) -> None:
        """Write what the parts hold now."""
        await self._store.async_save(as_stored(parts))

    async def async_remove(self) -> None:
        """Remove what is stored, in either version."""
        await self._store.async_remove()
        await self._legacy.async_remove()
