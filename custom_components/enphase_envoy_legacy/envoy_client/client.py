"""Async client for the local API of Enphase Envoys on legacy (pre-7) firmware.

Reads ``/info.xml``, ``/api/v1/production`` and ``/api/v1/production/inverters`` with one
request each: the client answers the Envoy's HTTP Digest challenge itself (``digest.py``) and
sends the ``Authorization`` header preemptively once it knows the challenge, also after a
restart when the caller restores the state it saved (``auth_state`` / ``restore_auth``).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import logging
import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Final, NamedTuple

import aiohttp
from aiohttp import hdrs
from yarl import URL

from .digest import NC_MAX, DigestChallenge, parse_challenge
from .exceptions import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyConnectionError,
    EnvoyHostError,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
)
from .models import EnvoyData, EnvoyInfo, EnvoyInverter, EnvoyProduction

_LOGGER = logging.getLogger(__name__)

PATH_INFO: Final = "/info.xml"
PATH_PRODUCTION: Final = "/api/v1/production"
PATH_INVERTERS: Final = "/api/v1/production/inverters"

# A healthy Envoy answers in well under two seconds; a busy one (many microinverters, a
# report burst being processed) can take several. Ten seconds per request keeps a poll
# bounded without giving up on a slow but working box.
DEFAULT_TIMEOUT: Final = 10.0

# The largest legitimate answer is the inverter list: about 140 bytes per microinverter, so
# 1,000 inverters stay under 150 KiB. Anything beyond 1 MiB is not an Envoy API answer, and
# reading it would only cost memory.
MAX_BODY_BYTES: Final = 1024 * 1024

_PRODUCTION_FIELDS: Final = (
    "wattsNow",
    "wattHoursToday",
    "wattHoursSevenDays",
    "wattHoursLifetime",
)

FIRMWARE_7_MESSAGE: Final = (
    "firmware {firmware} uses token authentication (firmware 7 and later); "
    "use Home Assistant's built-in Enphase Envoy integration for it"
)


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


# What a serial looks like. Every Envoy and microinverter serial seen (the captures, the issue
# threads behind envoy-facts) is 12 digits; letters are let through for other product lines.
# A serial goes into device and entity ids, repair-issue text and the password, so nothing
# but ASCII letters and digits, 1 to 20 of them, is accepted as one.
SERIAL_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,20}")

# JSON's safe integers (RFC 8259, section 6): every integral value the client returns lies in
# this range, so it survives any JSON store, any float conversion and any JavaScript frontend.
MAX_SAFE_INTEGER: Final = 2**53 - 1

# A plausible lastReportDate, in epoch seconds: from 2000-01-01, before any microinverter that
# speaks this API (0 and negative values are no report), to 2100-01-01 (excluded). The upper
# bound refuses dates in milliseconds: those are above 9.4e11 for any date after 2000 (1.7e12
# today). A date in the near future is the Envoy's clock, not a malformed record: the panels
# deal with it, the client passes it on.
REPORT_DATE_MIN: Final = 946_684_800
REPORT_DATE_MAX: Final = 4_102_444_800

# A firmware string or part number longer than this is not an Envoy's.
_MAX_INFO_TEXT: Final = 64
# An error message quotes a value of the answer up to this length (in its repr).
_MAX_DESCRIBED: Final = 40

# The fields of an inverter record, in the order a warning names them; and the name used for
# a record that is not a JSON object at all.
_INVERTER_FIELDS: Final = (
    "serialNumber",
    "lastReportDate",
    "lastReportWatts",
    "maxReportWatts",
    "devType",
)
NOT_AN_OBJECT: Final = "(not an object)"


def _safe(value: int) -> bool:
    """Return True when an int is one of JSON's safe integers."""
    return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _integer(value: object) -> int | None:
    """Return a JSON number as a safe int, or None.

    Floats are accepted when finite and rounded, as the client always did (integral floats
    such as ``-3.0`` are what some JSON encoders write); booleans, strings, None and numbers
    beyond the safe range are not numbers here.
    """
    if type(value) is int:
        return value if _safe(value) else None
    if type(value) is float and math.isfinite(value) and abs(value) <= MAX_SAFE_INTEGER:
        return round(value)
    return None


