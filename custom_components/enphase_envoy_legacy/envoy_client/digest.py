"""HTTP Digest authentication (RFC 7616, RFC 2617) as legacy Envoys speak it.

Envoys protect ``/api/v1/production/inverters`` with Digest: realm ``enphaseenergy.com``,
qop ``auth``, algorithm MD5 (the default). This module covers what Envoys and the servers
like them use, no more: algorithms ``MD5`` and ``MD5-sess``, qop ``auth`` or no qop at all
(RFC 2069 style), an ``opaque`` value echoed back, the nonce count ``nc`` and a fresh random
client nonce on every request.

It parses a ``WWW-Authenticate`` header into a :class:`DigestChallenge` (``None`` when the
header holds nothing a client could answer) and builds the ``Authorization`` header for one
request. The nonce count is the caller's to keep: it must grow by one with every request sent
with the same nonce (see ``EnvoyClient`` for how it survives a restart).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

ALGORITHM_MD5: Final = "MD5"
ALGORITHM_MD5_SESS: Final = "MD5-sess"
QOP_AUTH: Final = "auth"

# The nonce count is eight hexadecimal digits.
NC_MAX: Final = 0xFFFFFFFF

_ALGORITHMS: Final = {"md5": ALGORITHM_MD5, "md5-sess": ALGORITHM_MD5_SESS}

# RFC 9110 token, and the token68 some schemes (not Digest) put right after their name.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*(?=[ \t\r\n]*(?:,|$))")
# A quoted string: anything but a quote, a backslash or a control character, and
# backslash-escaped pairs (obs-text, beyond ASCII, is let through). Lone surrogates stand for
# bytes that are not UTF-8 (aiohttp decodes headers with surrogateescape): a value holding
# one could neither be hashed nor sent back, so it does not parse.
_QUOTED: Final = re.compile(
    r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]|\\[^\x00-\x08\x0a-\x1f\x7f\ud800-\udfff])*)"'
)
_UNESCAPE: Final = re.compile(r"\\(.)")
# Line breaks count as spaces: a header folded over lines (obs-fold) reads as one line.
_SPACE: Final = " \t\r\n"
_SEPARATORS: Final = " \t\r\n,"
# Nothing that goes back into a header may hold a control character (but a tab), nor a lone
# surrogate (a byte that was not UTF-8: it cannot be encoded again).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - what Digest MD5 is


def _quote(value: str) -> str:
    """Return a value as an HTTP quoted string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestChallenge:
    """A Digest challenge a client can answer.

    ``qop`` is ``"auth"`` (what Envoys send) or ``None`` (the server asked for no quality of
    protection, as RFC 2069 servers do); ``algorithm`` is ``"MD5"`` or ``"MD5-sess"``; other
    values raise ValueError. ``stale`` is the flag of the header the challenge was parsed
    from (the server refused the nonce, not the user): it describes one answer, so it is
    neither compared nor kept by :meth:`as_dict`.
    """

    realm: str
    nonce: str
    qop: str | None = None
    opaque: str | None = None
    algorithm: str = ALGORITHM_MD5
    stale: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse a qop or an algorithm this module cannot answer."""
        if self.qop not in (None, QOP_AUTH):
            raise ValueError(f"qop {self.qop!r} is not {QOP_AUTH!r} or None")
        if self.algorithm not in (ALGORITHM_MD5, ALGORITHM_MD5_SESS):
            raise ValueError(f"algorithm {self.algorithm!r} is not MD5 or MD5-sess")

    def as_dict(self) -> dict[str, str]:
        """Return the challenge as JSON-safe strings (``qop`` and ``opaque`` when set)."""
        data = {"realm": self.realm, "nonce": self.nonce, "algorithm": self.algorithm}
        if self.qop is not None:
            data["qop"] = self.qop
        if self.opaque is not None:
            data["opaque"] = self.opaque
        return data

    @classmethod
    def from_dict(cls, data: object) -> DigestChallenge | None:
        """Return the challenge :meth:`as_dict` gave, or None for anything malformed.

        Keys other than the challenge's own are ignored.
        """
        if not isinstance(data, Mapping):
            return None
        realm = data.get("realm")
        nonce = data.get("nonce")
        qop = data.get("qop")
        opaque = data.get("opaque")
        algorithm = data.get("algorithm", ALGORITHM_MD5)
        if (
            not isinstance(realm, str)
            or not isinstance(nonce, str)
            or not nonce
            or qop not in (None, QOP_AUTH)
            or not (opaque is None or isinstance(opaque, str))
            or not isinstance(algorithm, str)
            or algorithm.lower() not in _ALGORITHMS
            or any(_CONTROL.search(value) for value in (realm, nonce, opaque or ""))
        ):
            return None
        return cls(
            realm=realm,
            nonce=nonce,
            qop=qop,
            opaque=opaque,
            algorithm=_ALGORITHMS[algorithm.lower()],
        )

    def authorization(
        self,
        *,
        username: str,
        password: str,
        method: str,
        uri: str,
        nc: int,
        cnonce: str | None = None,
    ) -> str:
        """Return the ``Authorization`` header value answering this challenge.

        ``uri`` is the request target as sent (path and query); ``nc`` the count of requests
        sent with this nonce, this one included (1 for the first). ``cnonce`` is a fresh
        random value unless given (tests give one to reproduce known answers).

        With ``MD5-sess`` the session key is computed with the client nonce of the same
        request (as the clients in use do), so every request stands on its own. Without qop
        the client nonce is only sent for ``MD5-sess``, which needs it.
        """
        if not 1 <= nc <= NC_MAX:
            raise ValueError(f"nonce count {nc} is not between 1 and {NC_MAX}")
        if _CONTROL.search(username) or _CONTROL.search(uri):
            raise ValueError("the user and the URI cannot hold control characters")
        if cnonce is None:
            cnonce = secrets.token_hex(8)
        count = f"{nc:08x}"
        ha1 = _md5(f"{username}:{self.realm}:{password}")
        if self.algorithm == ALGORITHM_MD5_SESS:
            ha1 = _md5(f"{ha1}:{self.nonce}:{cnonce}")
        ha2 = _md5(f"{method}:{uri}")
        if self.qop is not None:
            response = _md5(f"{ha1}:{self.nonce}:{count}:{cnonce}:{self.qop}:{ha2}")
        else:
            response = _md5(f"{ha1}:{self.nonce}:{ha2}")
        # algorithm, qop and nc are tokens (unquoted), as RFC 7616 writes them.
        parts = [
            f"username={_quote(username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(uri)}",
            f"algorithm={self.algorithm}",
            f"response={_quote(response)}",
        ]
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop is not None:
            parts += [f"qop={self.qop}", f"nc={count}", f"cnonce={_quote(cnonce)}"]
        elif self.algorithm == ALGORITHM_MD5_SESS:
            parts.append(f"cnonce={_quote(cnonce)}")
        return "Digest " + ", ".join(parts)


def _skip(chars: str, header: str, pos: int) -> int:
    """Return the position of the first character from pos on that is not one of chars."""
    while pos < len(header) and header[pos] in chars:
        pos += 1
    return pos


def _param_value(header: str, pos: int) -> tuple[str, int] | None:
    """Read a token or a quoted string at pos; return it unescaped and the position after it."""
    if (quoted := _QUOTED.match(header, pos)) is not None:
        return _UNESCAPE.sub(r"\1", quoted.group(1)), quoted.end()
    if (token := _TOKEN.match(header, pos)) is not None:
        return token.group(), token.end()
    return None


def _challenges(header: str) -> list[tuple[str, dict[str, str]]] | None:
    """Split a ``WWW-Authenticate`` value into its challenges: scheme and parameters.

    Scheme and parameter names come back in lower case. Returns None when the value does not
    follow the grammar (RFC 9110 section 11.6.1), or names a parameter twice.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    pos = _skip(_SEPARATORS, header, 0)
    while pos < len(header):
        if (token := _TOKEN.match(header, pos)) is None:
            return None
        name = token.group().lower()
        after = _skip(_SPACE, header, token.end())
        if after < len(header) and header[after] == "=":
            if params is None or name in params:
                return None
            if (value := _param_value(header, _skip(_SPACE, header, after + 1))) is None:
                return None
            params[name], pos = value
        else:
            params = {}
            challenges.append((name, params))
            pos = after
            if (token68 := _TOKEN68.match(header, pos)) is not None:
                pos = token68.end()
        pos = _skip(_SEPARATORS, header, pos)
    return challenges


