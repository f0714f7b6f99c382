"""The values of a metered Envoy's answers: what a time, a word or a reading may be.

Shared by the parsers of ``/production.json`` and the ``/ivp/meters`` endpoints (numbers are
numbers.py's). Each helper returns the value typed, or None when the value is absent or not
what an Envoy means; the parsers decide whether None leaves a record out (a required value)
or only that value (an optional one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from .exceptions import EnvoyBadDataError
from .numbers import measure, whole
from .parsing import REPORT_DATE_MAX, REPORT_DATE_MIN, parse_json

# What a word of these answers looks like (a state, a phase mode, a status flag): short,
# ASCII letters, digits, dashes and underscores.
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")

# Plausible ranges of the electrical values: beyond them a value is a glitch, not a reading.
VOLTAGE_MAX: Final = 1000.0
CURRENT_MAX: Final = 10_000.0
FREQUENCY_MAX: Final = 100.0


def word(value: object) -> str | None:
    """Return a short ASCII word (``enabled``, ``check-wiring``), or None."""
    if isinstance(value, str) and _WORD.fullmatch(value) is not None:
        return value
    return None


def moment(value: object) -> datetime | None:
    """Return epoch seconds as a UTC time when plausible (0 is never), or None."""
    seconds = whole(value)
    if seconds is None or not REPORT_DATE_MIN <= seconds < REPORT_DATE_MAX:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def electrical(
    record: dict[str, object], voltage: str, current: str, factor: str
) -> tuple[float | None, float | None, float | None]:
    """Return the voltage, current and power factor of a record (each None when unusable)."""
    return (
        measure(record.get(voltage), 0.0, VOLTAGE_MAX),
        measure(record.get(current), -CURRENT_MAX, CURRENT_MAX),
        measure(record.get(factor), -1.0, 1.0),
    )


def optional_json(body: bytes, path: str) -> object | None:
    """Decode the JSON of an endpoint some firmware lacks: None for an HTML page.

    Firmware without the endpoint answers it with an HTML "Page Not Found" page, sometimes
    with status 200 and content type ``application/json`` (D3.18.10): that is no answer.
    Garbage raises EnvoyBadDataError as for every endpoint.
    """
    if body.strip().startswith(b"<"):
        return None
    return parse_json(body, path)


def records_of(payload: object, path: str) -> list[object]:
    """Return a JSON list, or raise EnvoyBadDataError."""
    if not isinstance(payload, list):
        raise EnvoyBadDataError(f"{path} is not a JSON list")
    return payload


def every_record_bad(path: str, skipped: int) -> EnvoyBadDataError:
    """Return the error for a list whose every record is malformed (it is no list at all)."""
    return EnvoyBadDataError(f"{path}: every one of its {skipped} records is malformed")
