"""Where an Envoy is, and the passwords Enphase derives from its serial.

``base_url`` turns the host a user typed into the Envoy's base URL (or refuses it);
``installer_password`` derives a user's password from the serial, as Enphase publishes it.
No Home Assistant imports; no request is made here.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Final

from yarl import URL

from .exceptions import EnvoyHostError


def installer_password(serial: str, user: str = "installer") -> str:
    """Return the password Enphase derives from the Envoy serial for a user.

    The published derivation: take the MD5 hex digest of
    ``[e]<user>@enphaseenergy.com#<serial> EnPhAsE eNeRgY ``, count its ``0`` and ``1``
    digits, then walk its last eight digits from the end. Every ``0`` becomes a letter
    counted up from ``f`` and every ``1`` one counted up from ``@``, by the number of those
    digits still to come (with the counts nudged off 3, 6, 9 and 9, 15, and capped at 20 and
    26); other digits stay as they are.
    """
    seed = f"[e]{user}@enphaseenergy.com#{serial} EnPhAsE eNeRgY "
    digest = hashlib.md5(seed.encode()).hexdigest()  # noqa: S324 - Enphase's derivation
    zeros = digest.count("0")
    ones = digest.count("1")
    password = []
    for digit in reversed(digest[-8:]):
        if zeros in (3, 6, 9):
            zeros -= 1
        zeros = min(zeros, 20)
        if ones in (9, 15):
            ones -= 1
        ones = min(ones, 26)
        if digit == "0":
            password.append(chr(ord("f") + zeros))
            zeros -= 1
        elif digit == "1":
            password.append(chr(ord("@") + ones))
            ones -= 1
        else:
            password.append(digit)
    return "".join(password)


def base_url(host: str) -> URL:
    """Return the base URL for a host typed by a user.

    Accepts an IPv4 address, an IPv6 address (bare or in brackets), or a host name, each
    optionally with ``:port``, and tolerates a leading ``http://`` and a trailing slash.
    """
    value = host.strip()
    if value.lower().startswith("http://"):
        value = value[len("http://") :]
    value = value.rstrip("/")
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


def credentials_of(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return the username and password an entry's data holds, if the user gave them."""
    if "username" in data and "password" in data:
        return str(data["username"]), str(data["password"])
    return None