def _digest_challenge(params: dict[str, str]) -> DigestChallenge | None:
    """Return the Digest challenge of these parameters, if this client can answer it."""
    realm = params.get("realm")
    nonce = params.get("nonce")
    algorithm = _ALGORITHMS.get(params.get("algorithm", ALGORITHM_MD5).lower())
    if realm is None or not nonce or algorithm is None:
        return None
    qop: str | None = None
    if "qop" in params:
        if QOP_AUTH not in (option.strip().lower() for option in params["qop"].split(",")):
            return None  # only auth-int: it would need the body of every request hashed
        qop = QOP_AUTH
    return DigestChallenge(
        realm=realm,
        nonce=nonce,
        qop=qop,
        opaque=params.get("opaque"),
        algorithm=algorithm,
        stale=params.get("stale", "").lower() == "true",
    )


def parse_challenge(header: str) -> DigestChallenge | None:
    """Return the first Digest challenge of a ``WWW-Authenticate`` value this client can answer.

    Scheme and parameter names are case-insensitive, values quoted or not; commas and escaped
    quotes inside quoted values are part of them; other schemes offered alongside (``Basic``)
    are skipped. Returns None for a garbled value, a Digest challenge without realm or nonce,
    or one asking for an algorithm or qop other than those this module speaks.
    """
    for scheme, params in _challenges(header) or ():
        if scheme == "digest" and (challenge := _digest_challenge(params)) is not None:
            return challenge
    return None