def _describe(value: object) -> str:
    """Return a value for an error message: short scalars as written, others by type only.

    Keeps a hostile answer (a megabyte string, a deeply nested list) out of messages and logs.
    """
    if value is None or type(value) in (bool, int, float, str):
        text = repr(value)
        if len(text) <= _MAX_DESCRIBED:
            return text
    return f"a {type(value).__name__} value"


def _number(record: dict[str, object], field: str, *, minimum: int | None) -> int:
    """Return an integral field of a JSON record, or raise EnvoyBadDataError."""
    value = record.get(field)
    number = _integer(value)
    if number is not None and (minimum is None or number >= minimum):
        return number
    if number is not None:
        problem = f"below {minimum}"
    elif type(value) is int or (type(value) is float and math.isfinite(value)):
        problem = "beyond JSON's safe integers"
    elif type(value) is float:
        problem = "not a finite number"
    else:
        problem = "not a number"
    raise EnvoyBadDataError(f"field {field!r} is {_describe(value)}, {problem}")


def _error_body(payload: object) -> str | None:
    """Return the message of an Envoy JSON error body (``{"status": 401, ...}``), if it is one."""
    if (
        isinstance(payload, dict)
        and "status" in payload
        and ("error" in payload or "info" in payload)
    ):
        text = payload.get("info") or payload.get("error")
        return f"status {_describe(payload.get('status'))}: {_describe(text)}"
    return None


def parse_json(body: bytes, path: str) -> object:
    """Decode a JSON body, turning HTML pages and garbage into EnvoyBadDataError."""
    text = body.strip()
    if text.startswith(b"<"):
        raise EnvoyBadDataError(f"{path} answered with an HTML page instead of JSON")
    try:
        payload: object = json.loads(text)
    except ValueError as err:
        raise EnvoyBadDataError(f"{path} answered with invalid JSON: {err}") from err
    except RecursionError as err:  # arrays or objects nested deeper than Python recurses
        raise EnvoyBadDataError(f"{path} answered with JSON nested too deeply") from err
    if (message := _error_body(payload)) is not None:
        raise EnvoyBadDataError(f"{path} answered with an error ({message})")
    return payload


def _info_text(root: ET.Element, path: str) -> str | None:
    """Return the stripped text at a path of /info.xml, None when absent or empty.

    Raise EnvoyBadDataError for text no Envoy writes there (too long, or with line breaks or
    other unprintable characters).
    """
    text = (root.findtext(path) or "").strip()
    if len(text) > _MAX_INFO_TEXT or not text.isprintable():
        raise EnvoyBadDataError(f"{PATH_INFO} has a malformed {path.rpartition('/')[2]}")
    return text or None


def parse_info(body: bytes) -> EnvoyInfo:
    """Parse ``/info.xml``."""
    try:
        # The body is capped at MAX_BODY_BYTES and Python's expat refuses entity expansion
        # attacks (billion laughs) since expat 2.4.1: stdlib parsing is safe here. An
        # encoding declaration Python does not know raises LookupError, one that expat cannot
        # use (more than one byte per character, such as UTF-7) ValueError.
        root = ET.fromstring(body)  # noqa: S314
    except (ET.ParseError, LookupError, ValueError) as err:
        raise EnvoyBadDataError(f"{PATH_INFO} is not valid XML: {err}") from err
    serial = _info_text(root, "device/sn")
    firmware = _info_text(root, "device/software")
    if serial is None or firmware is None:
        raise EnvoyBadDataError(f"{PATH_INFO} lacks the serial or firmware of the Envoy")
    if SERIAL_PATTERN.fullmatch(serial) is None:
        raise EnvoyBadDataError(f"{PATH_INFO} has a serial that does not look like one")
    web_tokens = any(
        (element.text or "").strip().lower() == "true" for element in root.iter("web-tokens")
    )
    return EnvoyInfo(
        serial=serial,
        firmware=firmware,
        part_number=_info_text(root, "device/pn"),
        web_tokens=web_tokens,
    )


