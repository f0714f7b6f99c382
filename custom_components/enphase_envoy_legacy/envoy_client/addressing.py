"""Where an Envoy is: the host a user typed, as an address (``host_address``) and a URL."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import Final

from yarl import URL

from .exceptions import EnvoyHostError


def host_address(host: str) -> str:
    """Return the address alone of a host typed by a user, as it is to be kept.

    What :func:`base_url` accepts, without the spaces, the leading ``http://`` and the
    trailing slashes it tolerates; raise EnvoyHostError for anything else.
    """
    base_url(host)
    return _without_scheme(host)


def _without_scheme(host: str) -> str:
    """Return a typed host without spaces around it, a leading ``http://``, trailing slashes."""
    value = host.strip()
    if value.lower().startswith("http://"):
        value = value[len("http://") :]
    return value.rstrip("/")


def base_url(host: str) -> URL:
    """Return the base URL for a host typed by a user.

    Accepts an IPv4 address, an IPv6 address (bare or in brackets), or a host name, each
    optionally with ``:port``, and tolerates a leading ``http://`` and a trailing slash.
    """
    value = _without_scheme(host)
    if not value or any(char in value for char in "/?#@ \t\\"):
        raise EnvoyHostError(f"{host!r} is not a host name or address")
    with contextlib.suppress(ValueError):  # anything but a bare IPv6 address goes on as it is
        value = f"[{ipaddress.IPv6Address(value)}]"
    try:
        url = URL(f"http://{value}/")
        url.port  # noqa: B018 - yarl validates the port lazily
    except ValueError as err:
        raise EnvoyHostError(f"{host!r} is not a host name or address: {err}") from err
    if not _is_address(url.raw_host or ""):
        raise EnvoyHostError(f"{host!r} is not a host name or address")
    return url


_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def _is_address(host: str) -> bool:
    """Return True for an IP address or a syntactically valid host name."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return True
    labels = host.removesuffix(".").split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels)
