"""HTTP to an Envoy: Digest auth (aiohttp's middleware), and Envoys that reset connections.

Once a user's ``DigestAuthMiddleware`` knows the Envoy's challenge it sends the
``Authorization`` header preemptively, so a read is one round trip. The user the Envoy
accepted, and whether it needs ``Connection: close``, survive a restart when the caller
restores the state it saved (``auth_state`` / ``restore_auth``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final, NamedTuple

import aiohttp
from aiohttp import DigestAuthMiddleware, hdrs
from aiohttp.client_middleware_digest_auth import CHALLENGE_FIELDS, parse_header_pairs

from .addressing import base_url
from .credentials import derived_credentials
from .exceptions import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyConnectionError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)

_LOGGER = logging.getLogger(__name__)

# A healthy Envoy answers in well under two seconds; a busy one (many microinverters, a
# report burst being processed) can take several. Ten seconds per request keeps a poll
# bounded without giving up on a slow but working box.
DEFAULT_TIMEOUT: Final = 10.0

# The largest legitimate answer is the inverter list: about 140 bytes per microinverter, so
# 1,000 inverters stay under 150 KiB. Anything beyond 1 MiB is not an Envoy API answer, and
# reading it would only cost memory.
MAX_BODY_BYTES: Final = 1024 * 1024


class Reply(NamedTuple):
    """An answer: its status, its body (for 200 only) and its ``WWW-Authenticate`` value."""

    status: int
    body: bytes
    challenge: str


def _answered_by_middleware(www_authenticate: str) -> bool:
    """Return whether DigestAuthMiddleware answers a 401 with this ``WWW-Authenticate`` value.

    The middleware's own test (``DigestAuthMiddleware._authenticate``), made of its public
    parser: the Digest scheme with at least one challenge parameter it knows. What it does
    not answer (R3.9.36's garbled header, another scheme) no user can answer.
    """
    scheme, separator, params = www_authenticate.partition(" ")
    if not separator or scheme.lower() != "digest":
        return False
    pairs = parse_header_pairs(params)
    return any(name in pairs for name in CHALLENGE_FIELDS)


class EnvoyTransport:
    """Sends the client's GETs to one Envoy, signed in as the first user it accepts.

    Without ``credentials`` the users Enphase derives from the serial are tried in turn
    (credentials.py), and whichever the Envoy accepted is kept; with ``credentials`` that
    user only. One Digest middleware per user, passed with each request on the injected
    session; only a 401 to the middleware's answer refuses the user.

    An Envoy that resets a kept-alive connection (Envoy-R after a challenge) costs one more
    request, which aiohttp sends again on a new connection; every request then asks the
    Envoy to close the connection after answering (:attr:`connection_close`).
    """

    def __init__(
        self,
        host: str,
        serial: str,
        session: aiohttp.ClientSession,
        *,
        credentials: tuple[str, str] | None,
        request_timeout: float,
        name: str,
    ) -> None:
        """Create a transport; raise EnvoyHostError when ``host`` is not an address."""
        self._name = name
        self._base = base_url(host)
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._credentials: list[tuple[str, str]] = (
            [(credentials[0], credentials[1])]
            if credentials is not None
            else derived_credentials(serial)
        )
        # One Digest middleware per user, made on first use: each keeps its own challenge.
        self._middlewares: dict[str, DigestAuthMiddleware] = {}
        # Whether the first user answered a challenge with success (or was restored).
        self._accepted = False
        # The paths that answered 401: only a 200 from one of those proves that the Envoy
        # accepted the user (the production endpoint is open on most firmware).
        self._protected: set[str] = set()
        # Whether every request asks the Envoy to close the connection after answering, and
        # whether the current request saw a kept-alive connection reset.
        self._connection_close = False
        self._reset = False

    @property
    def url(self) -> str:
        """Return the base URL of the Envoy."""
        return str(self._base)

    @property
    def user(self) -> str:
        """Return the user the Envoy accepts (the first one to try, until one is proven)."""
        return self._credentials[0][0]

    @property
    def connection_close(self) -> bool:
        """Return whether requests ask the Envoy to close the connection after answering.

        Off at first; on for good once the Envoy reset a kept-alive connection that a new
        connection then got an answer on (or when restored so).
        """
        return self._connection_close

    @property
    def auth_state(self) -> dict[str, object] | None:
        """Return what to keep across restarts, for :meth:`restore_auth`.

        JSON-safe: ``connection_close`` (bool) and, once the Envoy accepted a user (or one
        was restored), ``user``; never a password or anything of the challenge. None while
        there is nothing to keep (no user proven, keep-alive on).
        """
        if not self._accepted and not self._connection_close:
            return None
        state: dict[str, object] = {"connection_close": self._connection_close}
        if self._accepted:
            state["user"] = self.user
        return state

    def restore_auth(self, state: Mapping[str, object] | None) -> None:
        """Start from a saved :attr:`auth_state`: the accepted user is tried first.

        Also takes the state earlier releases stored (the user and the Digest challenge):
        the user is taken, the rest ignored. Anything malformed, or a user this client does
        not know, is ignored silently.
        """
        if not isinstance(state, Mapping):
            return
        if state.get("connection_close") is True:
            self._connection_close = True
        user = state.get("user")
        known = [login for login, _ in self._credentials]
        if not isinstance(user, str) or user not in known:
            return
        self._credentials.insert(0, self._credentials.pop(known.index(user)))
        self._accepted = True

    def _middleware(self) -> DigestAuthMiddleware:
        """Return the Digest middleware of the first user (made on first use)."""
        login, password = self._credentials[0]
        if (middleware := self._middlewares.get(login)) is None:
            try:
                middleware = DigestAuthMiddleware(login, password)
            except ValueError as err:  # a colon in the user, text that is not Unicode
                raise EnvoyAuthenticationError(
                    f"user {login!r} cannot sign in with HTTP Digest: {type(err).__name__}"
                ) from err
            self._middlewares[login] = middleware
        return middleware

    async def get(self, path: str, *, limit: int = MAX_BODY_BYTES) -> Reply:
        """GET a path without credentials (a page every Envoy serves openly).

        A body of more than ``limit`` bytes is EnvoyBadDataError, read no further.
        """
        return await self._get(path, None, limit)

    async def get_api(self, path: str) -> bytes:
        """GET an API path, authenticating with the first user the Envoy accepts.

        The middleware answers a challenge at most once per request; a 401 that comes back
        from it refuses the user, and the next user (if any) gets the same chance.
        """
        refused = 0
        while True:
            reply = await self._get(path, self._middleware(), MAX_BODY_BYTES)
            if reply.status == HTTPStatus.OK:
                if path in self._protected:
                    self._accepted = True
                return reply.body
            if reply.status == HTTPStatus.NOT_FOUND:
                raise EnvoyUnsupportedFirmwareError(
                    f"{path} does not exist on this Envoy (it needs firmware 3.9 or later)"
                )
            if reply.status != HTTPStatus.UNAUTHORIZED:
                raise EnvoyConnectionError(f"{path} answered HTTP {reply.status}")
            if not _answered_by_middleware(reply.challenge):
                # No user can answer a challenge that is not there (seen on R3.9.36).
                # The header itself stays out of the message: it holds the Envoy's nonce.
                if reply.challenge.lower().startswith("digest"):
                    raise EnvoyAuthenticationError(
                        f"{path} answered 401 with a Digest challenge this client cannot answer"
                    )
                raise EnvoyAuthenticationError(f"{path} answered 401 without a Digest challenge")
            _LOGGER.debug("%s refused user %s", path, self.user)
            self._accepted = False
            # Move the refused user to the back; the next one gets its own try.
            self._credentials.append(self._credentials.pop(0))
            refused += 1
            if refused == len(self._credentials):
                users = " or ".join(login for login, _ in self._credentials)
                raise EnvoyAuthenticationError(f"the Envoy refused user {users} on {path}")

    async def get_optional(self, path: str) -> bytes | None:
        """GET an endpoint some firmware lacks: None when it answers 401 or 404.

        Sent with the Digest credentials of the inverters (the accepted user); a 401 that
        comes back refuses no user: the endpoint is not there for this Envoy.
        """
        reply = await self._get(path, self._middleware(), MAX_BODY_BYTES)
        if reply.status == HTTPStatus.OK:
            if path.partition("?")[0] in self._protected:
                self._accepted = True
            return reply.body
        if reply.status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            return None
        raise EnvoyConnectionError(f"{path} answered HTTP {reply.status}")

    async def _observe(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """Note each request sent (inside the Digest middleware): resets and challenges.

        A connection the Envoy reset (not one it refused) is noted: aiohttp sends the
        request once more on a new connection, and if that one is answered, the Envoy is
        one that resets kept-alive connections.
        """
        try:
            response = await handler(request)
        except aiohttp.ClientConnectorError:
            raise
        except aiohttp.ServerDisconnectedError, aiohttp.ClientOSError:
            self._reset = True
            raise
        if response.status == HTTPStatus.UNAUTHORIZED:
            self._protected.add(request.url.path)
        return response

    async def _get(self, path: str, digest: DigestAuthMiddleware | None, limit: int) -> Reply:
        """GET a path; return the status, the body for 200 (``limit`` bytes at most), the challenge.

        When the Envoy reset a connection and the request failed anyway (aiohttp's one new
        try went to a kept-alive connection too: the middleware's answer to a challenge), it
        is sent once more with ``Connection: close``; if that fails too, it was an outage,
        not the Envoy's way with kept-alive connections.
        """
        self._reset = False
        try:
            return await self._send(path, digest, limit)
        except EnvoyConnectionError:
            if not self._reset or self._connection_close:
                raise
        self._connection_close = True
        try:
            reply = await self._send(path, digest, limit)
        except EnvoyConnectionError:
            self._connection_close = False
            raise
        self._said_close(path)
        return reply

    def _said_close(self, path: str) -> None:
        """Say once, when it happens, that every request now asks for Connection: close.

        A restored ``connection_close`` (restore_auth) was said before: it is not said again.
        """
        _LOGGER.info(
            "%s resets kept-alive connections (%s): every request now asks it to close the "
            "connection after answering",
            self._name,
            path,
        )

    async def _send(self, path: str, digest: DigestAuthMiddleware | None, limit: int) -> Reply:
        """Send one GET (and what aiohttp and the middleware send again) and read the reply."""
        path, _, query = path.partition("?")
        url = self._base.with_path(path).with_query(query)
        headers = {hdrs.CONNECTION: "close"} if self._connection_close else None
        middlewares = (self._observe,) if digest is None else (digest, self._observe)
        try:
            async with self._session.get(
                url,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                middlewares=middlewares,
            ) as response:
                if self._reset and not self._connection_close:
                    # aiohttp sent the request again on a new connection, and got an answer.
                    self._connection_close = True
                    self._said_close(path)
                challenge = response.headers.get(hdrs.WWW_AUTHENTICATE, "")
                if response.status != HTTPStatus.OK:
                    return Reply(response.status, b"", challenge)
                return Reply(response.status, await _read_capped(response, path, limit), challenge)
        except TimeoutError as err:
            raise EnvoyTimeoutError(f"{path}: no answer within {self._timeout.total} s") from err
        except aiohttp.ClientConnectorDNSError as err:
            raise EnvoyHostError(f"{self._base.host} does not resolve: {err}") from err
        except aiohttp.ClientError as err:
            if type(err) is aiohttp.ClientError:  # what DigestAuthMiddleware raises
                raise EnvoyAuthenticationError(
                    f"{path}: this client cannot answer the Envoy's Digest challenge: {err}"
                ) from err
            raise EnvoyConnectionError(f"{path}: {err or type(err).__name__}") from err
        except ValueError as err:
            # A challenge value that cannot go back into a header (bytes that were not
            # UTF-8, a line break): UnicodeEncodeError or ValueError from the middleware or
            # from aiohttp writing its Authorization header.
            raise EnvoyAuthenticationError(
                f"{path}: this client cannot answer the Envoy's Digest challenge "
                f"({type(err).__name__})"
            ) from err


async def _read_capped(response: aiohttp.ClientResponse, path: str, limit: int) -> bytes:
    """Read a body, refusing anything larger than ``limit`` bytes."""
    if (response.content_length or 0) > limit:
        raise EnvoyBadDataError(
            f"{path} announced {response.content_length} bytes, more than {limit}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise EnvoyBadDataError(f"{path} sent more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