def parse_production(body: bytes) -> EnvoyProduction:
    """Parse ``/api/v1/production``."""
    payload = parse_json(body, PATH_PRODUCTION)
    if not isinstance(payload, dict):
        raise EnvoyBadDataError(f"{PATH_PRODUCTION} is not a JSON object")
    missing = [field for field in _PRODUCTION_FIELDS if field not in payload]
    if missing:
        raise EnvoyBadDataError(f"{PATH_PRODUCTION} lacks {', '.join(missing)}")
    return EnvoyProduction(
        watts_now=_number(payload, "wattsNow", minimum=None),
        watt_hours_today=_number(payload, "wattHoursToday", minimum=0),
        watt_hours_seven_days=_number(payload, "wattHoursSevenDays", minimum=0),
        watt_hours_lifetime=_number(payload, "wattHoursLifetime", minimum=0),
    )


def _parse_inverter(record: object) -> EnvoyInverter | tuple[str, ...]:
    """Return an inverter record, or the names of its malformed fields."""
    if type(record) is dict:
        # The usual record first (a poll parses hundreds): plain strings and integers.
        serial, date = record.get("serialNumber"), record.get("lastReportDate")
        watts, peak = record.get("lastReportWatts"), record.get("maxReportWatts")
        dev_type = record.get("devType")
        if (
            type(serial) is str
            and SERIAL_PATTERN.fullmatch(serial) is not None
            and type(date) is int
            and REPORT_DATE_MIN <= date < REPORT_DATE_MAX
            and type(watts) is int
            and -MAX_SAFE_INTEGER <= watts <= MAX_SAFE_INTEGER
            and type(peak) is int
            and -MAX_SAFE_INTEGER <= peak <= MAX_SAFE_INTEGER
            and (dev_type is None or (type(dev_type) is int and _safe(dev_type)))
        ):
            return EnvoyInverter(
                serial_number=serial,
                last_report_date=datetime.fromtimestamp(date, UTC),
                last_report_watts=watts,
                max_report_watts=peak,
                dev_type=dev_type,
            )
        return _parse_unusual_inverter(record)
    return (NOT_AN_OBJECT,)


def _inverter_serial(value: object) -> str | None:
    """Return an inverter's serial (a string, or a number as some firmware may write it)."""
    if type(value) is int and 0 <= value <= MAX_SAFE_INTEGER:
        value = str(value)
    if isinstance(value, str) and SERIAL_PATTERN.fullmatch(serial := value.strip()) is not None:
        return serial
    return None


