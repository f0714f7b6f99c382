"""Polls one Envoy: the site's model reads and judges; this maps errors and applies verdicts."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import AUTH_FAILURES_BEFORE_REAUTH, CONF_SERIAL, DOMAIN, LOGGER
from .devices import forget_inverters, inverter_devices, register_envoy
from .envoy_client import (
    DEFAULT_TIMEOUT,
    EnvoyAuthenticationError,
    EnvoyClient,
    EnvoyError,
    EnvoyInfo,
    EnvoyUnsupportedFirmwareError,
    credentials_of,
)
from .errors import translated
from .model import RECHECK, Site, Snapshot, WrongEnvoyError
from .naming import entry_tag
from .repairs import Repairs
from .signals import InverterSignals
from .store import EntryStore

type EnvoyLegacyConfigEntry = ConfigEntry[EnvoyLegacyCoordinator]


class EnvoyLegacyCoordinator(DataUpdateCoordinator[Snapshot]):
    """Reads one Envoy through its site's model (model/site.py)."""

    config_entry: EnvoyLegacyConfigEntry
    request_timeout: float = DEFAULT_TIMEOUT

    def __init__(self, hass: HomeAssistant, entry: EnvoyLegacyConfigEntry) -> None:
        """Initialize the coordinator from the entry's data."""
        # Home Assistant logs failed polls under this name: never the serial, whose last six
        # characters are the Envoy's password.
        self.tag = entry_tag(entry.entry_id)
        interval = timedelta(seconds=RECHECK)  # then as each poll says
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {self.tag}", update_interval=interval
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.client = EnvoyClient(
            entry.data[CONF_HOST],
            self.serial,
            async_get_clientsession(hass),
            credentials=credentials_of(entry.data),
            request_timeout=self.request_timeout,
            name=f"Envoy {self.tag}",
        )
        self.store = EntryStore(hass, entry.entry_id)
        self.site = Site(self.serial, self.tag)
        self.repairs = Repairs(hass, self.serial, entry.entry_id)
        self.device_id = ""  # the Envoy's device, once its identity is known
        self._devices = lambda: inverter_devices(hass, entry.entry_id, self.serial).keys()
        self.next_poll: datetime | None = None
        self._auth_failures = 0
        self.signals = InverterSignals()

    async def _async_setup(self) -> None:
        """Restore the site; read the Envoy's identity only on a first setup."""
        stored = await self.store.async_load()
        self.site = Site.from_dict(self.serial, self.tag, stored, dt_util.now())
        self.client.restore_auth(self.site.auth)
        if (info := self.site.identity.info) is None:
            try:
                info = await self.site.identify(self.client, dt_util.now())
            except (EnvoyError, WrongEnvoyError) as err:
                raise self._failure(err, first=True) from err
        self._identified(info)

    async def async_save(self) -> None:
        """Write what is kept across restarts now (on unload; otherwise lazily)."""
        await self.store.async_save(self.site)

    async def _async_update_data(self) -> Snapshot:
        """Poll through the model; a failed poll is retried after RECHECK seconds."""
        self.update_interval = timedelta(seconds=RECHECK)
        now = dt_util.now()
        self.next_poll = now + self.update_interval  # unless the poll says otherwise
        try:
            snapshot = await self.site.poll(self.client, now, self._devices)
        except (EnvoyError, WrongEnvoyError) as err:
            failure = self._failure(err, first=self.data is None)
            # Brief trouble is no event: the last values stay while they are young enough.
            definite = isinstance(err, WrongEnvoyError | EnvoyUnsupportedFirmwareError)
            held = None if definite or type(failure) is not UpdateFailed else self.site.hold(now)
            if held is None:
                raise failure from err
            return held
        self._auth_failures = 0
        if snapshot.info is not None:
            self._identified(snapshot.info)
        if snapshot.forgotten:
            entry_id = self.config_entry.entry_id
            forget_inverters(self.hass, entry_id, self.serial, snapshot.forgotten, self.tag)
        self.repairs.apply(snapshot, now)
        self.next_poll = snapshot.next_poll
        self.update_interval = max(snapshot.next_poll - now, timedelta(seconds=1))
        self.store.async_delay_save(self.site)
        return snapshot

    def _failure(self, err: EnvoyError | WrongEnvoyError, *, first: bool) -> Exception:
        """Map an error to Home Assistant's, in one place: a translated reason, no secret."""
        if isinstance(err, WrongEnvoyError):
            self.repairs.replaced(self.config_entry.entry_id, err.serial)
            return UpdateFailed(translation_domain=DOMAIN, translation_key="serial_mismatch")
        if isinstance(err, EnvoyUnsupportedFirmwareError):
            self.repairs.token_firmware(str(err))
            return translated(ConfigEntryError if first else UpdateFailed, err)
        if isinstance(err, EnvoyAuthenticationError):
            self._auth_failures += 1
            if self._auth_failures >= AUTH_FAILURES_BEFORE_REAUTH:
                return translated(ConfigEntryAuthFailed, err)
        return translated(UpdateFailed, err)

    def _identified(self, info: EnvoyInfo) -> None:
        """Keep the Envoy's device up to date: it answers on legacy firmware."""
        self.repairs.legacy_firmware()
        entry_id = self.config_entry.entry_id
        self.device_id = register_envoy(self.hass, entry_id, self.serial, info, self.client.url)

    @callback
    def async_update_listeners(self) -> None:
        """Update the listeners, and those of the inverters and panels with something new."""
        super().async_update_listeners()
        data: Snapshot | None = self.data  # None after a failed first refresh
        if data is not None:
            self.signals.send(data, success=self.last_update_success)
