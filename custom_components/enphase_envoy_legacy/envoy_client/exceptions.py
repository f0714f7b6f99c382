"""Exceptions raised by the Envoy client."""

from __future__ import annotations


class EnvoyError(Exception):
    """Base class for every error the Envoy client raises."""


class EnvoyConnectionError(EnvoyError):
    """The Envoy could not be reached, or answered with an HTTP error."""


class EnvoyHostError(EnvoyConnectionError):
    """The host is not a valid address, or its name does not resolve."""


class EnvoyTimeoutError(EnvoyConnectionError):
    """The Envoy did not answer in time."""


class EnvoyAuthenticationError(EnvoyError):
    """The Envoy refused every user this client knows."""


class EnvoyBadDataError(EnvoyError):
    """The Envoy answered with something that is not what the API promises."""


class EnvoyUnsupportedFirmwareError(EnvoyError):
    """The Envoy runs firmware this client cannot talk to (token auth, or too old)."""
