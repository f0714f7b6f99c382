"""Who the client signs in as: the owner's credentials, or the users Enphase derives.

An entry's data keeps the owner's credentials under "username" and "password", the values
of Home Assistant's CONF_USERNAME and CONF_PASSWORD (the client does not import it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

USERNAME: Final = "username"
PASSWORD: Final = "password"  # noqa: S105 - the key, not a password


def credentials_of(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return the username and password an entry's data holds, if the user gave them."""
    if USERNAME in data and PASSWORD in data:
        return str(data[USERNAME]), str(data[PASSWORD])
    return None


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


def derived_credentials(serial: str) -> list[tuple[str, str]]:
    """Return the users to try without the owner's credentials, in order, with passwords.

    ``envoy`` (the serial's last six characters), then ``installer`` (derived from it).
    """
    return [("envoy", serial[-6:]), ("installer", installer_password(serial))]
