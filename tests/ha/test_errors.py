"""What a failed request means (errors.py), and names without the serial (naming.py)."""

from __future__ import annotations

import errno

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyConnectionError,
    EnvoyError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)
from custom_components.enphase_envoy_legacy.errors import Reason, reason
from custom_components.enphase_envoy_legacy.naming import entry_tag, entry_title
from tests.helpers import ENGLISH

KEY = ConnectionKey("envoy.local", 80, False, True, None, None, None)  # noqa: FBT003


def _caused(cause: BaseException) -> EnvoyConnectionError:
    """Return the client's connection error for a network error, chained as the client does."""
    err = EnvoyConnectionError(str(cause))
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (EnvoyTimeoutError("no answer"), Reason.TIMEOUT),
        (EnvoyHostError("envoy.local does not resolve"), Reason.HOST_NOT_FOUND),
        (EnvoyAuthenticationError("refused"), Reason.INVALID_AUTH),
        (EnvoyUnsupportedFirmwareError("D7"), Reason.UNSUPPORTED_FIRMWARE),
        (EnvoyBadDataError("html"), Reason.INVALID_RESPONSE),
        (EnvoyConnectionError("/api/v1/production answered HTTP 503"), Reason.HTTP_ERROR),
        (
            _caused(aiohttp.ClientConnectorError(KEY, OSError(errno.ECONNREFUSED, "refused"))),
            Reason.CONNECTION_REFUSED,
        ),
        (
            _caused(aiohttp.ClientConnectorError(KEY, OSError(errno.EHOSTUNREACH, "no route"))),
            Reason.HOST_UNREACHABLE,
        ),
        (
            _caused(aiohttp.ClientConnectorError(KEY, OSError(errno.ENETUNREACH, "no net"))),
            Reason.HOST_UNREACHABLE,
        ),
        (_caused(aiohttp.ClientOSError(errno.ECONNRESET, "reset")), Reason.CONNECTION_LOST),
        (_caused(aiohttp.ServerDisconnectedError()), Reason.CONNECTION_LOST),
        (_caused(aiohttp.ClientPayloadError("cut")), Reason.CONNECTION_LOST),
        (_caused(aiohttp.ClientOSError(errno.EACCES, "denied")), Reason.CANNOT_CONNECT),
        (_caused(aiohttp.InvalidURL("x")), Reason.CANNOT_CONNECT),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_reason(err: EnvoyError, expected: Reason) -> None:
    """Each kind of failure has its reason, and each reason its text in both places."""
    assert reason(err) is expected
    assert ENGLISH["exceptions"][expected]["message"]


ALNUM = st.characters(codec="ascii", categories=["L", "N"])


@given(
    prefix=st.text(ALNUM, min_size=1, max_size=14),
    password=st.text(ALNUM, min_size=6, max_size=6),
    other=st.text(ALNUM, min_size=6, max_size=6),
)
def test_title_reveals_nothing_of_the_password(prefix: str, password: str, other: str) -> None:
    """Two serials that differ only in their last six characters get the same title."""
    assert entry_title(prefix + password) == entry_title(prefix + other)
    assert entry_title(prefix + password).startswith(f"Envoy {prefix}")


def test_tag_is_the_end_of_the_entry_id() -> None:
    """Log lines name an entry by the end of its id."""
    assert entry_tag("01JABCDEFGHJKMNPQRSTVWXYZ0") == "entry VWXYZ0"