def _parse_unusual_inverter(record: dict[str, object]) -> EnvoyInverter | tuple[str, ...]:
    """Parse an inverter record with unusual types, or return the names of its bad fields."""
    serial = _inverter_serial(record.get("serialNumber"))
    date = _integer(record.get("lastReportDate"))
    if date is not None and not REPORT_DATE_MIN <= date < REPORT_DATE_MAX:
        date = None
    watts = _integer(record.get("lastReportWatts"))
    peak = _integer(record.get("maxReportWatts"))
    raw_type = record.get("devType")
    dev_type = raw_type if type(raw_type) is int and _safe(raw_type) else None
    type_ok = raw_type is None or dev_type is not None
    if (
        serial is not None
        and date is not None
        and watts is not None
        and peak is not None
        and type_ok
    ):
        return EnvoyInverter(
            serial_number=serial,
            last_report_date=datetime.fromtimestamp(date, UTC),
            last_report_watts=watts,
            max_report_watts=peak,
            dev_type=dev_type,
        )
    values = (serial, date, watts, peak, type_ok or None)
    return tuple(
        field for field, value in zip(_INVERTER_FIELDS, values, strict=True) if value is None
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedRecords:
    """The malformed records of an inverter list, left out of what the client returns."""

    skipped: int
    """How many records were skipped."""
    listed: int
    """How many records the list held, the skipped ones included."""
    fields: tuple[str, ...]
    """The malformed fields (``NOT_AN_OBJECT`` for records that are not objects)."""
    first: int
    """The position of the first skipped record in the list, from 0."""


def parse_inverters(body: bytes) -> tuple[dict[str, EnvoyInverter], SkippedRecords | None]:
    """Parse ``/api/v1/production/inverters`` into records by serial number.

    An inverter listed twice keeps its most recent report. A malformed record (a field
    missing or of the wrong type, a number beyond JSON's safe integers, a ``lastReportDate``
    outside ``REPORT_DATE_MIN`` to ``REPORT_DATE_MAX``, a serial that does not match
    ``SERIAL_PATTERN``, a record that is not an object) is skipped and described in the
    second value (None when no record was skipped); the other records are kept.

    A list whose every record is malformed raises EnvoyBadDataError: it is no list of
    inverters at all. Returning it empty would pass for the empty list some firmware answers
    at night, for which the integration keeps the last records as they were: those would
    then stand for current ones for as long as the Envoy answers garbage.
    """
    payload = parse_json(body, PATH_INVERTERS)
    if not isinstance(payload, list):
        raise EnvoyBadDataError(f"{PATH_INVERTERS} is not a JSON list")
    inverters: dict[str, EnvoyInverter] = {}
    bad: set[str] = set()
    skipped = 0
    first = -1
    for position, record in enumerate(payload):
        inverter = _parse_inverter(record)
        if isinstance(inverter, tuple):
            bad.update(inverter)
            skipped += 1
            first = position if first < 0 else first
            continue
        known = inverters.get(inverter.serial_number)
        if known is None or inverter.last_report_date >= known.last_report_date:
            inverters[inverter.serial_number] = inverter
    if not skipped:
        return inverters, None
    fields = tuple(field for field in (*_INVERTER_FIELDS, NOT_AN_OBJECT) if field in bad)
    if not inverters:
        raise EnvoyBadDataError(
            f"{PATH_INVERTERS}: every one of its {skipped} records is malformed "
            f"({', '.join(fields)})"
        )
    return inverters, SkippedRecords(
        skipped=skipped, listed=len(payload), fields=fields, first=first
    )


class _Reply(NamedTuple):
    status: int
    body: bytes
    challenge: str


# After a restore the nonce count starts from the current Unix time (see restore_auth), capped
# so that about 268 million requests still fit in the eight hex digits of ``nc``.
_NC_FLOOR_MAX: Final = 0xF0000000


class EnvoyClient:
    """Reads an Envoy on legacy firmware over its local HTTP API.

    The inverters endpoint is protected by HTTP Digest auth. The client tries the user
    ``envoy`` (password: the last six characters of the serial) and then ``installer``
    (password derived from the serial), and keeps using whichever the Envoy accepted. Once
    the Envoy's challenge is known, the ``Authorization`` header is sent with the first
    request, so each read is a single round trip.

    The accepted user and challenge can be kept across restarts: save :attr:`auth_state`
    and hand it to :meth:`restore_auth` of the next client, whose first request is then
    preemptive too. When the Envoy has since forgotten that nonce (it restarted, or the
    nonce expired) it answers 401 with a new challenge, which the same user answers once
    more: one extra round trip, no change of user. Only a 401 to an answer computed from
    the Envoy's current challenge means the user is refused; the client then tries the
    other user.
    """

    def __init__(
        self,
        host: str,
        serial: str,
        session: aiohttp.ClientSession,
        *,
        request_timeout: float = DEFAULT_TIMEOUT,
        keep_alive: bool = True,
    ) -> None:
        """Create a client; raise EnvoyHostError when ``host`` is not an address.

        With ``keep_alive`` off, every request asks the Envoy to close the connection after
        answering: Envoy-R resets kept-alive connections after a Digest challenge.
        """
        self._base = base_url(host)
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._headers = {} if keep_alive else {hdrs.CONNECTION: "close"}
        self._credentials: list[tuple[str, str]] = [
            ("envoy", serial[-6:]),
            ("installer", installer_password(serial)),
        ]
        # The Envoy's latest Digest challenge and the last nonce count sent with its nonce.
        self._challenge: DigestChallenge | None = None
        self._nc = 0
        # Whether the first user answered the challenge with success (or was restored).
        self._accepted = False
        # The paths that answered 401 with a challenge: only a 200 from one of those proves
        # that the Envoy accepted the user (the production endpoint is open on most firmware).
        self._protected: set[str] = set()
        # What the last inverter list had malformed (records skipped, fields), to log it once.
        self._skipped: tuple[int, tuple[str, ...]] | None = None

    @property
    def url(self) -> str:
        """Return the base URL of the Envoy."""
        return str(self._base)

    @property
    def user(self) -> str:
        """Return the user the Envoy accepts (the first one to try, until one is proven)."""
        return self._credentials[0][0]

    @property
    def auth_state(self) -> dict[str, str] | None:
        """Return the accepted user and the Envoy's challenge, for :meth:`restore_auth`.

        JSON-safe: the key ``user`` and the challenge's ``realm``, ``nonce``, ``algorithm``,
        and ``qop`` and ``opaque`` when the Envoy sent them. None until the Envoy accepted an
        answer to a challenge (or a state was restored), and again after it refused the user.
        The value changes only when the user or the challenge does, never per request.
        """
        if not self._accepted or self._challenge is None:
            return None
        return {"user": self.user, **self._challenge.as_dict()}

    def restore_auth(self, state: Mapping[str, object] | None) -> None:
        """Start from a saved :attr:`auth_state`: the next protected request is preemptive.

        Anything malformed, or a user this client does not know, is ignored silently (the
        client then starts with a challenge, as without a state).

        The nonce count continues from the current Unix time in seconds, not from 1: a
        server that checks ``nc`` against replays only accepts counts above those it already
        saw with the nonce, and the saved state does not know how many requests the previous
        process sent after it was saved. A process that got the nonce afresh counted from 1;
        one that started from a restored state counted from the time of its start; either
        stays below the new start as long as it sent less than one request per second on
        average, which any poller of an Envoy does by far.
        """
        if not isinstance(state, Mapping):
            return
        user = state.get("user")
        challenge = DigestChallenge.from_dict(state)
        known = [login for login, _ in self._credentials]
        if challenge is None or not isinstance(user, str) or user not in known:
            return
        index = known.index(user)
        self._credentials.insert(0, self._credentials.pop(index))
        self._challenge = challenge
        self._nc = min(int(time.time()), _NC_FLOOR_MAX)
        self._accepted = True

    async def info(self) -> EnvoyInfo:
        """Read ``/info.xml``; raise EnvoyUnsupportedFirmwareError on token firmware."""
        reply = await self._get(PATH_INFO, None)
        if reply.status != HTTPStatus.OK:
            raise EnvoyConnectionError(f"{PATH_INFO} answered HTTP {reply.status}")
        info = parse_info(reply.body)
        if info.uses_tokens:
            raise EnvoyUnsupportedFirmwareError(FIRMWARE_7_MESSAGE.format(firmware=info.firmware))
        return info

    async def production(self) -> EnvoyProduction:
        """Read the site totals."""
        return parse_production(await self._get_api(PATH_PRODUCTION))

    async def inverters(self) -> dict[str, EnvoyInverter]:
        """Read every microinverter's last report, without the malformed records.

        Malformed records are skipped (see :func:`parse_inverters`) with one warning that
        names the fields and counts the records; while the same fields of as many records
        stay malformed, later reads say so at debug level only, and one info line says when
        every record is whole again. No value of a record goes into the log.
        """
        inverters, skipped = parse_inverters(await self._get_api(PATH_INVERTERS))
        self._log_skipped(skipped)
        return inverters

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

    def _authorization(self, uri: str) -> str | None:
        """Return the Authorization header for a GET of uri, None while no challenge is known."""
        if self._challenge is None:
            return None
        login, password = self._credentials[0]
        self._nc = min(self._nc + 1, NC_MAX)
        return self._challenge.authorization(
            username=login, password=password, method="GET", uri=uri, nc=self._nc
        )

    def _use_challenge(self, challenge: DigestChallenge) -> None:
        """Answer this challenge from now on; a new nonce counts its requests from 1."""
        if self._challenge is None or challenge.nonce != self._challenge.nonce:
            self._nc = 0
        self._challenge = challenge

    async def _get_api(self, path: str) -> bytes:
        """GET an API path, authenticating with the first user the Envoy accepts.

        Each user gets at most two requests: the first (preemptive when a challenge is
        known), and one more when the Envoy answered it with a challenge the request did not
        answer yet (no Authorization sent, an older nonce, or ``stale=true``). A 401 to an
        answer to the Envoy's current challenge refuses the user.
        """
        uri = self._base.with_path(path).raw_path_qs
        attempts = 0
        refused = 0
        while True:
            answered = self._challenge
            reply = await self._get(path, self._authorization(uri))
            attempts += 1
            if reply.status == HTTPStatus.OK:
                if answered is not None and path in self._protected:
                    self._accepted = True
                return reply.body
            if reply.status == HTTPStatus.NOT_FOUND:
                raise EnvoyUnsupportedFirmwareError(
                    f"{path} does not exist on this Envoy (it needs firmware 3.9 or later)"
                )
            if reply.status != HTTPStatus.UNAUTHORIZED:
                raise EnvoyConnectionError(f"{path} answered HTTP {reply.status}")
            if (challenge := parse_challenge(reply.challenge)) is None:
                # No user can answer a challenge that is not there (seen on R3.9.36).
                if reply.challenge.lower().startswith("digest"):
                    raise EnvoyAuthenticationError(
                        f"{path} answered 401 with a Digest challenge this client cannot "
                        f"answer (www-authenticate: {reply.challenge!r})"
                    )
                raise EnvoyAuthenticationError(
                    f"{path} answered 401 without a Digest challenge "
                    f"(www-authenticate: {reply.challenge!r})"
                )
            self._protected.add(path)
            renewed = answered is None or challenge.stale or challenge.nonce != answered.nonce
            self._use_challenge(challenge)
            if renewed and attempts == 1:
                continue
            _LOGGER.debug("%s refused user %s", path, self.user)
            self._accepted = False
            # Move the refused user to the back; the next one answers the same challenge.
            self._credentials.append(self._credentials.pop(0))
            refused += 1
            if refused == len(self._credentials):
                users = " or ".join(login for login, _ in self._credentials)
                raise EnvoyAuthenticationError(f"the Envoy refused user {users} on {path}")
            attempts = 0

    async def _get(self, path: str, authorization: str | None) -> _Reply:
        """GET a path; return the status, the body for 200 (capped in size), the challenge."""
        url = self._base.with_path(path)
        headers = self._headers
        if authorization is not None:
            headers = {**headers, hdrs.AUTHORIZATION: authorization}
        try:
            async with self._session.get(
                url,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                challenge = response.headers.get(hdrs.WWW_AUTHENTICATE, "")
                if response.status != HTTPStatus.OK:
                    return _Reply(response.status, b"", challenge)
                return _Reply(response.status, await _read_capped(response, path), challenge)
        except TimeoutError as err:
            raise EnvoyTimeoutError(f"{path}: no answer within {self._timeout.total} s") from err
        except aiohttp.ClientConnectorDNSError as err:
            raise EnvoyHostError(f"{self._base.host} does not resolve: {err}") from err
        except aiohttp.ClientError as err:
            raise EnvoyConnectionError(f"{path}: {err or type(err).__name__}") from err


async def _read_capped(response: aiohttp.ClientResponse, path: str) -> bytes:
    """Read a body, refusing anything larger than MAX_BODY_BYTES."""
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise EnvoyBadDataError(
            f"{path} announced {response.content_length} bytes, more than {MAX_BODY_BYTES}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise EnvoyBadDataError(f"{path} sent more than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
