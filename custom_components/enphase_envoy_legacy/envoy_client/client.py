"""Async client for the local API of Enphase Envoys on legacy (pre-7) firmware.

The endpoints and what their answers become; how requests reach the Envoy (HTTP Digest,
Envoys that reset kept-alive connections) is transport.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final

import aiohttp

from .exceptions import EnvoyConnectionError, EnvoyUnsupportedFirmwareError
from .meters import PATH_METER_READINGS, PATH_METERS, parse_meter_readings, parse_meters
from .models import (
    EnvoyData,
    EnvoyInfo,
    EnvoyInverter,
    EnvoyMeter,
    EnvoyMeteredProduction,
    EnvoyMeterReading,
    EnvoyProduction,
)
from .parsing import (
    MAX_INFO_BYTES,
    PATH_INFO,
    PATH_INFO_FALLBACK,
    PATH_INVERTERS,
    PATH_PRODUCTION,
    SkippedRecords,
    parse_info,
    parse_inverters,
    parse_production,
)
from .production_json import PATH_PRODUCTION_JSON_DETAILS, parse_production_json
from .transport import DEFAULT_TIMEOUT, EnvoyTransport

_LOGGER = logging.getLogger(__name__)

FIRMWARE_7_MESSAGE: Final = (
    "firmware {firmware} uses token authentication (firmware 7 and later); "
    "use Home Assistant's built-in Enphase Envoy integration for it"
)


class EnvoyClient:
    """Reads an Envoy on legacy firmware over its local HTTP API.

    Protected endpoints are read as the owner's user (``credentials``) or else as the first
    of the users derived from the serial that the Envoy accepts (transport.py). That user is
    kept across restarts (:attr:`auth_state`, :meth:`restore_auth`).
    """

    def __init__(
        self,
        host: str,
        serial: str,
        session: aiohttp.ClientSession,
        *,
        credentials: tuple[str, str] | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        name: str = "The Envoy",
    ) -> None:
        """Create a client; raise EnvoyHostError when ``host`` is not an address.

        ``credentials``: the (user, password) the Envoy's owner set, used instead of the
        users derived from the serial. ``name``: how the log names this Envoy (never its
        serial, whose last six characters are its password).
        """
        self._transport = EnvoyTransport(
            host,
            serial,
            session,
            credentials=credentials,
            request_timeout=request_timeout,
            name=name,
        )
        self._serial = serial
        # What the last inverter list had malformed (records skipped, fields), to log it once.
        self._skipped: tuple[int, tuple[str, ...]] | None = None
        # Whether the last inverter list carried the Envoy's own serial, to say it once.
        self._lists_envoy = False

    @property
    def url(self) -> str:
        """Return the base URL of the Envoy."""
        return self._transport.url

    @property
    def user(self) -> str:
        """Return the user the Envoy accepts (the first one to try, until one is proven)."""
        return self._transport.user

    @property
    def connection_close(self) -> bool:
        """Return whether requests ask the Envoy to close the connection after answering."""
        return self._transport.connection_close

    @property
    def auth_state(self) -> dict[str, object] | None:
        """Return what to keep across restarts (JSON-safe, never a password), or None."""
        return self._transport.auth_state

    def restore_auth(self, state: Mapping[str, object] | None) -> None:
        """Start from a saved :attr:`auth_state` (anything malformed is ignored)."""
        self._transport.restore_auth(state)

    async def info(self) -> EnvoyInfo:
        """Read ``/info.xml``, or ``/info`` where that is missing (404).

        No more than MAX_INFO_BYTES of either is read (EnvoyBadDataError beyond). Raise
        EnvoyUnsupportedFirmwareError on token firmware.
        """
        path = PATH_INFO
        reply = await self._transport.get(path, limit=MAX_INFO_BYTES)
        if reply.status == HTTPStatus.NOT_FOUND:
            path = PATH_INFO_FALLBACK
            reply = await self._transport.get(path, limit=MAX_INFO_BYTES)
        if reply.status != HTTPStatus.OK:
            raise EnvoyConnectionError(f"{path} answered HTTP {reply.status}")
        info = parse_info(reply.body)
        if info.uses_tokens:
            raise EnvoyUnsupportedFirmwareError(FIRMWARE_7_MESSAGE.format(firmware=info.firmware))
        return info

    async def detect_meters(
        self,
        imeter: bool | None,  # noqa: FBT001 - the identity's value, never a literal
    ) -> tuple[EnvoyMeter, ...]:
        """Return the Envoy's CT meters, to call once at setup and keep (empty: none).

        ``imeter``: the identity's (:attr:`EnvoyInfo.imeter`). No request when it is False
        (an Envoy without CTs); otherwise one read of :meth:`meters`. An empty result
        means: do not read the meter endpoints of this Envoy.
        """
        if imeter is False:
            return ()
        return await self.meters() or ()

    async def meters(self) -> tuple[EnvoyMeter, ...] | None:
        """Read ``/ivp/meters``: the meters (``[]``: none), or None when no list came.

        An Envoy without meters answers 401, 404 or an HTML page there; so may a glitch:
        what None means is the caller's to judge (what it knows of the Envoy).
        """
        body = await self._transport.get_optional(PATH_METERS)
        return None if body is None else parse_meters(body)

    async def meter_readings(self) -> dict[int, EnvoyMeterReading] | None:
        """Read ``/ivp/meters/readings`` by meter ``eid``; None when no list came (as meters)."""
        body = await self._transport.get_optional(PATH_METER_READINGS)
        return None if body is None else parse_meter_readings(body)

    async def production_json(self) -> EnvoyMeteredProduction | None:
        """Read ``/production.json`` (with its phases); None when the Envoy has none."""
        body = await self._transport.get_optional(PATH_PRODUCTION_JSON_DETAILS)
        return None if body is None else parse_production_json(body)

    async def production(self) -> EnvoyProduction:
        """Read the site totals."""
        return parse_production(await self._transport.get_api(PATH_PRODUCTION))

    async def inverters(self) -> dict[str, EnvoyInverter]:
        """Read every microinverter's last report, without the malformed records.

        Malformed records are skipped (see :func:`parse_inverters`) with one warning that
        names the fields and counts the records; while the same fields of as many records
        stay malformed, later reads say so at debug level only, and one info line says when
        every record is whole again. A record carrying the Envoy's own serial is left out
        too, said once at debug level while the list carries it. No value of a record goes
        into the log, nor the serial.
        """
        body = await self._transport.get_api(PATH_INVERTERS)
        listed = parse_inverters(body, self._serial)
        self._log_skipped(listed.skipped)
        if listed.lists_envoy and not self._lists_envoy:
            _LOGGER.debug(
                "%s lists a record with the Envoy's own serial: it is no microinverter and is "
                "left out",
                PATH_INVERTERS,
            )
        self._lists_envoy = listed.lists_envoy
        return listed.inverters

    def _log_skipped(self, skipped: SkippedRecords | None) -> None:
        """Log the malformed records of an inverter list, once while they stay the same."""
        seen = None if skipped is None else (skipped.skipped, skipped.fields)
        if skipped is None:
            if self._skipped is not None:
                _LOGGER.info("%s: every inverter record is well-formed again", PATH_INVERTERS)
        elif seen == self._skipped:
            _LOGGER.debug(
                "%s: still skipping %d malformed records", PATH_INVERTERS, skipped.skipped
            )
        else:
            _LOGGER.warning(
                "%s: skipped %d of %d inverter records for a malformed %s (the first is "
                "record %d of the list); the other inverters are read as usual",
                PATH_INVERTERS,
                skipped.skipped,
                skipped.listed,
                ", ".join(skipped.fields),
                skipped.first + 1,
            )
        self._skipped = seen

    async def update(self) -> EnvoyData:
        """Read the site totals and the microinverters."""
        production = await self.production()
        inverters = await self.inverters()
        return EnvoyData(production=production, inverters=inverters)
