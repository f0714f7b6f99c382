"""What the Envoy's answers must look like, and how they become typed data.

Every parser here takes the bytes of an answer and returns typed data (models.py) or raises
EnvoyBadDataError: nothing else, whatever the bytes. A malformed inverter record is left out
of the list rather than sinking it. Values are checked against what an Envoy can mean: JSON's
safe integers, plausible report dates, serials made of letters and digits.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from .exceptions import EnvoyBadDataError
from .models import EnvoyInfo, EnvoyInverter, EnvoyProduction
from .numbers import MAX_SAFE_INTEGER, safe, whole

PATH_INFO: Final = "/info.xml"
# Some firmware (R3.11.30) answers 404 on /info.xml and serves the same XML here.
PATH_INFO_FALLBACK: Final = "/info"
PATH_PRODUCTION: Final = "/api/v1/production"
PATH_INVERTERS: Final = "/api/v1/production/inverters"

_PRODUCTION_FIELDS: Final = (
    "wattsNow",
    "wattHoursToday",
    "wattHoursSevenDays",
    "wattHoursLifetime",
)

# What a serial looks like. Every Envoy and microinverter serial seen (the captures, the issue
# threads behind envoy-facts) is 12 digits; letters are let through for other product lines.
# A serial goes into device and entity ids, repair-issue text and the password, so nothing
# but ASCII letters and digits, 1 to 20 of them, is accepted as one.
SERIAL_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,20}")

# A plausible lastReportDate, in epoch seconds: from 2000-01-01, before any microinverter that
# speaks this API (0 and negative values are no report), to 2100-01-01 (excluded). The upper
# bound refuses dates in milliseconds: those are above 9.4e11 for any date after 2000 (1.7e12
# today). A date in the near future is the Envoy's clock, not a malformed record: the panels
# deal with it, the client passes it on.
REPORT_DATE_MIN: Final = 946_684_800
REPORT_DATE_MAX: Final = 4_102_444_800

# The most /info.xml (or /info) may be: a real one is under 2 KiB (1,132 to 1,809 bytes in the
# captures); 16 KiB leaves room for firmware that lists more packages while bounding what the
# parser builds, about 100 bytes per byte of unclosed tags (1 MiB of them took 100 MB).
MAX_INFO_BYTES: Final = 16 * 1024
# What no Envoy's /info.xml declares, refused before parsing: xml.etree cannot turn entity
# expansion off, and expat expands entities up to its amplification limit only (843 bytes of
# a "billion laughs" took 45 MB).
_XML_DECLARATIONS: Final = ("<!DOCTYPE", "<!ENTITY")

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
    number = whole(value)
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
    """Parse ``/info.xml``.

    Refused before parsing: a body larger than MAX_INFO_BYTES, one that is not UTF-8 (as every
    Envoy writes it) or holds a NUL, one that declares a document type or an entity. The
    parser reads the text checked, as UTF-8, whatever encoding its XML declaration names.
    """
    if len(body) > MAX_INFO_BYTES:
        raise EnvoyBadDataError(f"{PATH_INFO} is {len(body)} bytes, more than {MAX_INFO_BYTES}")
    try:
        text = body.decode()
    except UnicodeDecodeError as err:
        raise EnvoyBadDataError(f"{PATH_INFO} is not UTF-8 text") from err
    if "\0" in text:  # no XML holds one, and expat would take text with NULs for UTF-16
        raise EnvoyBadDataError(f"{PATH_INFO} holds a NUL character")
    if any(declaration in text for declaration in _XML_DECLARATIONS):
        raise EnvoyBadDataError(f"{PATH_INFO} declares a DOCTYPE or an entity")
    try:
        root = ET.fromstring(text)  # noqa: S314 - checked above: size, no DOCTYPE, no entity
    except ET.ParseError as err:
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
    imeter = root.findtext("device/imeter")
    return EnvoyInfo(
        serial=serial,
        firmware=firmware,
        part_number=_info_text(root, "device/pn"),
        web_tokens=web_tokens,
        imeter=None if imeter is None else imeter.strip().lower() == "true",
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
            and (dev_type is None or (type(dev_type) is int and safe(dev_type)))
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
    date = whole(record.get("lastReportDate"))
    if date is not None and not REPORT_DATE_MIN <= date < REPORT_DATE_MAX:
        date = None
    watts = whole(record.get("lastReportWatts"))
    peak = whole(record.get("maxReportWatts"))
    raw_type = record.get("devType")
    dev_type = raw_type if type(raw_type) is int and safe(raw_type) else None
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


@dataclass(frozen=True, slots=True, kw_only=True)
class InverterList:
    """What an inverter list holds: the inverters, and what was left out of them."""

    inverters: dict[str, EnvoyInverter]
    """The inverters' last reports, by serial number."""
    skipped: SkippedRecords | None
    """The malformed records (None: none)."""
    lists_envoy: bool
    """Whether a well-formed record carried the Envoy's own serial (left out)."""


def parse_inverters(body: bytes, envoy_serial: str) -> InverterList:
    """Parse ``/api/v1/production/inverters`` into records by serial number.

    An inverter listed twice keeps its most recent report. A malformed record (a field
    missing or of the wrong type, a number beyond JSON's safe integers, a ``lastReportDate``
    outside ``REPORT_DATE_MIN`` to ``REPORT_DATE_MAX``, a serial that does not match
    ``SERIAL_PATTERN``, a record that is not an object) is skipped and described in
    ``skipped``; the other records are kept. A record carrying ``envoy_serial``, the Envoy's
    own serial, is no microinverter (whoever keys devices by serial would give the Envoy a
    second self): it is left out, as if it were not listed, and ``lists_envoy`` says so.

    A list whose every record is malformed (the Envoy's own aside) raises
    EnvoyBadDataError: it is no list of inverters at all. Returning it empty would pass for
    the empty list some firmware answers at night, for which the integration keeps the last
    records as they were: those would then stand for current ones for as long as the Envoy
    answers garbage.
    """
    payload = parse_json(body, PATH_INVERTERS)
    if not isinstance(payload, list):
        raise EnvoyBadDataError(f"{PATH_INVERTERS} is not a JSON list")
    inverters: dict[str, EnvoyInverter] = {}
    bad: set[str] = set()
    skipped = 0
    first = -1
    lists_envoy = False
    for position, record in enumerate(payload):
        inverter = _parse_inverter(record)
        if isinstance(inverter, tuple):
            bad.update(inverter)
            skipped += 1
            first = position if first < 0 else first
            continue
        if inverter.serial_number == envoy_serial:
            lists_envoy = True
            continue
        known = inverters.get(inverter.serial_number)
        if known is None or inverter.last_report_date >= known.last_report_date:
            inverters[inverter.serial_number] = inverter
    if not skipped:
        return InverterList(inverters=inverters, skipped=None, lists_envoy=lists_envoy)
    fields = tuple(field for field in (*_INVERTER_FIELDS, NOT_AN_OBJECT) if field in bad)
    if not inverters:
        raise EnvoyBadDataError(
            f"{PATH_INVERTERS}: every one of its {skipped} records is malformed "
            f"({', '.join(fields)})"
        )
    return InverterList(
        inverters=inverters,
        skipped=SkippedRecords(skipped=skipped, listed=len(payload), fields=fields, first=first),
        lists_envoy=lists_envoy,
    )
