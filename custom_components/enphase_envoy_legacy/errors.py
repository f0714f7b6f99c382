"""What a failed request to the Envoy means, said without anything secret.

The client's messages are for developers: they may hold the Envoy's address, the Digest
challenge or what the Envoy sent. The serial's last six characters are the Envoy's password,
and users paste their logs into public bug reports, so what the integration logs at WARNING
and above and shows in its UI is a reason instead: a translation key, translated into the
user's language (``translations/*.json``). The client's own message goes to DEBUG only.

``reason`` says what a client error means; ``translated`` turns it into the Home Assistant
exception the coordinator raises (UpdateFailed, ConfigEntryError, ConfigEntryAuthFailed).
This module has no Home Assistant imports: any exception class that takes a translation
will do.
"""

from __future__ import annotations

import errno
from enum import StrEnum
from typing import Protocol

import aiohttp

from .const import DOMAIN, LOGGER
from .envoy_client import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)

_REFUSED = frozenset({errno.ECONNREFUSED})
_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})
_LOST = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE})


class Reason(StrEnum):
    """Why a request failed; each value is a translation key (config errors, exceptions)."""

    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    HOST_UNREACHABLE = "host_unreachable"
    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_LOST = "connection_lost"
    HTTP_ERROR = "http_error"
    CANNOT_CONNECT = "cannot_connect"
    INVALID_RESPONSE = "invalid_response"
    INVALID_AUTH = "invalid_auth"
    UNSUPPORTED_FIRMWARE = "unsupported_firmware"


def reason(err: EnvoyError) -> Reason:
    """Return what a client error means, from its kind and the network error behind it."""
    if isinstance(err, EnvoyTimeoutError):
        return Reason.TIMEOUT
    if isinstance(err, EnvoyHostError):
        return Reason.HOST_NOT_FOUND
    if isinstance(err, EnvoyAuthenticationError):
        return Reason.INVALID_AUTH
    if isinstance(err, EnvoyUnsupportedFirmwareError):
        return Reason.UNSUPPORTED_FIRMWARE
    if isinstance(err, EnvoyBadDataError):
        return Reason.INVALID_RESPONSE
    return _network_reason(err.__cause__)


class Translatable[E: Exception](Protocol):
    """An exception class raised with a translation (Home Assistant's exceptions)."""

    def __call__(self, *, translation_domain: str, translation_key: str) -> E:
        """Return the exception."""


def translated[E: Exception](kind: Translatable[E], err: EnvoyError) -> E:
    """Return an exception of ``kind`` saying what a client error means, in translation.

    Home Assistant logs the message of a failed poll at ERROR: it names the reason only,
    never the client's own message, which may hold the Envoy's address or its challenge.
    That message goes to DEBUG.
    """
    LOGGER.debug("Envoy request failed: %s", err)
    return kind(translation_domain=DOMAIN, translation_key=reason(err))


def _network_reason(cause: BaseException | None) -> Reason:
    """Return the reason for a connection error, from the exception that caused it."""
    if cause is None:
        # The client raises a connection error of its own only for an HTTP error status.
        return Reason.HTTP_ERROR
    if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return Reason.CONNECTION_LOST
    code = cause.errno if isinstance(cause, OSError) else None
    if code in _REFUSED:
        return Reason.CONNECTION_REFUSED
    if code in _UNREACHABLE:
        return Reason.HOST_UNREACHABLE
    if code in _LOST:
        return Reason.CONNECTION_LOST
    return Reason.CANNOT_CONNECT
